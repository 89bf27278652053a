// What the int8 product's kernels share (native/gemm_int8.cc drives them; the AVX2 ones are in
// native/gemm_int8_avx2.cc): the arguments of one product after its rows of A are quantized, and
// the rescale every path ends with.
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>

// The rescale is a multiply then an add, each rounded, as the reference computes it: no fused
// multiply-add (GCC would otherwise contract them where the target has FMA).
#pragma GCC optimize("fp-contract=off")

namespace mw {

struct Int8Args {
  int64_t m, n, k;
  const uint8_t* qa;  // [m, k], u
  const float* sa;    // [m]
  const int32_t* za;  // [m], the zero points
  const int8_t* w;    // [n, k]
  const float* sw;    // [n]
  const int32_t* sums;  // [n]
  float* c;           // [m, n]
  // The epilogue: whether C's old values are added to (beta 1), a bias [n] or null, a ReLU.
  bool accumulate;
  const float* bias;
  bool relu;
};

// c[i, j] = (accumulate ? c : +0) + float(dot) * (sa * sw), then + bias[j], then ReLU: each
// operation rounded to float32, in the reference's order (the same as zeroing C, the product,
// an add of the bias and a ReLU pass; relu(NaN) = 0 as the unary ReLU gives).
inline void rescale_store(const Int8Args& g, float* c, int64_t j, int32_t dot, float sa,
                          float sw) {
  const float t = sa * sw;
  const float y = static_cast<float>(dot) * t;
  float v = (g.accumulate ? *c : 0.0f) + y;
  if (g.bias != nullptr) v += g.bias[j];
  if (g.relu) v = v > 0.0f ? v : 0.0f;
  *c = v;
}

// ---- a row of A to bytes (quantizeActivationRow), the steps every kernel's quantize shares ----

// Folds x into a row's range [lo, hi] (which starts as [0, 0]) and whether the row is finite.
inline void see_value(float x, float& lo, float& hi, bool& finite) {
  finite = finite && std::fabs(x) <= FLT_MAX;
  lo = x < lo ? x : lo;
  hi = x > hi ? x : hi;
}

// The row's step sa = hi / 255 - lo / 255 (each end divided first: hi - lo could overflow; NaN
// for a row with a NaN or an infinity) and zero point z = -lo / sa rounded, in [0, 255]. False
// when the row's bytes are all 0 (a step of 0, or NaN): then sa is that step and z = 0.
inline bool row_step(float lo, float hi, bool finite, float& sa, int32_t& za) {
  sa = finite ? hi / 255.0f - lo / 255.0f : std::numeric_limits<float>::quiet_NaN();
  za = 0;
  if (!(sa > 0.0f)) return false;
  za = static_cast<int32_t>(std::min(255L, std::max(0L, std::lrint(-lo / sa))));
  return true;
}

// q[p] = a[p] / s + z rounded to nearest even (the default rounding mode), kept in [0, 255],
// for p in [from, k).
inline void quantize_values(const float* a, int64_t from, int64_t k, float s, int32_t z,
                            uint8_t* q) {
  for (int64_t p = from; p < k; p++) {
    const long r = std::lrint(a[p] / s) + z;
    q[p] = static_cast<uint8_t>(std::min(255L, std::max(0L, r)));
  }
}

// ---- AVX2 (native/gemm_int8_avx2.cc) ----

// quantize_rows (gemm_int8.cc) in 8 lanes: the same float32 divisions, rounding and clamp.
void quantize_rows_avx2(const float* A, int64_t m, int64_t k, uint8_t* qa, float* sa,
                        int32_t* za);
// Columns [j0, j1) of C, one dot product per element (bytes widened to int16, VPMADDWD).
void columns_avx2(const Int8Args& g, int64_t j0, int64_t j1);
// Columns [j0, j1) (j0 a multiple of 8) from the weights in VPMADDWD's pair layout
// (packInt8Pairs): a16 holds the rows of qa widened to int16.
void columns_pairs_avx2(const Int8Args& g, const int16_t* pw, const int16_t* a16, int64_t j0,
                        int64_t j1);
// qa [m, k] bytes widened to int16 (the pair kernel broadcasts two of them as one int32).
void widen_rows_avx2(const uint8_t* qa, int64_t count, int16_t* a16);

}  // namespace mw
