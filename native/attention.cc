// Fused attention on the CPU, FlashAttention-style (Dao et al.): the work is cut into tiles of
// blockQ queries x blockK keys, the tile classes of the mask's block map decide what is computed,
// and the softmax is streamed (online) so no [Tq, Tk] score matrix is stored.
//
// Forward: one task per (b, h, query block); per tile the scores come from a transposed copy of
// the key tile (so the inner loop runs over keys, contiguous, and vectorises), masked only in
// mixed tiles, then folded into the running maximum m, normaliser l and value sum of each row.
// Backward (FlashAttention-2's recomputation): one task per (b, h), walking all its tiles, so the
// gradients of q, k and v accumulate without any two threads touching the same row.
//   p = exp(s * scale - lse);  D_i = dout_i . out_i;  dv_j += p~_ij dout_i;
//   ds_ij = p_ij (dp_ij - D_i) * scale;  dq_i += ds_ij k_j;  dk_j += ds_ij q_i
// With skipBlocks off, every tile is computed whole, masked elements included (their weights come
// out exactly 0): the cost of a fused kernel that is not mask-aware, for benchmarks and checks.
// exp is a polynomial with exact range reduction (within 2 ulp on [-87, 88]); exp of a masked or
// far-below-maximum score is exactly 0.
#include "attention.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "fastexp.h"
#include "threadpool.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MW_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MW_CLONES
#endif

namespace mw {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// e^x for x <= 0 (the only arguments here; -inf for masked scores gives exactly 0): the shared
// branch-free polynomial exp, so the loops vectorise.
inline float exp_nonpositive(float x) { return mw::fast_exp(x); }

inline uint32_t fmix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Tiles {
  int64_t nq, nk;
};

inline uint8_t tile_class(const AttentionParams& p, const Tiles& t, int64_t mb, int64_t qb,
                          int64_t kb) {
  if (!p.skipBlocks) return 2;
  return p.blocks[(mb * t.nq + qb) * t.nk + kb];
}

/** kt[d * cols + c] = k[j0 + c][d]: the tile transposed, so score loops run over keys. */
inline void transpose_tile(const float* k, int64_t Dh, int64_t cols, float* kt) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t d = 0; d < Dh; d++) kt[d * cols + c] = k[c * Dh + d];
}

/** s[c] = scale * sum_d q[d] * kt[d][c] */
inline void scores_row(const float* __restrict q, const float* __restrict kt, int64_t Dh,
                       int64_t cols, float scale, float* __restrict s) {
  for (int64_t c = 0; c < cols; c++) s[c] = 0.0f;
  for (int64_t d = 0; d < Dh; d++) {
    const float qd = q[d] * scale;
    const float* row = kt + d * cols;
    for (int64_t c = 0; c < cols; c++) s[c] += qd * row[c];
  }
}

/**
 * y[d] += a * x[d]. The restrict qualifiers matter: a loop updating three rows through six
 * unqualified pointers needs more run-time overlap checks than GCC will emit, and stays scalar.
 */
inline void axpy(float* __restrict y, const float* __restrict x, float a, int64_t n) {
  for (int64_t d = 0; d < n; d++) y[d] += a * x[d];
}

MW_CLONES
void forward_task(const AttentionParams& p, const Tiles& t, int64_t task, float* out, float* lse,
                  std::vector<float>& scratch) {
  const int64_t bh = task / t.nq;
  const int64_t qb = task % t.nq;
  const int64_t b = bh / p.H;
  const int64_t mb = p.maskBatch == 1 ? 0 : b;
  const int64_t Dh = p.Dh;
  const int64_t i0 = qb * p.blockQ;
  const int64_t rows = std::min(p.blockQ, p.Tq - i0);
  const int64_t bk = p.blockK;
  scratch.resize(static_cast<size_t>(Dh * bk + bk + rows * (Dh + 2)));
  float* kt = scratch.data();
  float* s = kt + Dh * bk;
  float* acc = s + bk;
  float* m = acc + rows * Dh;
  float* l = m + rows;
  std::fill(acc, acc + rows * Dh, 0.0f);
  std::fill(m, m + rows, kNegInf);
  std::fill(l, l + rows, 0.0f);
  const float keep_scale = p.dropout > 0 ? 1.0f / (1.0f - p.dropout) : 1.0f;
  const float* qbase = p.q + (bh * p.Tq + i0) * Dh;
  for (int64_t kb = 0; kb < t.nk; kb++) {
    const uint8_t cls = tile_class(p, t, mb, qb, kb);
    if (cls == 0) continue;
    const int64_t j0 = kb * bk;
    const int64_t cols = std::min(bk, p.Tk - j0);
    const float* kp = p.k + (bh * p.Tk + j0) * Dh;
    const float* vp = p.v + (bh * p.Tk + j0) * Dh;
    transpose_tile(kp, Dh, cols, kt);
    for (int64_t r = 0; r < rows; r++) {
      const int64_t i = i0 + r;
      scores_row(qbase + r * Dh, kt, Dh, cols, p.scale, s);
      if (cls == 2) {
        const uint8_t* att = p.attend + (mb * p.Tq + i) * p.Tk + j0;
        for (int64_t c = 0; c < cols; c++)
          if (!att[c]) s[c] = kNegInf;
      }
      float bmax = kNegInf;
      for (int64_t c = 0; c < cols; c++) bmax = std::max(bmax, s[c]);
      // Mask-aware: a row with nothing to attend in this tile is done. Without skipping the row
      // is computed through (every weight comes out exactly 0, and m stays -inf).
      if (bmax == kNegInf && p.skipBlocks) continue;
      const float mnew = std::max(m[r], bmax);
      const float corr = m[r] == kNegInf ? 0.0f : exp_nonpositive(m[r] - mnew);
      float sum = 0.0f;
      for (int64_t c = 0; c < cols; c++) {
        s[c] = exp_nonpositive(s[c] - mnew);
        sum += s[c];
      }
      l[r] = l[r] * corr + sum;
      m[r] = mnew;
      if (p.dropout > 0) {
        const uint64_t base = static_cast<uint64_t>((bh * p.Tq + i) * p.Tk + j0);
        for (int64_t c = 0; c < cols; c++)
          s[c] = attention_keep(p.seed, base + c, p.dropout) ? s[c] * keep_scale : 0.0f;
      }
      float* a = acc + r * Dh;
      if (corr != 1.0f)
        for (int64_t d = 0; d < Dh; d++) a[d] *= corr;
      for (int64_t c = 0; c < cols; c++) {
        const float w = s[c];
        if (w == 0.0f && p.skipBlocks) continue;
        axpy(a, vp + c * Dh, w, Dh);
      }
    }
  }
  for (int64_t r = 0; r < rows; r++) {
    float* o = out + (bh * p.Tq + i0 + r) * Dh;
    if (l[r] == 0.0f) {
      std::fill(o, o + Dh, 0.0f);
      lse[bh * p.Tq + i0 + r] = kNegInf;
    } else {
      const float inv = 1.0f / l[r];
      for (int64_t d = 0; d < Dh; d++) o[d] = acc[r * Dh + d] * inv;
      lse[bh * p.Tq + i0 + r] = m[r] + std::log(l[r]);
    }
  }
}

MW_CLONES
void backward_task(const AttentionParams& p, const Tiles& t, int64_t bh, const float* out,
                   const float* lse, const float* dout, float* dq, float* dk, float* dv,
                   std::vector<float>& scratch) {
  const int64_t b = bh / p.H;
  const int64_t mb = p.maskBatch == 1 ? 0 : b;
  const int64_t Dh = p.Dh;
  const int64_t bk = p.blockK;
  scratch.resize(static_cast<size_t>(2 * Dh * bk + 3 * bk + p.Tq));
  float* kt = scratch.data();
  float* vt = kt + Dh * bk;
  float* s = vt + Dh * bk;
  float* dp = s + bk;
  float* ds = dp + bk;
  float* D = ds + bk;
  const float keep_scale = p.dropout > 0 ? 1.0f / (1.0f - p.dropout) : 1.0f;
  for (int64_t i = 0; i < p.Tq; i++) {
    const float* o = out + (bh * p.Tq + i) * Dh;
    const float* g = dout + (bh * p.Tq + i) * Dh;
    float acc = 0.0f;
    for (int64_t d = 0; d < Dh; d++) acc += o[d] * g[d];
    D[i] = acc;
  }
  for (int64_t kb = 0; kb < t.nk; kb++) {
    const int64_t j0 = kb * bk;
    const int64_t cols = std::min(bk, p.Tk - j0);
    const float* kp = p.k + (bh * p.Tk + j0) * Dh;
    const float* vp = p.v + (bh * p.Tk + j0) * Dh;
    float* dkp = dk + (bh * p.Tk + j0) * Dh;
    float* dvp = dv + (bh * p.Tk + j0) * Dh;
    bool packed = false;
    for (int64_t qb = 0; qb < t.nq; qb++) {
      const uint8_t cls = tile_class(p, t, mb, qb, kb);
      if (cls == 0) continue;
      if (!packed) {
        transpose_tile(kp, Dh, cols, kt);
        transpose_tile(vp, Dh, cols, vt);
        packed = true;
      }
      const int64_t i0 = qb * p.blockQ;
      const int64_t rows = std::min(p.blockQ, p.Tq - i0);
      for (int64_t r = 0; r < rows; r++) {
        const int64_t i = i0 + r;
        const float L = lse[bh * p.Tq + i];
        if (L == kNegInf) continue;  // nothing attended: zero gradient
        const float* qi = p.q + (bh * p.Tq + i) * Dh;
        const float* gi = dout + (bh * p.Tq + i) * Dh;
        scores_row(qi, kt, Dh, cols, p.scale, s);
        scores_row(gi, vt, Dh, cols, 1.0f, dp);
        if (cls == 2) {
          const uint8_t* att = p.attend + (mb * p.Tq + i) * p.Tk + j0;
          for (int64_t c = 0; c < cols; c++)
            if (!att[c]) s[c] = kNegInf;
        }
        for (int64_t c = 0; c < cols; c++) s[c] = exp_nonpositive(std::min(s[c] - L, 0.0f));
        // s now holds p_ij; ds_ij = p_ij (dp_ij * keep - D_i) * scale, and p~ = p * keep.
        if (p.dropout > 0) {
          const uint64_t base = static_cast<uint64_t>((bh * p.Tq + i) * p.Tk + j0);
          for (int64_t c = 0; c < cols; c++) {
            const float kf = attention_keep(p.seed, base + c, p.dropout) ? keep_scale : 0.0f;
            ds[c] = s[c] * (dp[c] * kf - D[i]) * p.scale;
            s[c] *= kf;
          }
        } else {
          for (int64_t c = 0; c < cols; c++) ds[c] = s[c] * (dp[c] - D[i]) * p.scale;
        }
        float* dqi = dq + (bh * p.Tq + i) * Dh;
        for (int64_t c = 0; c < cols; c++) {
          const float w = s[c];
          const float x = ds[c];
          if (w == 0.0f && x == 0.0f && p.skipBlocks) continue;
          axpy(dvp + c * Dh, gi, w, Dh);
          axpy(dkp + c * Dh, qi, x, Dh);
          axpy(dqi, kp + c * Dh, x, Dh);
        }
      }
    }
  }
}

}  // namespace

bool attention_keep(uint32_t seed, uint64_t index, float dropout) {
  const uint32_t h = fmix(static_cast<uint32_t>(index) * 0x9e3779b1u + seed);
  return static_cast<double>(h) / 4294967296.0 >= static_cast<double>(dropout);
}

void attention_forward(const AttentionParams& p, float* out, float* lse) {
  const Tiles t{ceil_div(p.Tq, p.blockQ), ceil_div(p.Tk, p.blockK)};
  const int64_t tasks = p.B * p.H * t.nq;
  ThreadPool& pool = ThreadPool::instance();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.threads()));
  pool.parallel_for(tasks, [&](int64_t task, int thread) {
    forward_task(p, t, task, out, lse, scratch[static_cast<size_t>(thread)]);
  });
}

void attention_backward(const AttentionParams& p, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv) {
  const Tiles t{ceil_div(p.Tq, p.blockQ), ceil_div(p.Tk, p.blockK)};
  ThreadPool& pool = ThreadPool::instance();
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.threads()));
  pool.parallel_for(p.B * p.H, [&](int64_t bh, int thread) {
    backward_task(p, t, bh, out, lse, dout, dq, dk, dv, scratch[static_cast<size_t>(thread)]);
  });
}

}  // namespace mw
