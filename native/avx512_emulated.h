// AVX-512 intrinsics over AVX2, for the MW_EMULATE_AVX512 test build only (native/simd.h).
// SIMDe (Debian's libsimde-dev) provides most of them under their Intel names; this file adds
// those it lacks, and replaces two whose results it computes differently from the hardware:
//
// - the bfloat16 ones follow the Intel SDM's pseudocode: VCVTNE(2)PS2BF16 rounds to nearest
//   even, flushes denormal inputs to a signed zero and quiets NaNs; VDPBF16PS adds the odd
//   pair's product, then the even pair's, each rounded (SIMDe adds the two products first);
// - the horizontal reductions (_mm512_reduce_*) are GCC's own sequences (avx512fintrin.h:
//   halves, then quarters, then pairs), so the sums are those an AVX-512 build computes.
//
// Masked loads and stores touch only the lanes their mask selects, as the hardware does.
// Nothing here is fast; it is the semantics that the tests need.
#pragma once

#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>

#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>

namespace mw_emu {

struct F16 {
  float v[16];
};
struct I16 {
  int32_t v[16];
};
struct D8 {
  double v[8];
};

inline F16 lanes(__m512 x) {
  F16 r;
  std::memcpy(r.v, &x, 64);
  return r;
}
inline I16 lanes(__m512i x) {
  I16 r;
  std::memcpy(r.v, &x, 64);
  return r;
}
inline D8 lanes(__m512d x) {
  D8 r;
  std::memcpy(r.v, &x, 64);
  return r;
}
inline __m512 ps(const F16& r) { return _mm512_loadu_ps(r.v); }
inline __m512i si(const I16& r) { return _mm512_loadu_si512(r.v); }
inline __m512d pd(const D8& r) { return _mm512_loadu_pd(r.v); }
inline bool on(uint64_t k, int i) { return (k >> i) & 1; }

// --- masked loads and stores: only the selected lanes are read or written ---

// dst[i] = src[i] for the lanes i < count that mask k selects.
template <class T>
inline void copy_lanes(uint64_t k, const void* src, void* dst, int count) {
  const T* s = static_cast<const T*>(src);
  T* d = static_cast<T*>(dst);
  for (int i = 0; i < count; i++)
    if (on(k, i)) d[i] = s[i];
}

inline __m512 mask_loadu_ps(__m512 src, __mmask16 k, const void* p) {
  F16 r = lanes(src);
  copy_lanes<float>(k, p, r.v, 16);
  return ps(r);
}
inline __m512 maskz_loadu_ps(__mmask16 k, const void* p) {
  return mask_loadu_ps(_mm512_setzero_ps(), k, p);
}
inline __m512i maskz_loadu_epi32(__mmask16 k, const void* p) {
  I16 r{};
  copy_lanes<int32_t>(k, p, r.v, 16);
  return si(r);
}
inline __m512i maskz_loadu_epi16(__mmask32 k, const void* p) {
  int16_t r[32] = {};
  copy_lanes<int16_t>(k, p, r, 32);
  return _mm512_loadu_si512(r);
}
inline __m512i maskz_loadu_epi8(__mmask64 k, const void* p) {
  int8_t r[64] = {};
  copy_lanes<int8_t>(k, p, r, 64);
  return _mm512_loadu_si512(r);
}
inline void mask_storeu_ps(void* p, __mmask16 k, __m512 a) {
  const F16 r = lanes(a);
  copy_lanes<float>(k, r.v, p, 16);
}
inline void mask_storeu_epi32(void* p, __mmask16 k, __m512i a) {
  const I16 r = lanes(a);
  copy_lanes<int32_t>(k, r.v, p, 16);
}
// VPMOVDB: the low byte of each lane (truncation).
inline void mask_cvtepi32_storeu_epi8(void* p, __mmask16 k, __m512i a) {
  const I16 r = lanes(a);
  int8_t* d = static_cast<int8_t*>(p);
  for (int i = 0; i < 16; i++)
    if (on(k, i)) d[i] = static_cast<int8_t>(r.v[i]);
}

// AVX-512VL's 256-bit forms.
inline __m256 maskz_loadu_ps256(__mmask8 k, const void* p) {
  float r[8] = {};
  copy_lanes<float>(k, p, r, 8);
  return _mm256_loadu_ps(r);
}
inline void mask_storeu_ps256(void* p, __mmask8 k, __m256 a) {
  float r[8];
  std::memcpy(r, &a, 32);
  copy_lanes<float>(k, r, p, 8);
}
inline void mask_storeu_epi16_256(void* p, __mmask16 k, __m256i a) {
  int16_t r[16];
  std::memcpy(r, &a, 32);
  copy_lanes<int16_t>(k, r, p, 16);
}

// --- conversions (round to nearest even, as MXCSR's default) ---

inline __m128i cvtepi32_epi8(__m512i a) {
  const I16 r = lanes(a);
  int8_t d[16];
  for (int i = 0; i < 16; i++) d[i] = static_cast<int8_t>(r.v[i]);
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(d));
}
inline __m512 cvtepi32_ps(__m512i a) {
  const I16 r = lanes(a);
  F16 f;
  for (int i = 0; i < 16; i++) f.v[i] = static_cast<float>(r.v[i]);
  return ps(f);
}
// VCVTPS2DQ: NaN and values out of int32's range give the "integer indefinite" 0x80000000.
inline __m512i cvtps_epi32(__m512 a) {
  const F16 f = lanes(a);
  I16 r;
  for (int i = 0; i < 16; i++) {
    const float x = std::nearbyint(f.v[i]);
    r.v[i] = (x >= -2147483648.0f && x < 2147483648.0f) ? static_cast<int32_t>(x) : INT32_MIN;
  }
  return si(r);
}
inline __m512i cvtepu16_epi32(__m256i a) {
  uint16_t s[16];
  std::memcpy(s, &a, 32);
  I16 r;
  for (int i = 0; i < 16; i++) r.v[i] = s[i];
  return si(r);
}
inline __m512d cvtps_pd(__m256 a) {
  float s[8];
  std::memcpy(s, &a, 32);
  D8 r;
  for (int i = 0; i < 8; i++) r.v[i] = s[i];
  return pd(r);
}
inline __m256 cvtpd_ps(__m512d a) {
  const D8 s = lanes(a);
  float r[8];
  for (int i = 0; i < 8; i++) r[i] = static_cast<float>(s.v[i]);
  return _mm256_loadu_ps(r);
}

// --- comparisons under a mask ---

inline __mmask16 mask_cmp_ps_mask(__mmask16 k, __m512 a, __m512 b, int pred) {
  return static_cast<__mmask16>(k & _mm512_cmp_ps_mask(a, b, pred));
}
inline __mmask8 mask_cmp_pd_mask(__mmask8 k, __m512d a, __m512d b, int pred) {
  return static_cast<__mmask8>(k & _mm512_cmp_pd_mask(a, b, pred));
}

// --- bfloat16 (Intel SDM, convert_fp32_to_bfloat16 and VDPBF16PS) ---

inline uint16_t to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  const uint32_t exponent = u & 0x7f800000u;
  if (exponent == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);  // zero or denormal
  if (exponent == 0x7f800000u) {
    if (u & 0x007fffffu) return static_cast<uint16_t>((u >> 16) | 0x0040u);  // NaN, quieted
    return static_cast<uint16_t>(u >> 16);                                // infinity
  }
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
inline float from_bf16(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  if ((u & 0x7f800000u) == 0) u &= 0x80000000u;  // denormal inputs count as zero
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
inline __m512bh cvtne2ps_pbh(__m512 a, __m512 b) {
  const F16 fa = lanes(a), fb = lanes(b);
  uint16_t r[32];
  for (int i = 0; i < 16; i++) {
    r[i] = to_bf16(fb.v[i]);
    r[16 + i] = to_bf16(fa.v[i]);
  }
  __m512bh out;
  std::memcpy(&out, r, 64);
  return out;
}
inline __m256bh cvtneps_pbh(__m512 a) {
  const F16 f = lanes(a);
  uint16_t r[16];
  for (int i = 0; i < 16; i++) r[i] = to_bf16(f.v[i]);
  __m256bh out;
  std::memcpy(&out, r, 32);
  return out;
}
inline float flush(float x) {
  return std::fpclassify(x) == FP_SUBNORMAL ? std::copysign(0.0f, x) : x;
}
inline __m512 dpbf16_ps(__m512 src, __m512bh a, __m512bh b) {
  F16 acc = lanes(src);
  uint16_t x[32], y[32];
  std::memcpy(x, &a, 64);
  std::memcpy(y, &b, 64);
  for (int i = 0; i < 16; i++) {
    float s = flush(acc.v[i]);
    s = flush(s + from_bf16(x[2 * i + 1]) * from_bf16(y[2 * i + 1]));
    s = flush(s + from_bf16(x[2 * i]) * from_bf16(y[2 * i]));
    acc.v[i] = s;
  }
  return ps(acc);
}

// --- GCC's reductions: upper half op lower half, then the same on quarters, then pairs ---

template <class T, int N, class Op>
T reduce_like_gcc(const T (&v)[N], Op op) {
  T h[N / 2];
  for (int i = 0; i < N / 2; i++) h[i] = op(v[N / 2 + i], v[i]);
  if constexpr (N == 16) {
    T q[4], p[2];
    for (int i = 0; i < 4; i++) q[i] = op(h[4 + i], h[i]);
    for (int i = 0; i < 2; i++) p[i] = op(q[i], q[i + 2]);
    return op(p[0], p[1]);
  } else {
    T q[2];
    for (int i = 0; i < 2; i++) q[i] = op(h[2 + i], h[i]);
    return op(q[0], q[1]);
  }
}
// MAXPS / MINPS: the second operand when either is NaN or both are zeros.
inline float max_ps1(float a, float b) { return a > b ? a : b; }
inline float min_ps1(float a, float b) { return a < b ? a : b; }

inline float reduce_add_ps(__m512 a) {
  return reduce_like_gcc(lanes(a).v, [](float x, float y) { return x + y; });
}
inline float reduce_max_ps(__m512 a) { return reduce_like_gcc(lanes(a).v, max_ps1); }
inline float reduce_min_ps(__m512 a) { return reduce_like_gcc(lanes(a).v, min_ps1); }
inline int reduce_add_epi32(__m512i a) {
  // In uint32, wrapping as the vector adds do.
  const I16 r = lanes(a);
  uint32_t u[16];
  std::memcpy(u, r.v, 64);
  return static_cast<int>(reduce_like_gcc(u, [](uint32_t x, uint32_t y) { return x + y; }));
}
inline double reduce_add_pd(__m512d a) {
  return reduce_like_gcc(lanes(a).v, [](double x, double y) { return x + y; });
}

}  // namespace mw_emu

#undef _mm512_mask_loadu_ps
#define _mm512_mask_loadu_ps(src, k, p) mw_emu::mask_loadu_ps(src, k, p)
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps(k, p) mw_emu::maskz_loadu_ps(k, p)
#undef _mm512_maskz_loadu_epi32
#define _mm512_maskz_loadu_epi32(k, p) mw_emu::maskz_loadu_epi32(k, p)
#undef _mm512_maskz_loadu_epi16
#define _mm512_maskz_loadu_epi16(k, p) mw_emu::maskz_loadu_epi16(k, p)
#undef _mm512_maskz_loadu_epi8
#define _mm512_maskz_loadu_epi8(k, p) mw_emu::maskz_loadu_epi8(k, p)
#undef _mm512_mask_storeu_ps
#define _mm512_mask_storeu_ps(p, k, a) mw_emu::mask_storeu_ps(p, k, a)
#undef _mm512_mask_storeu_epi32
#define _mm512_mask_storeu_epi32(p, k, a) mw_emu::mask_storeu_epi32(p, k, a)
#undef _mm512_mask_cvtepi32_storeu_epi8
#define _mm512_mask_cvtepi32_storeu_epi8(p, k, a) mw_emu::mask_cvtepi32_storeu_epi8(p, k, a)
#undef _mm256_maskz_loadu_ps
#define _mm256_maskz_loadu_ps(k, p) mw_emu::maskz_loadu_ps256(k, p)
#undef _mm256_mask_storeu_ps
#define _mm256_mask_storeu_ps(p, k, a) mw_emu::mask_storeu_ps256(p, k, a)
#undef _mm256_mask_storeu_epi16
#define _mm256_mask_storeu_epi16(p, k, a) mw_emu::mask_storeu_epi16_256(p, k, a)
#undef _mm512_cvtepi32_epi8
#define _mm512_cvtepi32_epi8(a) mw_emu::cvtepi32_epi8(a)
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps(a) mw_emu::cvtepi32_ps(a)
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32(a) mw_emu::cvtps_epi32(a)
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32(a) mw_emu::cvtepu16_epi32(a)
#undef _mm512_cvtps_pd
#define _mm512_cvtps_pd(a) mw_emu::cvtps_pd(a)
#undef _mm512_cvtpd_ps
#define _mm512_cvtpd_ps(a) mw_emu::cvtpd_ps(a)
#undef _mm512_mask_cmp_ps_mask
#define _mm512_mask_cmp_ps_mask(k, a, b, pred) mw_emu::mask_cmp_ps_mask(k, a, b, pred)
#undef _mm512_mask_cmp_pd_mask
#define _mm512_mask_cmp_pd_mask(k, a, b, pred) mw_emu::mask_cmp_pd_mask(k, a, b, pred)
#undef _mm512_cvtne2ps_pbh
#define _mm512_cvtne2ps_pbh(a, b) mw_emu::cvtne2ps_pbh(a, b)
#undef _mm512_cvtneps_pbh
#define _mm512_cvtneps_pbh(a) mw_emu::cvtneps_pbh(a)
#undef _mm512_dpbf16_ps
#define _mm512_dpbf16_ps(src, a, b) mw_emu::dpbf16_ps(src, a, b)
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps(a) mw_emu::reduce_add_ps(a)
#undef _mm512_reduce_max_ps
#define _mm512_reduce_max_ps(a) mw_emu::reduce_max_ps(a)
#undef _mm512_reduce_min_ps
#define _mm512_reduce_min_ps(a) mw_emu::reduce_min_ps(a)
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32(a) mw_emu::reduce_add_epi32(a)
#undef _mm512_reduce_add_pd
#define _mm512_reduce_add_pd(a) mw_emu::reduce_add_pd(a)
#undef _mm512_shuffle_f32x4
#define _mm512_shuffle_f32x4(a, b, imm) simde_mm512_shuffle_f32x4(a, b, imm)
