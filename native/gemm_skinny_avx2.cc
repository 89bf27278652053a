// gemm_skinny's kernels for CPUs with AVX2 and FMA but no AVX-512 (e.g. AMD Zen 2 and 3): the
// same streaming of B's rows as gemm_skinny.cc, in 8-lane vectors and within 16 ymm registers.
// One row of A runs against 8 rows of B (8 accumulators of 8 partial sums along k, B loaded
// into the FMA directly); two rows of A against 4 rows of B (8 accumulators, 4 B registers). The
// 8 accumulators of a block reduce to one vector of 8 dot products by three rounds of
// horizontal adds. B as float32 or as bfloat16 bits (widened to float32 exactly on load).
#include <immintrin.h>

#include <cstring>

#include "avx2_lanes.h"
#include "gemm.h"
#include "threadpool.h"

#define MW_AVX2 __attribute__((target("avx2,fma")))

namespace mw {
namespace {

// 8 consecutive elements of a row of B as float32, and the first `count` of them (rest 0).
MW_AVX2 inline __m256 loadb(const float* p) { return _mm256_loadu_ps(p); }
MW_AVX2 inline __m256 loadb(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
MW_AVX2 inline __m256 loadb_tail(const float* p, int64_t count) {
  return _mm256_maskload_ps(p, lanes_below(count));
}
MW_AVX2 inline __m256 loadb_tail(const uint16_t* p, int64_t count) {
  uint16_t t[8] = {0};
  std::memcpy(t, p, static_cast<size_t>(count) * sizeof(uint16_t));
  return loadb(t);
}

// The first `count` (8, 4 or fewer) floats at p; m: lanes_below(count).
MW_AVX2 inline __m256 load_first(const float* p, int count, __m256i m) {
  return count == 8   ? _mm256_loadu_ps(p)
         : count == 4 ? _mm256_castps128_ps256(_mm_loadu_ps(p))
                      : _mm256_maskload_ps(p, m);
}

// GemmParams' scaling and epilogue on `count` (<= 8) consecutive dot products `r` of one row of
// C, columns j0..: alpha * r + beta * C, + bias, then ReLU, the float32 operations of
// gemm_skinny.cc's `store`. Whole vectors load and store plainly: masked stores are slow on AMD
// (VMASKMOVPS to memory is microcoded on Zen 2 and 3), and a step stores every 8 or 4 dot
// products.
MW_AVX2 inline void store_row(const GemmParams& g, float* c, int64_t j0, __m256 r, int count) {
  const __m256i m = lanes_below(count);
  __m256 v = _mm256_mul_ps(_mm256_set1_ps(g.alpha), r);
  if (g.beta != 0.0f) v = _mm256_fmadd_ps(_mm256_set1_ps(g.beta), load_first(c, count, m), v);
  if (g.bias != nullptr) v = _mm256_add_ps(v, load_first(g.bias + j0, count, m));
  if (g.relu) v = _mm256_max_ps(v, _mm256_setzero_ps());
  if (count == 8)
    _mm256_storeu_ps(c, v);
  else if (count == 4)
    _mm_storeu_ps(c, _mm256_castps256_ps128(v));
  else
    _mm256_maskstore_ps(c, m, v);
}

// The next block of 8 rows of B (`next` elements on, 0: none) prefetched into L2 while this
// one is read, one 64-byte line of each row per line read (see gemm_skinny.cc).
template <class TB>
MW_AVX2 inline void prefetch_next(const TB* row, int64_t p, int64_t next) {
  if (next != 0) _mm_prefetch(reinterpret_cast<const char*>(row + next + p), _MM_HINT_T1);
}

// acc[t] += A_row(a[t / NB]) . B_row(b[t % NB]) as 8 partial sums, for the MI x NB pairs.
template <int MI, int NB, class TB>
MW_AVX2 inline void dots(int64_t k, const float* const* a, const TB* const* b, __m256* acc,
                         int64_t next) {
#pragma GCC unroll 8
  for (int t = 0; t < MI * NB; t++) acc[t] = _mm256_setzero_ps();
  constexpr int64_t kLine = 64 / sizeof(TB);  // elements of B in a cache line
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    if (p % kLine == 0)
#pragma GCC unroll 8
      for (int j = 0; j < NB; j++) prefetch_next(b[j], p, next);
    if constexpr (MI == 1) {
      const __m256 av = _mm256_loadu_ps(a[0] + p);
#pragma GCC unroll 8
      for (int j = 0; j < NB; j++) acc[j] = _mm256_fmadd_ps(av, loadb(b[j] + p), acc[j]);
    } else {
      __m256 bv[NB];
#pragma GCC unroll 8
      for (int j = 0; j < NB; j++) bv[j] = loadb(b[j] + p);
#pragma GCC unroll 4
      for (int i = 0; i < MI; i++) {
        const __m256 av = _mm256_loadu_ps(a[i] + p);
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++) acc[i * NB + j] = _mm256_fmadd_ps(av, bv[j], acc[i * NB + j]);
      }
    }
  }
  if (p < k) {
    const __m256i m = lanes_below(k - p);
#pragma GCC unroll 4
    for (int i = 0; i < MI; i++) {
      const __m256 av = _mm256_maskload_ps(a[i] + p, m);
#pragma GCC unroll 8
      for (int j = 0; j < NB; j++)
        acc[i * NB + j] = _mm256_fmadd_ps(av, loadb_tail(b[j] + p, k - p), acc[i * NB + j]);
    }
  }
}

// Columns [j0, j1) of C for every row of A: 8 rows of B at a time (in L1 while every row of A
// passes over them), two rows of A against 4 of them or one row against all 8; then the last
// columns one at a time.
template <class TB>
MW_AVX2 void columns(const GemmParams& g, const float* A, const TB* B, float* C, int64_t j0,
                     int64_t j1) {
  __m256 acc[8];
  int64_t j = j0;
  for (; j + 8 <= j1; j += 8) {
    // The first pass over the block prefetches the next one.
    const int64_t next = j + 16 <= j1 ? 8 * g.ldb : 0;
    int64_t i = 0;
    for (; i + 2 <= g.m; i += 2) {
      const float* a[2] = {A + i * g.lda, A + (i + 1) * g.lda};
      for (int64_t jj = j; jj < j + 8; jj += 4) {
        const TB* b[4] = {B + jj * g.ldb, B + (jj + 1) * g.ldb, B + (jj + 2) * g.ldb,
                          B + (jj + 3) * g.ldb};
        dots<2, 4>(g.k, a, b, acc, i == 0 ? next : 0);
        // Lanes 0-3: row i, columns jj..jj+3; lanes 4-7: row i + 1.
        const __m256 r = reduce8(acc);
        store_row(g, C + i * g.ldc + jj, jj, r, 4);
        store_row(g, C + (i + 1) * g.ldc + jj, jj,
                  _mm256_permute2f128_ps(r, r, 0x01), 4);
      }
    }
    if (i < g.m) {
      const float* a[1] = {A + i * g.lda};
      const TB* b[8];
      for (int t = 0; t < 8; t++) b[t] = B + (j + t) * g.ldb;
      dots<1, 8>(g.k, a, b, acc, i == 0 ? next : 0);
      store_row(g, C + i * g.ldc + j, j, reduce8(acc), 8);
    }
  }
  for (; j < j1; j++) {
    const TB* b[1] = {B + j * g.ldb};
    for (int64_t i = 0; i < g.m; i++) {
      const float* a[1] = {A + i * g.lda};
      dots<1, 1>(g.k, a, b, acc, 0);
      for (int t = 1; t < 8; t++) acc[t] = _mm256_setzero_ps();
      store_row(g, C + i * g.ldc + j, j, reduce8(acc), 1);
    }
  }
}

}  // namespace

void gemm_skinny_columns_avx2(const GemmParams& g, const float* A, const float* B, float* C,
                              int64_t j0, int64_t j1) {
  columns(g, A, B, C, j0, j1);
}

void gemm_skinny_columns_avx2(const GemmParams& g, const float* A, const uint16_t* B, float* C,
                              int64_t j0, int64_t j1) {
  columns(g, A, B, C, j0, j1);
}

}  // namespace mw
