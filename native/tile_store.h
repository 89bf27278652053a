// The start and the end of the AVX-512 micro-kernels (float32 and bfloat16 GEMM), whose tile of
// M rows by 32 columns lives in 2 x M accumulators: zeroed, with the rows of C prefetched while
// the k loop runs; then written to C as alpha * acc + beta * C (C not read when beta == 0),
// masked so that a partial tile writes only its first n columns.
#pragma once

#include "simd.h"

#include <cstdint>

namespace mw {

template <int M>
MW_TARGET("avx512f") __attribute__((always_inline)) inline void start_tile32(
    __m512* c0, __m512* c1, const float* c, int64_t ldc) {
#pragma GCC unroll 16
  for (int i = 0; i < M; i++) {
    c0[i] = c1[i] = _mm512_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
  }
}

template <int M>
MW_TARGET("avx512f,fma") __attribute__((always_inline)) inline void store_tile32(
    const __m512* c0, const __m512* c1, float* c, int64_t ldc, int n, float alpha, float beta) {
  const __m512 va = _mm512_set1_ps(alpha);
  const __m512 vb = _mm512_set1_ps(beta);
  const __mmask16 k0 = n >= 16 ? 0xFFFF : n <= 0 ? 0 : static_cast<__mmask16>((1u << n) - 1);
  const __mmask16 k1 = n >= 32 ? 0xFFFF : n <= 16 ? 0 : static_cast<__mmask16>((1u << (n - 16)) - 1);
  // Every row of C is read before any is written: with ldc a multiple of 1024 floats, a load of
  // row i + 1 would wait for the store to row i (4K aliasing; gemm_kernels_avx2.cc, where it
  // was measured).
  __m512 r0[M], r1[M];
#pragma GCC unroll 16
  for (int i = 0; i < M; i++) {
    const float* row = c + i * ldc;
    r0[i] = _mm512_mul_ps(va, c0[i]);
    r1[i] = _mm512_mul_ps(va, c1[i]);
    if (beta != 0.0f) {
      r0[i] = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k0, row), r0[i]);
      r1[i] = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k1, row + 16), r1[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < M; i++) {
    float* row = c + i * ldc;
    _mm512_mask_storeu_ps(row, k0, r0[i]);
    _mm512_mask_storeu_ps(row + 16, k1, r1[i]);
  }
}

}  // namespace mw
