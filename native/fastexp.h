// e^x in float without libm, branch-free so the loops that call it vectorise (libm's expf is a
// scalar call in every loop it appears in, which made softmax-like kernels 5-10x slower).
// Cody-Waite range reduction x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial for e^r, and
// 2^n built in the exponent bits; within 2 ulp on [-87, 88]. Arguments below -87 (and -inf, a
// masked score) give exactly 0. NaN also gives 0: callers that can see NaN test for it first.
#pragma once

#include <cstdint>
#include <cstring>
#include <cmath>

// Kernels that should use AVX-512 or AVX2 where the CPU has them, whatever the build flags:
// GCC compiles one copy per target and picks one at load time. (Lambdas are not cloned: put the
// loop in a named function.)
#ifndef MW_CLONES
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MW_CLONES
#endif
#endif

namespace mw {

inline float fast_exp(float x) {
  const bool tiny = !(x > -87.0f);
  float xc = tiny ? -87.0f : x;
  xc = xc < 88.0f ? xc : 88.0f;
  const float n = std::nearbyint(xc * 1.44269504088896341f);
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float two_n;
  std::memcpy(&two_n, &bits, sizeof two_n);
  return tiny ? 0.0f : p * two_n;
}

}  // namespace mw
