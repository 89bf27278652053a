// GEMM for a few rows against a transposed B: C[i, j] = alpha * A_i . B_j + beta * C[i, j] with
// B stored [n, k] (a Linear weight [out, in]), m <= kSkinnyRows. This is every Linear layer of
// incremental decoding (one row per hypothesis). The packed path would copy (transpose) all of B
// into panels on every call to use each element m times; here each row of B is streamed once,
// straight from where it lies, against all m rows of A at once: 4 rows of B x 4 rows of A give
// 16 zmm accumulators of 16 partial sums along k, reduced 16 at a time by one transpose-and-add
// tree. Rows of B are split between threads from 64K multiply-adds up (every projection of the
// benchmark's d_model = 256, one row or more), in chunks of 16 rows claimed as threads get to
// them: a product streams its weight from memory, and two cores read it faster than one (a
// decoding step's 25 products at one row, the Multi30k model's 18.8 MB: 395 us a step with the
// 256 x 256 ones on one thread, 321 us with them split; a 256 x 256 weight on one thread reads
// from L3 at about 36 GB/s, the 1024 x 256 ones split at 68). The same split stalled in 2 of 5
// benchmark runs when first tried (2026-11-28: a 32-token decode ~1 s instead of ~50 ms, put
// down to a worker descheduled while holding a task), so it ran from 256K up until 2026-12-07,
// when, with the same pool, eight series of 30 greedy and 30 beam decodes showed no stall
// (slowest 37 ms greedy, 66 ms beam), nor did 3 x 7,445 batch-1 translation steps (slowest
// 11 ms), nor runs with one or two busy loops beside them on the 2 cores (three series each:
// greedy slowest 90 ms, against 126 ms with the split from 256K).
//
// gemm_skinny_bf16 multiplies bfloat16 weights by A rounded to bfloat16 (to nearest, ties to
// even): every product of two bfloat16 values is exact in float32, so the result is the same up
// to float32 summation order on every path. Where the CPU has AVX512_BF16, VDPBF16PS takes 32
// pairs straight from memory per instruction (twice the multiply-adds of a float32 FMA, and no
// widening of the weights); elsewhere the float32 kernels below read B as bfloat16 (16 weights
// load as 16 uint16, widen to 32 bits and shift into the high half, their float32 value
// exactly). On AVX2 without AVX-512 the same walk runs in 8-lane vectors (gemm_skinny_avx2.cc).
// A decoding step streams every weight once per token, so half the bytes and, with
// VDPBF16PS, half the instructions are most of the time saved.
#include "simd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "reduce16.h"
#include "threadpool.h"

#define MW_AVX512 MW_TARGET("avx512f,avx512vl,avx512dq,fma")
#define MW_AVX512BF16 \
  MW_TARGET("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,fma")

namespace mw {
namespace {

// Products below this many multiply-adds run on the calling thread.
constexpr int64_t kSkinnyParallel = int64_t{1} << 16;

MW_AVX512 inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }

// 16 consecutive elements of a row of B as float32, and the first `count` of them (the rest 0).
MW_AVX512 inline __m512 loadb(const float* p) { return _mm512_loadu_ps(p); }
MW_AVX512 inline __m512 loadb(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
MW_AVX512 inline __m512 loadb_tail(const float* p, int64_t count) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1u), p);
}
MW_AVX512 inline __m512 loadb_tail(const uint16_t* p, int64_t count) {
  // A masked 16-bit load needs AVX512BW; a copy of the few tail elements does not.
  uint16_t t[16] = {0};
  std::memcpy(t, p, static_cast<size_t>(count) * sizeof(uint16_t));
  return loadb(t);
}

// Every store applies GemmParams' epilogue to the float32 value it stores (+ bias[j], then
// ReLU: max(v, +0) gives +0 for NaN and -0 as `v > 0 ? v : 0` does), the operations of a
// separate pass over C, so the bits are the same; a pass after the product would read C back
// from wherever the threads that wrote it left it.
MW_AVX512 inline void store(const GemmParams& g, float* c, int64_t j, float v) {
  const float r = g.alpha * v;
  float s = g.beta == 0.0f ? r : r + g.beta * *c;
  if (g.bias != nullptr) s += g.bias[j];
  if (g.relu) s = s > 0.0f ? s : 0.0f;
  *c = s;
}

// The epilogue on 4 or 16 stored values of columns j0.. of one row.
MW_AVX512 inline __m128 epilogue4(const GemmParams& g, __m128 v, int64_t j0) {
  if (g.bias != nullptr) v = _mm_add_ps(v, _mm_loadu_ps(g.bias + j0));
  if (g.relu) v = _mm_max_ps(v, _mm_setzero_ps());
  return v;
}
MW_AVX512 inline __m512 epilogue16(const GemmParams& g, __m512 v, int64_t j0) {
  if (g.bias != nullptr) v = _mm512_add_ps(v, _mm512_loadu_ps(g.bias + j0));
  if (g.relu) v = _mm512_max_ps(v, _mm512_setzero_ps());
  return v;
}

// Rows i0..i0+MI of A against rows j0..j0+NJ of B (MI, NJ <= 4).
template <int MI, int NJ, class TB>
MW_AVX512 void block(const GemmParams& g, const float* A, const TB* B, float* C, int64_t i0,
                     int64_t j0) {
  __m512 acc[MI][NJ];
#pragma GCC unroll 4
  for (int i = 0; i < MI; i++)
#pragma GCC unroll 4
    for (int j = 0; j < NJ; j++) acc[i][j] = _mm512_setzero_ps();
  const float* a[MI];
  const TB* b[NJ];
  for (int i = 0; i < MI; i++) a[i] = A + (i0 + i) * g.lda;
  for (int j = 0; j < NJ; j++) b[j] = B + (j0 + j) * g.ldb;
  const int64_t k = g.k;
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    __m512 bv[NJ];
#pragma GCC unroll 4
    for (int j = 0; j < NJ; j++) bv[j] = loadb(b[j] + p);
#pragma GCC unroll 4
    for (int i = 0; i < MI; i++) {
      const __m512 av = _mm512_loadu_ps(a[i] + p);
#pragma GCC unroll 4
      for (int j = 0; j < NJ; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  if (p < k) {
    const __mmask16 m = static_cast<__mmask16>((1u << (k - p)) - 1u);
    __m512 bv[NJ];
    for (int j = 0; j < NJ; j++) bv[j] = loadb_tail(b[j] + p, k - p);
    for (int i = 0; i < MI; i++) {
      const __m512 av = _mm512_maskz_loadu_ps(m, a[i] + p);
      for (int j = 0; j < NJ; j++) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < MI; i++)
    for (int j = 0; j < NJ; j++) store(g, C + (i0 + i) * g.ldc + j0 + j, j0 + j, hsum(acc[i][j]));
}

template <int NJ, class TB>
MW_AVX512 void rows_of_a(const GemmParams& g, const float* A, const TB* B, float* C,
                         int64_t j0) {
  int64_t i = 0;
  for (; i + 4 <= g.m; i += 4) block<4, NJ>(g, A, B, C, i, j0);
  switch (g.m - i) {
    case 3: block<3, NJ>(g, A, B, C, i, j0); break;
    case 2: block<2, NJ>(g, A, B, C, i, j0); break;
    case 1: block<1, NJ>(g, A, B, C, i, j0); break;
    default: break;
  }
}

// The next block of 16 rows of B, 16 * ldb elements on (0: none), is prefetched into L2 while
// the current rows are read: a row of a Linear weight is 1-4 KB for the benchmark's model, too
// short a stream for the hardware prefetcher to get ahead of, so without this every block of B
// waited for memory (a decoding step's products ran at 5-15 GB/s on one core). Each k step
// reads one 64-byte line (16 floats, or 32 bfloat16) of each of its rows and asks for the line
// at the same place in the rows one block on: one block's reads prefetch the next.
template <class TB>
MW_AVX512 inline void prefetch_next(const TB* row, int64_t p, int64_t next) {
  if (next != 0) _mm_prefetch(reinterpret_cast<const char*>(row + next + p), _MM_HINT_T1);
}

// acc[t] += A_row(a[t / NB]) . B_row(b[t % NB]) for the MI x NB pairs, over all of k.
template <int MI, int NB, class TB>
MW_AVX512 inline void dots(int64_t k, const float* const* a, const TB* const* b, __m512* acc,
                           int64_t next = 0) {
  for (int t = 0; t < MI * NB; t++) acc[t] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    // A bfloat16 step reads half a line of each row: every other step asks for the next line.
    if (sizeof(TB) == sizeof(float) || p % 32 == 0)
#pragma GCC unroll 16
      for (int j = 0; j < NB; j++) prefetch_next(b[j], p, next);
    if constexpr (MI == 1) {
      // One row of A: each row of B is used once, so it is loaded into the FMA directly
      // (16 accumulators and no B registers: no spills).
      const __m512 av = _mm512_loadu_ps(a[0] + p);
#pragma GCC unroll 16
      for (int j = 0; j < NB; j++) acc[j] = _mm512_fmadd_ps(av, loadb(b[j] + p), acc[j]);
    } else {
      __m512 bv[NB];
#pragma GCC unroll 16
      for (int j = 0; j < NB; j++) bv[j] = loadb(b[j] + p);
#pragma GCC unroll 4
      for (int i = 0; i < MI; i++) {
        const __m512 av = _mm512_loadu_ps(a[i] + p);
#pragma GCC unroll 16
        for (int j = 0; j < NB; j++) acc[i * NB + j] = _mm512_fmadd_ps(av, bv[j], acc[i * NB + j]);
      }
    }
  }
  if (p < k) {
    const __mmask16 m = static_cast<__mmask16>((1u << (k - p)) - 1u);
    for (int i = 0; i < MI; i++) {
      const __m512 av = _mm512_maskz_loadu_ps(m, a[i] + p);
      for (int j = 0; j < NB; j++)
        acc[i * NB + j] = _mm512_fmadd_ps(av, loadb_tail(b[j] + p, k - p), acc[i * NB + j]);
    }
  }
}

// C[i0:i0+4, j0:j0+4] from the 16 dot products acc[4i + j] (row i of A, row j of B).
MW_AVX512 inline void store4x4(const GemmParams& g, float* C, int64_t i0, int64_t j0,
                               const __m512* acc) {
  // Lanes 4i..4i+3 are C[i0 + i, j0:j0+4].
  const __m512 r = _mm512_mul_ps(_mm512_set1_ps(g.alpha), reduce16(acc));
  float* c[4];
  for (int t = 0; t < 4; t++) c[t] = C + (i0 + t) * g.ldc + j0;
  const __m128 rows[4] = {_mm512_extractf32x4_ps(r, 0), _mm512_extractf32x4_ps(r, 1),
                          _mm512_extractf32x4_ps(r, 2), _mm512_extractf32x4_ps(r, 3)};
  const __m128 be = _mm_set1_ps(g.beta);
  for (int t = 0; t < 4; t++) {
    const __m128 v = g.beta == 0.0f ? rows[t] : _mm_fmadd_ps(be, _mm_loadu_ps(c[t]), rows[t]);
    _mm_storeu_ps(c[t], epilogue4(g, v, j0));
  }
}

// C[i, j0:j0+16] from the 16 dot products acc[j] (row i of A, row j0 + j of B).
MW_AVX512 inline void store1x16(const GemmParams& g, float* C, int64_t i, int64_t j0,
                                const __m512* acc) {
  const __m512 r = _mm512_mul_ps(_mm512_set1_ps(g.alpha), reduce16(acc));
  float* c = C + i * g.ldc + j0;
  const __m512 v =
      g.beta == 0.0f ? r : _mm512_fmadd_ps(_mm512_set1_ps(g.beta), _mm512_loadu_ps(c), r);
  _mm512_storeu_ps(c, epilogue16(g, v, j0));
}

// C[i0:i0+4, j0:j0+4] from 4 rows of A and 4 rows of B.
template <class TB>
MW_AVX512 void block4x4(const GemmParams& g, const float* A, const TB* B, float* C, int64_t i0,
                        int64_t j0, int64_t next) {
  const float* a[4];
  const TB* b[4];
  for (int t = 0; t < 4; t++) a[t] = A + (i0 + t) * g.lda;
  for (int t = 0; t < 4; t++) b[t] = B + (j0 + t) * g.ldb;
  __m512 acc[16];
  dots<4, 4>(g.k, a, b, acc, next);
  store4x4(g, C, i0, j0, acc);
}

// C[i, j0:j0+16] from one row of A and 16 rows of B.
template <class TB>
MW_AVX512 void block1x16(const GemmParams& g, const float* A, const TB* B, float* C, int64_t i,
                         int64_t j0, int64_t next) {
  const float* a[1] = {A + i * g.lda};
  const TB* b[16];
  for (int t = 0; t < 16; t++) b[t] = B + (j0 + t) * g.ldb;
  __m512 acc[16];
  dots<1, 16>(g.k, a, b, acc, next);
  store1x16(g, C, i, j0, acc);
}

// Rows [j0, j1) of B (columns of C) for every row of A: 16 rows of B at a time (they stay in
// L1/L2 while every row of A passes over them), then the edges.
template <class TB>
MW_AVX512 void columns(const GemmParams& g, const float* A, const TB* B, float* C, int64_t j0,
                       int64_t j1) {
  int64_t j = j0;
  for (; j + 16 <= j1; j += 16) {
    // The first pass over the block (rows 0-3 of A, or the first row) prefetches the next one.
    const int64_t next = j + 32 <= j1 ? 16 * g.ldb : 0;
    int64_t i = 0;
    for (; i + 4 <= g.m; i += 4)
      for (int64_t jj = 0; jj < 16; jj += 4) block4x4(g, A, B, C, i, j + jj, i == 0 ? next : 0);
    for (; i < g.m; i++) block1x16(g, A, B, C, i, j, i == 0 ? next : 0);
  }
  for (; j + 4 <= j1; j += 4) rows_of_a<4>(g, A, B, C, j);
  for (; j < j1; j++) rows_of_a<1>(g, A, B, C, j);
}

// The columns [0, n) of one product of `work` multiply-adds, by `cols(lo, hi)`: split between
// threads for a large product (see the top of the file), else on the calling thread.
template <class F>
void split_columns(int64_t n, int64_t work, const F& cols) {
  const int T = ThreadPool::instance().threads();
  // Column ranges in multiples of 16 (the B block height).
  if (T > 1 && work >= kSkinnyParallel && n >= 64 * T)
    parallel_chunks(n, 16, cols);
  else
    cols(0, n);
}

template <class TB>
void skinny(const GemmParams& g, const float* A, const TB* B, float* C) {
  if (gemm_isa() == Isa::avx2) {
    split_columns(g.n, g.m * g.n * g.k,
                  [&](int64_t lo, int64_t hi) { gemm_skinny_columns_avx2(g, A, B, C, lo, hi); });
    return;
  }
  split_columns(g.n, g.m * g.n * g.k, [&](int64_t lo, int64_t hi) { columns(g, A, B, C, lo, hi); });
}

// ---- bfloat16 inputs by VDPBF16PS --------------------------------------------------------
// Rows of A and B as bfloat16, 32 along k per instruction: lane l of an accumulator gathers
// a[2l] b[2l] + a[2l+1] b[2l+1] of each 32, so a dot product is the sum of its 16 lanes, as in
// the float32 kernels, and the same reduce16 and stores finish the blocks.

bool g_bf16_dot = true;  // set_gemm_bf16_dot(false): the float32 kernels (tests, benchmarks)

// n float32s to bfloat16 bits, rounded to nearest, ties to even (VCVTNEPS2BF16).
MW_AVX512BF16 void round_to_bf16(const float* src, int64_t n, uint16_t* dst) {
  int64_t p = 0;
  for (; p + 16 <= n; p += 16) {
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(src + p));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + p), reinterpret_cast<const __m256i&>(h));
  }
  if (p < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - p)) - 1u);
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + p));
    _mm256_mask_storeu_epi16(dst + p, m, reinterpret_cast<const __m256i&>(h));
  }
}

// 32 bfloat16 of a row, and the first `count` of them (the rest 0, nothing read past them).
MW_AVX512BF16 inline __m512bh load_bh(const uint16_t* p) {
  const __m512i v = _mm512_loadu_si512(p);
  return reinterpret_cast<const __m512bh&>(v);
}
MW_AVX512BF16 inline __m512bh load_bh_tail(const uint16_t* p, int64_t count) {
  const __mmask32 m = static_cast<__mmask32>((uint64_t{1} << count) - 1u);
  const __m512i v = _mm512_maskz_loadu_epi16(m, p);
  return reinterpret_cast<const __m512bh&>(v);
}

// acc[t] = A_row(a[t / NB]) . B_row(b[t % NB]) as 16 partial sums, for the MI x NB pairs.
template <int MI, int NB>
MW_AVX512BF16 inline void dots_bh(int64_t k, const uint16_t* const* a, const uint16_t* const* b,
                                  __m512* acc, int64_t next = 0) {
  for (int t = 0; t < MI * NB; t++) acc[t] = _mm512_setzero_ps();
  int64_t p = 0;
  for (; p + 32 <= k; p += 32) {
#pragma GCC unroll 16
    for (int j = 0; j < NB; j++) prefetch_next(b[j], p, next);
    __m512bh bv[NB];
#pragma GCC unroll 16
    for (int j = 0; j < NB; j++) bv[j] = load_bh(b[j] + p);
#pragma GCC unroll 4
    for (int i = 0; i < MI; i++) {
      const __m512bh av = load_bh(a[i] + p);
#pragma GCC unroll 16
      for (int j = 0; j < NB; j++) acc[i * NB + j] = _mm512_dpbf16_ps(acc[i * NB + j], av, bv[j]);
    }
  }
  if (p < k) {
    __m512bh bv[NB];
    for (int j = 0; j < NB; j++) bv[j] = load_bh_tail(b[j] + p, k - p);
    for (int i = 0; i < MI; i++) {
      const __m512bh av = load_bh_tail(a[i] + p, k - p);
      for (int j = 0; j < NB; j++) acc[i * NB + j] = _mm512_dpbf16_ps(acc[i * NB + j], av, bv[j]);
    }
  }
}

// Columns [j0, j1) of C += A W^T for bfloat16 rows A [m, k] and W [n, k], as `columns` walks
// them: 16 rows of W at a time against 4 rows of A, then one; then the last columns one by one.
MW_AVX512BF16 void columns_bh(const GemmParams& g, const uint16_t* A, const uint16_t* W, float* C,
                              int64_t j0, int64_t j1) {
  const int64_t k = g.k;
  __m512 acc[16];
  int64_t j = j0;
  for (; j + 16 <= j1; j += 16) {
    const int64_t next = j + 32 <= j1 ? 16 * k : 0;  // as in `columns`
    int64_t i = 0;
    for (; i + 4 <= g.m; i += 4) {
      const uint16_t* a[4] = {A + i * k, A + (i + 1) * k, A + (i + 2) * k, A + (i + 3) * k};
      for (int64_t jj = j; jj < j + 16; jj += 4) {
        const uint16_t* b[4] = {W + jj * k, W + (jj + 1) * k, W + (jj + 2) * k, W + (jj + 3) * k};
        dots_bh<4, 4>(k, a, b, acc, i == 0 ? next : 0);
        store4x4(g, C, i, jj, acc);
      }
    }
    for (; i < g.m; i++) {
      const uint16_t* a[1] = {A + i * k};
      const uint16_t* b[16];
      for (int t = 0; t < 16; t++) b[t] = W + (j + t) * k;
      dots_bh<1, 16>(k, a, b, acc, i == 0 ? next : 0);
      store1x16(g, C, i, j, acc);
    }
  }
  for (; j < j1; j++) {
    const uint16_t* b[1] = {W + j * k};
    for (int64_t i = 0; i < g.m; i++) {
      const uint16_t* a[1] = {A + i * k};
      dots_bh<1, 1>(k, a, b, acc);
      store(g, C + i * g.ldc + j, j, hsum(acc[0]));
    }
  }
}

// A [m, k] rounded to bfloat16 and widened back to float32 (the kernels without VDPBF16PS).
void round_through_bf16(const float* src, int64_t n, float* dst) {
  for (int64_t i = 0; i < n; i++) {
    uint32_t u;
    std::memcpy(&u, &src[i], sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
      u |= 0x00400000u;  // NaN: keep it a (quiet) NaN
    else
      u += 0x7fffu + ((u >> 16) & 1u);  // half to even; a carry moves up the exponent
    u &= 0xffff0000u;
    std::memcpy(&dst[i], &u, sizeof u);
  }
}

}  // namespace

bool bf16_dot_available() {
  static const bool cpu = [] {
    __builtin_cpu_init();
    return MW_CPU_SUPPORTS("avx512bf16") && MW_CPU_SUPPORTS("avx512bw");
  }();
  return g_bf16_dot && cpu && gemm_isa() == Isa::avx512;
}

bool set_gemm_bf16_dot(bool on) {
  g_bf16_dot = on;
  return bf16_dot_available();
}

bool gemm_skinny_applies(const GemmParams& g) {
  return g.m <= kSkinnyRows && !g.transA && g.transB && g.k > 0 &&
         (gemm_isa() == Isa::avx512 || gemm_isa() == Isa::avx2);
}

void gemm_skinny(const GemmParams& g) {
  for (int64_t b = 0; b < g.batch; b++)
    skinny(g, g.a + b * g.strideA, g.b + b * g.strideB, g.c + b * g.strideC);
}

void gemm_skinny_bf16(int64_t m, int64_t n, int64_t k, const float* A, const uint16_t* W,
                      float* C) {
  if (m <= 0 || n <= 0) return;
  GemmParams g{};
  g.batch = 1;
  g.m = m;
  g.n = n;
  g.k = k;
  g.transB = true;
  g.alpha = 1.0f;
  g.beta = 1.0f;
  g.lda = k;
  g.ldb = k;
  g.c = C;
  g.ldc = n;
  const size_t mk = static_cast<size_t>(m * k);
  if (bf16_dot_available()) {
    thread_local std::vector<uint16_t> a16;
    if (a16.size() < mk) a16.resize(mk);
    // The pointer, not the name: inside the lambda on a worker thread `a16` would be that
    // thread's own (empty) buffer.
    const uint16_t* a = a16.data();
    round_to_bf16(A, m * k, a16.data());
    split_columns(n, m * n * k, [&](int64_t lo, int64_t hi) { columns_bh(g, a, W, C, lo, hi); });
    return;
  }
  thread_local std::vector<float> ar;
  if (ar.size() < mk) ar.resize(mk);
  round_through_bf16(A, m * k, ar.data());
  const float* a = ar.data();
  if (gemm_isa() == Isa::portable) {
    // Portable: each weight row widened once, then dotted with every row of A.
    std::vector<float> w(static_cast<size_t>(k));
    for (int64_t j = 0; j < n; j++) {
      for (int64_t p = 0; p < k; p++) {
        const uint32_t bits = static_cast<uint32_t>(W[j * k + p]) << 16;
        std::memcpy(&w[static_cast<size_t>(p)], &bits, sizeof bits);
      }
      for (int64_t i = 0; i < m; i++) {
        float s = 0.0f;
        for (int64_t p = 0; p < k; p++) s += a[i * k + p] * w[static_cast<size_t>(p)];
        C[i * n + j] += s;
      }
    }
    return;
  }
  g.a = a;
  skinny(g, a, W, C);
}

}  // namespace mw
