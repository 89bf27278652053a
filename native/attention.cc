// Fused attention on the CPU, FlashAttention-style (Dao et al.): the work is cut into tiles of
// blockQ queries x blockK keys, the tile classes of the mask's block map decide what is computed,
// and the softmax is streamed (online) so no [Tq, Tk] score matrix is stored.
//
// Each tile is a few small matrix products (small_product: register-blocked, A read plain or
// transposed) and row-wise softmax work between them:
// Forward: one task per (b, h, query block); per tile the scores q k^T (against a transposed
// copy of the key tile), masked only in mixed tiles, are folded into the running maximum m and
// normaliser l of each row, and the weights times the value tile are added to the row sums.
// Backward (FlashAttention-2's recomputation): one task per (b, h), walking all its tiles, so the
// gradients of q, k and v accumulate without any two threads touching the same row.
//   p = exp(s * scale - lse);  D_i = dout_i . out_i;  dv += p~^T dout;
//   ds = p (dp - D) * scale with dp = dout v^T;  dq += ds k;  dk += ds^T q
// With skipBlocks off, every tile is computed whole, masked elements included (their weights come
// out exactly 0): the cost of a fused kernel that is not mask-aware, for benchmarks and checks.
// exp is a polynomial with exact range reduction (within 2 ulp on [-87, 88]); exp of a masked or
// far-below-maximum score is exactly 0.
// An additive bias (T5, ALiBi) is added to a tile's scores right after the product, before the
// mask, so a masked element stays -inf whatever its bias and a skipped tile never reads it. Its
// gradient is ds / scale. A bias shared by the batch gathers gradient from every batch row: the
// backward then runs one task per head that walks the batch rows in turn, so no two threads add
// into the same bias element.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include <immintrin.h>

#include "dropout_hash.h"
#include "fastexp.h"
#include "gemm.h"
#include "threadpool.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define MW_INLINE inline __attribute__((always_inline))
#else
#define MW_CLONES
#define MW_INLINE inline
#endif

namespace mw {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// e^x for x <= 0 (the only arguments here; -inf for masked scores gives exactly 0): the shared
// branch-free polynomial exp, so the loops vectorise.
inline float exp_nonpositive(float x) { return mw::fast_exp(x); }

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Tiles {
  int64_t nq, nk;
};

inline uint8_t tile_class(const AttentionParams& p, const Tiles& t, int64_t mb, int64_t qb,
                          int64_t kb) {
  if (!p.skipBlocks) return 2;
  return p.blocks[(mb * t.nq + qb) * t.nk + kb];
}

/**
 * kt[d * ld + c] = k[j0 + c][d] for c < cols, and 0 for cols <= c < ld: the tile transposed,
 * the right operand of q k^T, its rows padded to ld (a multiple of 16) so that the score
 * products run in whole vectors even for short tiles. With AVX-512, 16 keys at a time through
 * registers (GEMM's packing transpose: 16 row loads, 16 row stores), with AVX2 8; otherwise written row by
 * row of kt (the reads are strided): scattered stores cost more than scattered loads. A pure
 * copy either way, so the products see the same numbers.
 */
MW_INLINE void transpose_tile(const float* __restrict k, int64_t Dh, int64_t cols, int64_t ld,
                              float* __restrict kt) {
  if (gemm_isa() == Isa::avx512) {
    for (int64_t c0 = 0; c0 < ld; c0 += 16) {
      const int rows = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(16, cols - c0)));
      pack_transposed_avx512(k + c0 * Dh, Dh, rows, Dh, kt + c0, ld, 16);
    }
    return;
  }
  if (gemm_isa() == Isa::avx2) {
    for (int64_t c0 = 0; c0 < ld; c0 += 8) {
      const int rows = static_cast<int>(std::max<int64_t>(0, std::min<int64_t>(8, cols - c0)));
      pack_transposed_avx2(k + c0 * Dh, Dh, rows, Dh, kt + c0, ld, 8);
    }
    return;
  }
  for (int64_t d = 0; d < Dh; d++) {
    for (int64_t c = 0; c < cols; c++) kt[d * ld + c] = k[c * Dh + d];
    for (int64_t c = cols; c < ld; c++) kt[d * ld + c] = 0.0f;
  }
}

/** n rounded up to a multiple of 16: the padded width of score rows. */
inline int64_t padded16(int64_t n) { return (n + 15) / 16 * 16; }

/**
 * One R x W block of C = (C or 0) + alpha * A B over k: the R x W sums stay in registers while
 * p runs, so each step is one load of W floats of B and R x W multiply-adds (instead of a load
 * and a store of an output row per multiply-add, as row-by-row updates cost). A's element
 * (r, p) is a[r * ars + p * aps], so A may be read transposed without a copy.
 */
template <int R, int W>
MW_INLINE void block_product(int64_t k, float alpha, const float* __restrict a, int64_t ars,
                             int64_t aps, const float* __restrict b, int64_t ldb,
                             float* __restrict c, int64_t ldc, bool accumulate) {
  float acc[R][W] = {};
  for (int64_t p = 0; p < k; p++) {
    const float* bp = b + p * ldb;
    for (int r = 0; r < R; r++) {
      const float ar = a[r * ars + p * aps];
      for (int w = 0; w < W; w++) acc[r][w] += ar * bp[w];
    }
  }
  for (int r = 0; r < R; r++)
    for (int w = 0; w < W; w++)
      c[r * ldc + w] = (accumulate ? c[r * ldc + w] : 0.0f) + alpha * acc[r][w];
}

/** All n columns of R rows: blocks of 32 and 16, then one at a time. */
template <int R>
MW_INLINE void row_block(int64_t n, int64_t k, float alpha, const float* a, int64_t ars,
                         int64_t aps, const float* b, int64_t ldb, float* c, int64_t ldc,
                         bool accumulate) {
  int64_t j = 0;
  for (; j + 32 <= n; j += 32)
    block_product<R, 32>(k, alpha, a, ars, aps, b + j, ldb, c + j, ldc, accumulate);
  for (; j + 16 <= n; j += 16)
    block_product<R, 16>(k, alpha, a, ars, aps, b + j, ldb, c + j, ldc, accumulate);
  for (; j < n; j++) block_product<R, 1>(k, alpha, a, ars, aps, b + j, ldb, c + j, ldc, accumulate);
}

/**
 * small_product on AVX2 without AVX-512: the compiler's vectors for the blocks above need 16
 * accumulators at 4 x 32 (with B's and A's, more than the 16 ymm registers, so some live on the
 * stack) and multiply, then add. Here 4 rows x 16 columns in 8 accumulators by FMA, then 8
 * columns, then one at a time by a scalar FMA: every element is the same chain of fused
 * multiply-adds over p whichever block computes it (as the clones' blocks agree with each
 * other), so a tile cut to its live rows and columns gives the bits of the whole tile.
 */
// Columns [j, j + 8V) of R rows: R x V accumulators of 8 lanes (at most 4 x 2 = 8 registers).
template <int R, int V>
__attribute__((target("avx2,fma"), always_inline)) inline void fma_block(
    int64_t j, int64_t k, const __m256 va, const float* a, int64_t ars, int64_t aps,
    const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  __m256 acc[R][V];
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) acc[r][v] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; p++) {
    __m256 bv[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) bv[v] = _mm256_loadu_ps(b + p * ldb + j + 8 * v);
#pragma GCC unroll 4
    for (int r = 0; r < R; r++) {
      const __m256 ar = _mm256_broadcast_ss(a + r * ars + p * aps);
#pragma GCC unroll 2
      for (int v = 0; v < V; v++) acc[r][v] = _mm256_fmadd_ps(ar, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < V; v++) {
      float* at = c + r * ldc + j + 8 * v;
      const __m256 z = accumulate ? _mm256_loadu_ps(at) : _mm256_setzero_ps();
      _mm256_storeu_ps(at, _mm256_add_ps(z, _mm256_mul_ps(va, acc[r][v])));
    }
}

// All n columns of R rows: blocks of 16 and 8, then one at a time by a scalar FMA.
template <int R>
__attribute__((target("avx2,fma"), always_inline)) inline void fma_rows(
    int64_t n, int64_t k, float alpha, const float* a, int64_t ars, int64_t aps, const float* b,
    int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const __m256 va = _mm256_set1_ps(alpha);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) fma_block<R, 2>(j, k, va, a, ars, aps, b, ldb, c, ldc, accumulate);
  for (; j + 8 <= n; j += 8) fma_block<R, 1>(j, k, va, a, ars, aps, b, ldb, c, ldc, accumulate);
  for (; j < n; j++) {
    for (int r = 0; r < R; r++) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; p++) acc = __builtin_fmaf(a[r * ars + p * aps], b[p * ldb + j], acc);
      c[r * ldc + j] = (accumulate ? c[r * ldc + j] : 0.0f) + alpha * acc;
    }
  }
}

__attribute__((target("avx2,fma"))) void small_product_avx2(
    int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, bool transA,
    const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  const int64_t ars = transA ? 1 : lda;
  const int64_t aps = transA ? lda : 1;
  int64_t i = 0;
  for (; i + 4 <= m; i += 4)
    fma_rows<4>(n, k, alpha, a + i * ars, ars, aps, b, ldb, c + i * ldc, ldc, accumulate);
  for (; i < m; i++)
    fma_rows<1>(n, k, alpha, a + i * ars, ars, aps, b, ldb, c + i * ldc, ldc, accumulate);
}

/**
 * C [m, n] = (accumulate ? C : 0) + alpha * op(A) B [k, n], row-major with leading dimensions,
 * op(A) [m, k] being A [m, k] (lda its row stride) or, with transA, A [k, m] transposed: the
 * tiles' products (scores, weights times values, and the three gradients). Cloned per
 * instruction set itself, its blocks forced inline into each clone: an out-of-line template
 * instance would be compiled for the baseline instruction set only.
 */
MW_CLONES void small_product(int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                             int64_t lda, bool transA, const float* b, int64_t ldb, float* c,
                             int64_t ldc, bool accumulate) {
  if (gemm_isa() == Isa::avx2)
    return small_product_avx2(m, n, k, alpha, a, lda, transA, b, ldb, c, ldc, accumulate);
  const int64_t ars = transA ? 1 : lda;
  const int64_t aps = transA ? lda : 1;
  int64_t i = 0;
  for (; i + 4 <= m; i += 4)
    row_block<4>(n, k, alpha, a + i * ars, ars, aps, b, ldb, c + i * ldc, ldc, accumulate);
  for (; i < m; i++)
    row_block<1>(n, k, alpha, a + i * ars, ars, aps, b, ldb, c + i * ldc, ldc, accumulate);
}

/** max of x[0..n), n >= 1, in 16 lanes so that it vectorises. */
MW_INLINE float row_max(const float* x, int64_t n) {
  float lane[16];
  for (int j = 0; j < 16; j++) lane[j] = kNegInf;
  int64_t c = 0;
  for (; c + 16 <= n; c += 16)
    for (int j = 0; j < 16; j++) lane[j] = lane[j] > x[c + j] ? lane[j] : x[c + j];
  float m = kNegInf;
  for (; c < n; c++) m = m > x[c] ? m : x[c];
  for (int j = 0; j < 16; j++) m = m > lane[j] ? m : lane[j];
  return m;
}

/** The start of bias row (b, h, i), or null without a bias. */
inline const float* bias_row(const AttentionParams& p, int64_t bh, int64_t i) {
  if (p.bias == nullptr) return nullptr;
  const int64_t b = bh / p.H;
  const int64_t h = bh % p.H;
  const int64_t bb = p.biasBatch == 1 ? 0 : b;
  return p.bias + ((bb * p.H + h) * p.Tq + i) * p.Tk;
}

/**
 * Row layout: positions [t0, t0 + n) of head h of batch row b, copied from the rows `slots`
 * names (of a [rows, H * Dh] array) into dst [n, Dh], zeros where a position has no row: the
 * head layout's tile, as rowsToHeads would have laid it out, built in cache instead of in a
 * pass of its own over the whole tensor.
 */
void gather_head(const float* src, const int32_t* slots, int64_t T, int64_t H, int64_t Dh,
                 int64_t b, int64_t h, int64_t t0, int64_t n, float* dst) {
  for (int64_t t = 0; t < n; t++) {
    const int32_t r = slots[b * T + t0 + t];
    if (r < 0)
      std::fill(dst + t * Dh, dst + (t + 1) * Dh, 0.0f);
    else
      std::memcpy(dst + t * Dh, src + (r * H + h) * Dh, static_cast<size_t>(Dh) * sizeof(float));
  }
}

/** The reverse: src [n, Dh] into (or, with `add`, onto) the rows of positions [t0, t0 + n). */
void scatter_head(float* dst, const int32_t* slots, int64_t T, int64_t H, int64_t Dh, int64_t b,
                  int64_t h, int64_t t0, int64_t n, const float* src, bool add) {
  for (int64_t t = 0; t < n; t++) {
    const int32_t r = slots[b * T + t0 + t];
    if (r < 0) continue;
    float* d = dst + (r * H + h) * Dh;
    const float* x = src + t * Dh;
    if (add)
      for (int64_t e = 0; e < Dh; e++) d[e] += x[e];
    else
      std::memcpy(d, x, static_cast<size_t>(Dh) * sizeof(float));
  }
}

/**
 * x[c] = exp(min(x[c] - shift, 0)) for c < n; returns the sum, in 16 lanes so that it
 * vectorises. x has room for n rounded up to 16 (score rows are padded16 wide): a partial last
 * vector is computed whole with its extra columns set to -inf first (weight exactly 0), so every
 * column takes the same vector code (a scalar exp need not round as the vector one does) and a
 * row cut short after its last attended key (live_extent) gives the same bits as the whole row,
 * whose masked columns add exact zeros.
 */
MW_INLINE float exp_row(float* __restrict x, int64_t n, float shift) {
  const int64_t whole = (n + 15) / 16 * 16;
  for (int64_t c = n; c < whole; c++) x[c] = kNegInf;
  float lane[16] = {};
  for (int64_t c = 0; c < whole; c += 16) {
    for (int j = 0; j < 16; j++) {
      float y = x[c + j] - shift;
      y = y < 0.0f ? y : 0.0f;
      x[c + j] = exp_nonpositive(y);
      lane[j] += x[c + j];
    }
  }
  float sum = 0.0f;
  for (int j = 0; j < 16; j++) sum += lane[j];
  return sum;
}

/**
 * The live part of a mixed tile: queries [0, rows) and keys [0, cols) of it, with the grid's
 * rows at att (ld bytes apart). Queries after the last one that may attend to a key of the tile,
 * and keys after the last one any query may attend to, get weight exactly 0 there, so the
 * tile's work stops at the last live query and key (a padded batch row's tail, the padding
 * queries that an unpadded layout masks out); with skipBlocks off every tile is computed whole.
 * False when nothing in the tile is attended.
 */
MW_INLINE bool live_extent(const uint8_t* att, int64_t ld, int64_t rows, int64_t cols,
                           int64_t& live_rows, int64_t& live_cols) {
  live_rows = 0;
  live_cols = 0;
  for (int64_t r = 0; r < rows; r++) {
    const uint8_t* a = att + r * ld;
    int64_t c = cols;
    while (c > 0 && a[c - 1] == 0) c--;
    if (c == 0) continue;
    live_rows = r + 1;
    if (c > live_cols) live_cols = c;
  }
  // small_product takes rows four at a time, then one by one, and the two forms need not round
  // alike: the live queries (the rows of the scores and of dq) and keys (the rows of dk and dv)
  // keep the grouping the whole tile has.
  live_rows = std::min(rows, (live_rows + 3) / 4 * 4);
  live_cols = std::min(cols, (live_cols + 3) / 4 * 4);
  return live_rows > 0;
}

MW_CLONES
void forward_task(const AttentionParams& p, const Tiles& t, int64_t task, float* out, float* lse,
                  std::vector<float>& scratch) {
  // task = (b * Hkv + hk) * nq + qb: one query block of the G query heads that read key/value
  // head hk (G = 1 in the head layout, where Hkv = H).
  const int64_t G = p.H / p.Hkv;
  const int64_t bhk = task / t.nq;
  const int64_t qb = task % t.nq;
  const int64_t b = bhk / p.Hkv;
  const int64_t hk = bhk % p.Hkv;
  const int64_t mb = p.maskBatch == 1 ? 0 : b;
  const int64_t Dh = p.Dh;
  const int64_t i0 = qb * p.blockQ;
  const int64_t rows = std::min(p.blockQ, p.Tq - i0);
  const int64_t bk = p.blockK;
  const int64_t bkp = padded16(bk);
  const bool row_layout = p.qSlots != nullptr;
  // With the row layout, the query tile and the key and value tiles are copied into the head
  // layout's form first (qt; ktiles and vtiles, each tile copied once for the G query heads).
  const int64_t copies = row_layout ? rows * Dh + 2 * t.nk * bk * Dh + t.nk : 0;
  scratch.resize(static_cast<size_t>(Dh * bkp + rows * bkp + rows * (Dh + 2) + copies));
  float* kt = scratch.data();
  float* s = kt + Dh * bkp;  // [rows, ld] scores, then weights (the first cols of each row)
  float* acc = s + rows * bkp;
  float* m = acc + rows * Dh;
  float* l = m + rows;
  float* qt = l + rows;
  float* ktiles = qt + rows * Dh;
  float* vtiles = ktiles + t.nk * bk * Dh;
  // Row layout: 1 where key/value tile kb is copied already.
  float* copied = vtiles + t.nk * bk * Dh;
  if (row_layout) std::fill(copied, copied + t.nk, 0.0f);
  const float keep_scale = p.dropout > 0 ? static_cast<float>(1.0 / (1.0 - p.dropout)) : 1.0f;
  for (int64_t g = 0; g < G; g++) {
    const int64_t h = hk * G + g;
    const int64_t bh = b * p.H + h;
    std::fill(acc, acc + rows * Dh, 0.0f);
    std::fill(m, m + rows, kNegInf);
    std::fill(l, l + rows, 0.0f);
    if (row_layout) gather_head(p.q, p.qSlots, p.Tq, p.H, Dh, b, h, i0, rows, qt);
    const float* qbase = row_layout ? qt : p.q + (bh * p.Tq + i0) * Dh;
    for (int64_t kb = 0; kb < t.nk; kb++) {
      const uint8_t cls = tile_class(p, t, mb, qb, kb);
      if (cls == 0) continue;
      const int64_t j0 = kb * bk;
      const int64_t tile_cols = std::min(bk, p.Tk - j0);
      // Rows past `live` attend to nothing here (their m, l and sums stay as they are), and keys
      // past `cols` are attended by no row. The scores are computed the tile's full width ld
      // (a narrower product need not round alike), the rest stops at `cols`.
      int64_t live = rows, cols = tile_cols;
      if (cls == 2 && p.skipBlocks &&
          !live_extent(p.attend + (mb * p.Tq + i0) * p.Tk + j0, p.Tk, rows, tile_cols, live, cols))
        continue;
      float* ktile = ktiles + kb * bk * Dh;
      float* vtile = vtiles + kb * bk * Dh;
      if (row_layout && copied[kb] == 0.0f) {
        gather_head(p.k, p.kSlots, p.Tk, p.Hkv, Dh, b, hk, j0, tile_cols, ktile);
        gather_head(p.v, p.kSlots, p.Tk, p.Hkv, Dh, b, hk, j0, tile_cols, vtile);
        copied[kb] = 1.0f;
      }
      const float* kp = row_layout ? ktile : p.k + (bh * p.Tk + j0) * Dh;
      const float* vp = row_layout ? vtile : p.v + (bh * p.Tk + j0) * Dh;
      const int64_t ld = padded16(tile_cols);
      transpose_tile(kp, Dh, tile_cols, ld, kt);
      small_product(live, ld, Dh, p.scale, qbase, Dh, false, kt, ld, s, ld, false);
      for (int64_t r = 0; r < live; r++) {
        const int64_t i = i0 + r;
        float* sr = s + r * ld;
        if (const float* br = bias_row(p, bh, i))
          for (int64_t c = 0; c < cols; c++) sr[c] += br[j0 + c];
        if (cls == 2) {
          const uint8_t* att = p.attend + (mb * p.Tq + i) * p.Tk + j0;
          for (int64_t c = 0; c < cols; c++)
            if (!att[c]) sr[c] = kNegInf;
        }
        const float bmax = row_max(sr, cols);
        // A row with nothing to attend in this tile adds nothing: weights 0, m and l unchanged.
        if (bmax == kNegInf) {
          std::fill(sr, sr + cols, 0.0f);
          continue;
        }
        const float mnew = std::max(m[r], bmax);
        const float corr = m[r] == kNegInf ? 0.0f : exp_nonpositive(m[r] - mnew);
        const float sum = exp_row(sr, cols, mnew);
        l[r] = l[r] * corr + sum;
        m[r] = mnew;
        if (p.dropout > 0) {
          const uint64_t base = static_cast<uint64_t>((bh * p.Tq + i) * p.Tk + j0);
          for (int64_t c = 0; c < cols; c++)
            sr[c] = attention_keep(p.seed, base + c, p.dropout) ? sr[c] * keep_scale : 0.0f;
        }
        float* a = acc + r * Dh;
        if (corr != 1.0f)
          for (int64_t d = 0; d < Dh; d++) a[d] *= corr;
      }
      small_product(live, Dh, cols, 1.0f, s, ld, false, vp, Dh, acc, Dh, true);
    }
    for (int64_t r = 0; r < rows; r++) {
      const int32_t at = row_layout ? p.qSlots[b * p.Tq + i0 + r] : 0;
      float* o = !row_layout ? out + (bh * p.Tq + i0 + r) * Dh
                 : at < 0    ? nullptr
                             : out + (at * p.H + h) * Dh;
      if (o == nullptr) {
        // A position without a row: only its lse is kept.
        lse[bh * p.Tq + i0 + r] = l[r] == 0.0f ? kNegInf : m[r] + std::log(l[r]);
      } else if (l[r] == 0.0f) {
        std::fill(o, o + Dh, 0.0f);
        lse[bh * p.Tq + i0 + r] = kNegInf;
      } else {
        const float inv = 1.0f / l[r];
        for (int64_t d = 0; d < Dh; d++) o[d] = acc[r * Dh + d] * inv;
        lse[bh * p.Tq + i0 + r] = m[r] + std::log(l[r]);
      }
    }
  }
}

/**
 * The gradients of one (b, h) in the head layout's form: adds into dqh [Tq, Dh], dkh and dvh
 * [Tk, Dh] (and dbias), walking every tile the mask leaves. s, dp, D, kt and vt are scratch.
 */
MW_INLINE void backward_head(const AttentionParams& p, const Tiles& t, int64_t mb, int64_t bh,
                             const float* qh, const float* kh, const float* vh, const float* oh,
                             const float* gh, float* dqh, float* dkh, float* dvh, float* dbias,
                             const float* lse, float* s, float* dp, float* D, float* kt, float* vt,
                             float keep_scale) {
  const int64_t Dh = p.Dh;
  const int64_t bq = p.blockQ;
  const int64_t bk = p.blockK;
  for (int64_t i = 0; i < p.Tq; i++) {
    const float* o = oh + i * Dh;
    const float* g = gh + i * Dh;
    float acc = 0.0f;
    for (int64_t d = 0; d < Dh; d++) acc += o[d] * g[d];
    D[i] = acc;
  }
  for (int64_t kb = 0; kb < t.nk; kb++) {
    const int64_t j0 = kb * bk;
    const int64_t tile_cols = std::min(bk, p.Tk - j0);
    const int64_t ld = padded16(tile_cols);
    const float* kp = kh + j0 * Dh;
    const float* vp = vh + j0 * Dh;
    float* dkp = dkh + j0 * Dh;
    float* dvp = dvh + j0 * Dh;
    bool packed = false;
    for (int64_t qb = 0; qb < t.nq; qb++) {
      const uint8_t cls = tile_class(p, t, mb, qb, kb);
      if (cls == 0) continue;
      if (!packed) {
        transpose_tile(kp, Dh, tile_cols, ld, kt);
        transpose_tile(vp, Dh, tile_cols, ld, vt);
        packed = true;
      }
      const int64_t i0 = qb * bq;
      int64_t rows = std::min(bq, p.Tq - i0);
      // The tile's live extent: keys past `cols` get no gradient from it, queries past `rows`
      // none either (the scores and dout v^T are still computed ld wide, as in the forward).
      int64_t cols = tile_cols;
      if (cls == 2 && p.skipBlocks &&
          !live_extent(p.attend + (mb * p.Tq + i0) * p.Tk + j0, p.Tk, rows, tile_cols, rows,
                       cols))
        continue;
      const float* qi = qh + i0 * Dh;
      const float* gi = gh + i0 * Dh;
      small_product(rows, ld, Dh, p.scale, qi, Dh, false, kt, ld, s, ld, false);
      small_product(rows, ld, Dh, 1.0f, gi, Dh, false, vt, ld, dp, ld, false);
      for (int64_t r = 0; r < rows; r++) {
        const int64_t i = i0 + r;
        float* sr = s + r * ld;
        float* dr = dp + r * ld;
        const float L = lse[bh * p.Tq + i];
        if (L == kNegInf) {  // nothing attended: zero gradient
          std::fill(sr, sr + cols, 0.0f);
          std::fill(dr, dr + cols, 0.0f);
          continue;
        }
        if (const float* br = bias_row(p, bh, i))
          for (int64_t c = 0; c < cols; c++) sr[c] += br[j0 + c];
        if (cls == 2) {
          const uint8_t* att = p.attend + (mb * p.Tq + i) * p.Tk + j0;
          for (int64_t c = 0; c < cols; c++)
            if (!att[c]) sr[c] = kNegInf;
        }
        exp_row(sr, cols, L);
        // sr holds p_ij; ds_ij = p_ij (dp_ij * keep - D_i) * scale, and p~ = p * keep. The
        // bias's gradient is ds_ij before the scale: the scale multiplies q k^T only.
        if (dbias != nullptr) {
          float* __restrict gb = dbias + (bias_row(p, bh, i) - p.bias) + j0;
          if (p.dropout > 0) {
            const uint64_t base = static_cast<uint64_t>((bh * p.Tq + i) * p.Tk + j0);
            for (int64_t c = 0; c < cols; c++) {
              const float kf = attention_keep(p.seed, base + c, p.dropout) ? keep_scale : 0.0f;
              const float g = sr[c] * (dr[c] * kf - D[i]);
              gb[c] += g;
              dr[c] = g * p.scale;
              sr[c] *= kf;
            }
          } else {
            const float Di = D[i];
            for (int64_t c = 0; c < cols; c++) {
              const float g = sr[c] * (dr[c] - Di);
              gb[c] += g;
              dr[c] = g * p.scale;
            }
          }
        } else if (p.dropout > 0) {
          const uint64_t base = static_cast<uint64_t>((bh * p.Tq + i) * p.Tk + j0);
          for (int64_t c = 0; c < cols; c++) {
            const float kf = attention_keep(p.seed, base + c, p.dropout) ? keep_scale : 0.0f;
            dr[c] = sr[c] * (dr[c] * kf - D[i]) * p.scale;
            sr[c] *= kf;
          }
        } else {
          for (int64_t c = 0; c < cols; c++) dr[c] = sr[c] * (dr[c] - D[i]) * p.scale;
        }
      }
      // dv_j += sum_i p~_ij dout_i;  dk_j += sum_i ds_ij q_i;  dq_i += sum_j ds_ij k_j
      small_product(cols, Dh, rows, 1.0f, s, ld, true, gi, Dh, dvp, Dh, true);
      small_product(cols, Dh, rows, 1.0f, dp, ld, true, qi, Dh, dkp, Dh, true);
      small_product(rows, Dh, cols, 1.0f, dp, ld, false, kp, Dh, dqh + i0 * Dh, Dh, true);
    }
  }
}

MW_CLONES
void backward_task(const AttentionParams& p, const Tiles& t, int64_t b, int64_t hk, int64_t g0,
                   int64_t g1, const float* out, const float* lse, const float* dout, float* dq,
                   float* dk, float* dv, float* dbias, bool accumulate, float* dk_head,
                   float* dv_head, std::vector<float>& scratch) {
  const int64_t mb = p.maskBatch == 1 ? 0 : b;
  const int64_t Dh = p.Dh;
  const int64_t bq = p.blockQ;
  const int64_t bk = p.blockK;
  const int64_t bkp = padded16(bk);
  const int64_t tile = bq * bkp;
  const int64_t Tq = p.Tq, Tk = p.Tk;
  const bool row_layout = p.qSlots != nullptr;
  // Query heads hk * G + g, g0 <= g < g1, read key/value head hk (G = 1 in the head layout).
  const int64_t G = p.H / p.Hkv;
  // With the row layout: each query head's q, out and dout [Tq, Dh] and the group's k and v
  // [Tk, Dh] copied into the head layout's form, and the three gradients gathered there, added
  // to the rows at the end: dq after each query head, dk and dv (summed over the query heads)
  // after the last, or, given dk_head and dv_head ([Tk, Dh], zeroed), left there.
  const int64_t copies = row_layout ? 4 * (Tq + Tk) * Dh : 0;
  scratch.resize(static_cast<size_t>(2 * Dh * bkp + 2 * tile + Tq + copies));
  float* kt = scratch.data();
  float* vt = kt + Dh * bkp;
  float* s = vt + Dh * bkp;  // [rows, ld]: scores, then p (p~ with dropout)
  float* dp = s + tile;      // [rows, ld]: dout v^T, then ds
  float* D = dp + tile;
  const float keep_scale = p.dropout > 0 ? static_cast<float>(1.0 / (1.0 - p.dropout)) : 1.0f;
  // (b, h)'s slices: [Tq, Dh] on the query side, [Tk, Dh] on the key side.
  const float *qh = nullptr, *kh = nullptr, *vh = nullptr, *oh = nullptr, *gh = nullptr;
  float *dqh = nullptr, *dkh = nullptr, *dvh = nullptr;
  float* q_copies = D + Tq;  // row layout: qh, oh, gh, dqh
  if (row_layout) {
    float* c = q_copies + 4 * Tq * Dh;
    gather_head(p.k, p.kSlots, Tk, p.Hkv, Dh, b, hk, 0, Tk, c);
    gather_head(p.v, p.kSlots, Tk, p.Hkv, Dh, b, hk, 0, Tk, c + Tk * Dh);
    kh = c;
    vh = c + Tk * Dh;
    if (dk_head != nullptr) {
      dkh = dk_head;
      dvh = dv_head;
    } else {
      dkh = c + 2 * Tk * Dh;
      dvh = c + 3 * Tk * Dh;
      std::fill(dkh, dkh + Tk * Dh, 0.0f);
      std::fill(dvh, dvh + Tk * Dh, 0.0f);
    }
  }
  for (int64_t g = g0; g < g1; g++) {
    const int64_t h = hk * G + g;
    const int64_t bh = b * p.H + h;
    if (!row_layout) {
      qh = p.q + bh * Tq * Dh;
      kh = p.k + bh * Tk * Dh;
      vh = p.v + bh * Tk * Dh;
      oh = out + bh * Tq * Dh;
      gh = dout + bh * Tq * Dh;
      dqh = dq + bh * Tq * Dh;
      dkh = dk + bh * Tk * Dh;
      dvh = dv + bh * Tk * Dh;
      if (!accumulate) {
        std::fill(dqh, dqh + Tq * Dh, 0.0f);
        std::fill(dkh, dkh + Tk * Dh, 0.0f);
        std::fill(dvh, dvh + Tk * Dh, 0.0f);
      }
    } else {
      float* c = q_copies;
      gather_head(p.q, p.qSlots, Tq, p.H, Dh, b, h, 0, Tq, c);
      gather_head(out, p.qSlots, Tq, p.H, Dh, b, h, 0, Tq, c + Tq * Dh);
      gather_head(dout, p.qSlots, Tq, p.H, Dh, b, h, 0, Tq, c + 2 * Tq * Dh);
      qh = c;
      oh = c + Tq * Dh;
      gh = c + 2 * Tq * Dh;
      dqh = c + 3 * Tq * Dh;
      std::fill(dqh, dqh + Tq * Dh, 0.0f);
    }
    backward_head(p, t, mb, bh, qh, kh, vh, oh, gh, dqh, dkh, dvh, dbias, lse, s, dp, D, kt,
                  vt, keep_scale);
    if (row_layout) scatter_head(dq, p.qSlots, Tq, p.H, Dh, b, h, 0, Tq, dqh, accumulate);
  }
  if (row_layout && dk_head == nullptr) {
    scatter_head(dk, p.kSlots, Tk, p.Hkv, Dh, b, hk, 0, Tk, dkh, accumulate);
    scatter_head(dv, p.kSlots, Tk, p.Hkv, Dh, b, hk, 0, Tk, dvh, accumulate);
  }
}

}  // namespace

bool attention_keep(uint32_t seed, uint64_t index, double dropout) {
  const uint32_t h = dropout_hash(seed, static_cast<uint32_t>(index));
  return static_cast<double>(h) / 4294967296.0 >= dropout;
}

void attention_forward(const AttentionParams& params, float* out, float* lse) {
  AttentionParams p = params;
  if (p.Hkv <= 0) p.Hkv = p.H;
  const Tiles t{ceil_div(p.Tq, p.blockQ), ceil_div(p.Tk, p.blockK)};
  const int64_t tasks = p.B * p.Hkv * t.nq;
  ThreadPool& pool = ThreadPool::instance();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.threads()));
  pool.parallel_for(tasks, [&](int64_t task, int thread) {
    forward_task(p, t, task, out, lse, scratch[static_cast<size_t>(thread)]);
  });
}

void attention_backward(const AttentionParams& p, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, float* dbias,
                        bool accumulate) {
  const Tiles t{ceil_div(p.Tq, p.blockQ), ceil_div(p.Tk, p.blockK)};
  ThreadPool& pool = ThreadPool::instance();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.threads()));
  const int64_t Hkv = p.Hkv > 0 ? p.Hkv : p.H;
  const int64_t G = p.H / Hkv;
  AttentionParams q = p;
  q.Hkv = Hkv;
  float* db = p.bias != nullptr ? dbias : nullptr;
  // Every batch row adds into the same bias gradient [H, Tq, Tk] when the bias is shared: then
  // one task per head walks the batch rows in turn.
  const bool shared_bias = db != nullptr && p.biasBatch == 1 && p.B > 1;
  // Grouped key/value heads (row layout): still a task per query head, each with its own
  // [Tk, Dh] gradients of its key/value head, summed per group in head order into the rows
  // afterwards. (A task per group would leave most threads idle with few key/value heads: one
  // task for multi-query attention on one sequence.) The same bits whatever the threads.
  const int64_t Tk = p.Tk, Dh = p.Dh;
  const size_t per_head = G > 1 ? static_cast<size_t>(Tk * Dh) : 0;
  std::vector<float> dk_heads(static_cast<size_t>(p.B * p.H) * per_head, 0.0f);
  std::vector<float> dv_heads(dk_heads.size(), 0.0f);
  const auto head = [&](int64_t b, int64_t h, int thread) {
    const size_t at = static_cast<size_t>(b * p.H + h) * per_head;
    backward_task(q, t, b, h / G, h % G, h % G + 1, out, lse, dout, dq, dk, dv, db, accumulate,
                  G > 1 ? dk_heads.data() + at : nullptr, G > 1 ? dv_heads.data() + at : nullptr,
                  scratch[static_cast<size_t>(thread)]);
  };
  if (shared_bias) {
    pool.parallel_for(p.H, [&](int64_t h, int thread) {
      for (int64_t b = 0; b < p.B; b++) head(b, h, thread);
    });
  } else {
    pool.parallel_for(p.B * p.H, [&](int64_t bh, int thread) { head(bh / p.H, bh % p.H, thread); });
  }
  if (G == 1) return;
  // dk and dv rows: the group's heads summed in order, written or added.
  pool.parallel_for(p.B * Hkv, [&](int64_t task, int) {
    const int64_t b = task / Hkv, hk = task % Hkv;
    for (int64_t tk = 0; tk < Tk; tk++) {
      const int32_t r = p.kSlots[b * Tk + tk];
      if (r < 0) continue;
      for (int which = 0; which < 2; which++) {
        const std::vector<float>& heads = which == 0 ? dk_heads : dv_heads;
        float* dst = (which == 0 ? dk : dv) + (r * Hkv + hk) * Dh;
        const float* first = heads.data() + static_cast<size_t>(b * p.H + hk * G) * per_head +
                             static_cast<size_t>(tk * Dh);
        for (int64_t e = 0; e < Dh; e++) {
          float sum = first[e];
          for (int64_t g = 1; g < G; g++) sum += first[static_cast<size_t>(g) * per_head + e];
          dst[e] = accumulate ? dst[e] + sum : sum;
        }
      }
    }
  });
}

}  // namespace mw
