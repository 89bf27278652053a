// AVX-512 micro-kernel: MR x 32, i.e. 2 zmm of B per k step and one broadcast of A per row,
// 2 * MR zmm accumulators (12 rows: 24 accumulators, enough to hide a 4-cycle FMA latency on
// two FMA pipes). Partial tiles use masked loads and stores, so edges cost no scratch copies.
#include "simd.h"

#include "gemm.h"
#include "tile_store.h"
#include "transpose16.h"

#define MW_AVX512 MW_TARGET("avx512f,avx512vl,avx512dq,fma")

namespace mw {
namespace {

#ifndef MW_AVX512_MR
#define MW_AVX512_MR 12
#endif
constexpr int MR = MW_AVX512_MR;
constexpr int NR = 32;

template <int M>
MW_AVX512 void kern(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                    int64_t ldc, int n, float alpha, float beta, int64_t bs) {
  __m512 c0[M], c1[M];
  start_tile32<M>(c0, c1, c, ldc);
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; p++) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      const __m512 av = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
    a += MR;
    b += bs;
  }
  store_tile32<M>(c0, c1, c, ldc, n, alpha, beta);
}

template <int M>
void dispatch(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
              float alpha, float beta, int64_t bs) {
  if constexpr (M > 1) {
    if (m < M) return dispatch<M - 1>(kc, a, b, c, ldc, m, n, alpha, beta, bs);
  }
  kern<M>(kc, a, b, c, ldc, n, alpha, beta, bs);
}

void run(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
         float alpha, float beta, int64_t bs) {
  dispatch<MR>(kc, a, b, c, ldc, m, n, alpha, beta, bs);
}

}  // namespace

MW_AVX512 void pack_transposed_avx512(const float* src, int64_t ld, int rows, int64_t kc,
                                      float* dst, int64_t dstride, int lanes) {
  const __mmask16 store = lanes >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << lanes) - 1);
  for (int64_t p = 0; p < kc; p += 16) {
    const int w = kc - p >= 16 ? 16 : static_cast<int>(kc - p);
    const __mmask16 lm = w == 16 ? 0xFFFF : static_cast<__mmask16>((1u << w) - 1);
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
      r[i] = i < rows ? _mm512_maskz_loadu_ps(lm, src + i * ld + p) : _mm512_setzero_ps();
    transpose16(r);
    for (int q = 0; q < w; q++) _mm512_mask_storeu_ps(dst + (p + q) * dstride, store, r[q]);
  }
}

const MicroKernel& kernel_avx512() {
  // No run_epilogue: gemm_tile applies the epilogue as a pass over each finished block.
  static const MicroKernel k{"avx512", MR, NR, 256, 144, 1024, run, nullptr};
  return k;
}

}  // namespace mw
