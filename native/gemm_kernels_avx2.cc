// AVX2+FMA micro-kernel: 6 x 16, i.e. 2 ymm of B per k step and one broadcast of A per row,
// 12 ymm accumulators (16 registers in all: 12 + 2 of B + 1 broadcast). With 2 FMA pipes at a
// 4-5 cycle latency, 12 independent chains keep both pipes busy.
//
// Every access to the accumulators is at an index the compiler knows (unrolled loops, masked
// partial stores): an accumulator read at a run-time index would have to live in memory, and
// GCC then writes all 12 to the stack on every k step.
#include <immintrin.h>

#include "avx2_lanes.h"
#include "gemm.h"

#define MW_AVX2 __attribute__((target("avx2,fma")))

namespace mw {
namespace {

constexpr int MR = 6;
constexpr int NR = 16;

// The epilogue on one row of a tile (16 columns in r0, r1): C + bias (the pass's row[j] +
// bias[j]; b0, b1 hold the bias, read where bias is not null), then max(v, 0), which gives 0 for
// v <= 0 and for NaN as the pass's v > 0 ? v : 0 does.
MW_AVX2 inline void finish(__m256& r0, __m256& r1, const float* bias, __m256 b0, __m256 b1,
                           bool relu) {
  if (bias) {
    r0 = _mm256_add_ps(r0, b0);
    r1 = _mm256_add_ps(r1, b1);
  }
  if (relu) {
    r0 = _mm256_max_ps(r0, _mm256_setzero_ps());
    r1 = _mm256_max_ps(r1, _mm256_setzero_ps());
  }
}

// bias (or null) and relu: the epilogue applied as the tile is stored (MicroKernel::run_epilogue).
template <int M>
MW_AVX2 void kern(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
                  int64_t ldc, int n, float alpha, float beta, int64_t bs,
                  const float* bias = nullptr, bool relu = false) {
  // alpha and beta wait in memory until the tile is stored: left to the register allocator,
  // GCC kept alpha in a ymm register through the k loop and moved one accumulator to the stack,
  // a store and a load on every k step (the asm says only that their memory may have changed,
  // so they are read again after the loop).
  asm("" : "+m"(alpha), "+m"(beta));
  __m256 c0[M], c1[M];
#pragma GCC unroll 8
  for (int i = 0; i < M; i++) {
    c0[i] = c1[i] = _mm256_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
  }
#pragma GCC unroll 4
  for (int64_t p = 0; p < kc; p++) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
    for (int i = 0; i < M; i++) {
      const __m256 av = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
    a += MR;
    b += bs;
  }
  const __m256 va = _mm256_set1_ps(alpha);
  const __m256 vb = _mm256_set1_ps(beta);
  const __m256 zero = _mm256_setzero_ps();
  if (n == NR) {
    // Every row of C is read before any is written: where ldc is a multiple of 1024 floats
    // (4 KiB), a load of row i + 1 matches the store to row i in the 12 address bits that the
    // load-store unit compares first, and waits for it (4K aliasing; ldc 512 has rows i and
    // i + 2 so). On an AMD EPYC Zen 3 this and alpha kept out of the registers (above) made a
    // k block of tiles at ldc 1024, beta 1, 2-4% faster, and the GEMM at 512^3 3-4%, at 1024^3
    // and 1024 x 256 x 1024 1% (two threads, alternated in one process).
#pragma GCC unroll 8
    for (int i = 0; i < M; i++) {
      float* row = c + i * ldc;
      c0[i] = _mm256_mul_ps(va, c0[i]);
      c1[i] = _mm256_mul_ps(va, c1[i]);
      if (beta != 0.0f) {
        c0[i] = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row), c0[i]);
        c1[i] = _mm256_fmadd_ps(vb, _mm256_loadu_ps(row + 8), c1[i]);
      }
    }
    const __m256 b0 = bias ? _mm256_loadu_ps(bias) : zero;
    const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : zero;
#pragma GCC unroll 8
    for (int i = 0; i < M; i++) {
      float* row = c + i * ldc;
      finish(c0[i], c1[i], bias, b0, b1, relu);
      _mm256_storeu_ps(row, c0[i]);
      _mm256_storeu_ps(row + 8, c1[i]);
    }
    return;
  }
  // A partial tile: masked loads and stores touch only C[0:m, 0:n] (and bias[0:n]).
  const __m256i k0 = lanes_below(n);
  const __m256i k1 = lanes_below(n - 8);
  const __m256 b0 = bias ? _mm256_maskload_ps(bias, k0) : zero;
  const __m256 b1 = bias ? _mm256_maskload_ps(bias + 8, k1) : zero;
#pragma GCC unroll 8
  for (int i = 0; i < M; i++) {
    float* row = c + i * ldc;
    __m256 r0 = _mm256_mul_ps(va, c0[i]);
    __m256 r1 = _mm256_mul_ps(va, c1[i]);
    if (beta != 0.0f) {
      r0 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row, k0), r0);
      r1 = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row + 8, k1), r1);
    }
    finish(r0, r1, bias, b0, b1, relu);
    _mm256_maskstore_ps(row, k0, r0);
    _mm256_maskstore_ps(row + 8, k1, r1);
  }
}

void run_epilogue(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
                  float alpha, float beta, int64_t bs, const float* bias, bool relu) {
  switch (m) {
    case 1: return kern<1>(kc, a, b, c, ldc, n, alpha, beta, bs, bias, relu);
    case 2: return kern<2>(kc, a, b, c, ldc, n, alpha, beta, bs, bias, relu);
    case 3: return kern<3>(kc, a, b, c, ldc, n, alpha, beta, bs, bias, relu);
    case 4: return kern<4>(kc, a, b, c, ldc, n, alpha, beta, bs, bias, relu);
    case 5: return kern<5>(kc, a, b, c, ldc, n, alpha, beta, bs, bias, relu);
    default: return kern<6>(kc, a, b, c, ldc, n, alpha, beta, bs, bias, relu);
  }
}

void run(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
         float alpha, float beta, int64_t bs) {
  run_epilogue(kc, a, b, c, ldc, m, n, alpha, beta, bs, nullptr, false);
}

// In-register transpose of 8 rows of 8 floats: pairs, pairs of pairs, then 128-bit halves.
MW_AVX2 inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 2
  for (int g = 0; g < 2; g++) {
    const int b = 4 * g;
    u[b] = _mm256_shuffle_ps(t[b], t[b + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[b + 1] = _mm256_shuffle_ps(t[b], t[b + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[b + 2] = _mm256_shuffle_ps(t[b + 1], t[b + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[b + 3] = _mm256_shuffle_ps(t[b + 1], t[b + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

}  // namespace

MW_AVX2 void pack_transposed_avx2(const float* src, int64_t ld, int rows, int64_t kc, float* dst,
                                  int64_t dstride, int lanes) {
  const __m256i store = lanes_below(lanes);
  for (int64_t p = 0; p < kc; p += 8) {
    const int w = kc - p >= 8 ? 8 : static_cast<int>(kc - p);
    const __m256i lm = lanes_below(w);
    __m256 r[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
      r[i] = i < rows ? _mm256_maskload_ps(src + i * ld + p, lm) : _mm256_setzero_ps();
    transpose8(r);
    // Masked stores are slow on AMD (VMASKMOVPS to memory is microcoded on Zen 2 and 3): the
    // 6 lanes of an A panel (mr = 6) go as 4 + 2, and only other widths take the mask.
    if (lanes == 8) {
      for (int q = 0; q < w; q++) _mm256_storeu_ps(dst + (p + q) * dstride, r[q]);
    } else if (lanes == 6) {
      for (int q = 0; q < w; q++) {
        float* d = dst + (p + q) * dstride;
        _mm_storeu_ps(d, _mm256_castps256_ps128(r[q]));
        _mm_storel_pi(reinterpret_cast<__m64*>(d + 4), _mm256_extractf128_ps(r[q], 1));
      }
    } else {
      for (int q = 0; q < w; q++) _mm256_maskstore_ps(dst + (p + q) * dstride, store, r[q]);
    }
  }
}

const MicroKernel& kernel_avx2() {
  static const MicroKernel k{"avx2", MR, NR, 256, 120, 2048, run, run_epilogue};
  return k;
}

}  // namespace mw
