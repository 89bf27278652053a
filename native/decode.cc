// Attention of one new query per row on a KV cache, the inner step of incremental decoding (see
// DecodeAttentionArgs in src/tensor/backend.ts; the reference is src/backend/reference-decode.ts).
// The cache is read where it lies, [P, Hkv, capacity, Dh] with `length` positions filled (Hkv = H
// unless grouped-query attention shares each kv head among H / Hkv query heads), through a
// row map (beams that share a prefix, or a source shared by every beam of a sentence, are one
// physical row), so nothing is copied, split into heads or concatenated per step. Per (row, head)
// the scores fit in a small scratch array (length <= capacity), so plain two-pass softmax is
// used: scores and their maximum, then exp-weighted values. Batched decoding (many sentences
// and beams, longer sources) gives enough (row, kv head) pairs to share among the pool's threads;
// a single sentence's step on a span shorter than 64 positions stays on the calling thread.
#include "decode.h"

#include "simd.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "gemm.h"
#include "decode_simd.h"
#include "reduce16.h"
#include "threadpool.h"

#define MW_AVX512 MW_TARGET("avx512f,avx512vl,avx512dq,fma")

namespace mw {
namespace {

MW_AVX512 float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t d = 0;
  for (; d + 32 <= n; d += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + d), _mm512_loadu_ps(b + d), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + d + 16), _mm512_loadu_ps(b + d + 16), s1);
  }
  for (; d < n; d += 16) {
    const __mmask16 m =
        n - d >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - d)) - 1u);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + d), _mm512_maskz_loadu_ps(m, b + d), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

float dot_portable(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t d = 0; d < n; d++) s += a[d] * b[d];
  return s;
}

// e^x for x <= 0 (x - max of a row), 16 lanes: 2^n * e^r with n = round(x / ln 2) and
// r = x - n ln 2 in two parts (Cody-Waite), e^r by its degree-6 Taylor polynomial on
// |r| <= ln 2 / 2 (relative error ~2e-7, a float's rounding). x below -104 gives 0.
MW_AVX512 inline __m512 exp_nonpositive(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

}  // namespace

namespace {

// Query head h of query row r, its own two-pass softmax (s: scratch of `length` scores). Every
// output element depends only on (r, h) and is computed the same way whichever thread runs it,
// so the threaded split gives the single-threaded bits.
void decode_attention_head(const DecodeAttentionParams& p, bool simd, int64_t r, int64_t h,
                           float* s) {
  const int64_t Dh = p.Dh;
  // Position j of a query row lives in physical row row(j): one row for all (rows[r]), or a
  // row per position (slots). Elements of row pr, kv head hk, position j start at
  // ((pr * Hkv + hk) * capacity + j) * Dh; query head h reads kv head h / G (grouped-query
  // attention, G query heads per kv head; G = 1 for plain multi-head attention).
  const int64_t head = p.capacity * Dh;
  const int64_t prow = p.Hkv * head;
  const int64_t hk = h / (p.H / p.Hkv);
  const int64_t pr = p.rows[r];
  const int32_t* slot = p.slots != nullptr ? p.slots + r * p.slotStride : nullptr;
  auto row = [&](int64_t j) -> int64_t { return slot != nullptr ? slot[j] : pr; };
  // keep belongs to the physical row, or with slots to the query row (the hypothesis).
  const uint8_t* keep = p.keep == nullptr ? nullptr
                        : p.keep + (slot != nullptr ? r : pr) * p.keepStride;
  auto kept = [&](int64_t j) { return keep == nullptr || keep[j] != 0; };
  const float* kb = p.k + hk * head;
  const float* vb = p.v + hk * head;
  const float* q = p.q + (r * p.H + h) * Dh;
  float* o = p.out + (r * p.H + h) * Dh;
  // The position bias of this head (shared by every row); a -inf entry weighs exactly 0.
  const float* bias = p.bias != nullptr ? p.bias + p.biasOffset + h * p.biasHeadStride : nullptr;
  float m = -INFINITY;
  for (int64_t j = 0; j < p.length; j++) {
    if (!kept(j)) continue;
    const float* kj = kb + row(j) * prow + j * Dh;
    const float d = simd ? dot_avx512(q, kj, Dh) : dot_portable(q, kj, Dh);
    s[j] = bias != nullptr ? d * p.scale + bias[j] : d * p.scale;
    if (s[j] > m) m = s[j];  // a NaN score is not a maximum, but it poisons the sum below
  }
  for (int64_t d = 0; d < Dh; d++) o[d] = 0.0f;
  if (m == -INFINITY) return;  // nothing to attend to: 0
  float l = 0.0f;
  for (int64_t j = 0; j < p.length; j++) {
    if (!kept(j)) continue;
    const float e = std::exp(s[j] - m);
    l += e;
    const float* v = vb + row(j) * prow + j * Dh;
    for (int64_t d = 0; d < Dh; d++) o[d] += e * v[d];
  }
  const float inv = 1.0f / l;
  for (int64_t d = 0; d < Dh; d++) o[d] *= inv;
}

// Query row r against kv head hk: the G = H / Hkv query heads that read it.
void decode_attention_unit(const DecodeAttentionParams& p, bool simd, int64_t r, int64_t hk) {
  thread_local std::vector<float> scores;
  if (static_cast<int64_t>(scores.size()) < p.length) scores.resize(p.length);
  const int64_t G = p.H / p.Hkv;
  for (int64_t h = hk * G; h < (hk + 1) * G; h++) decode_attention_head(p, simd, r, h, scores.data());
}

// Lanes [0, n) of 16 (none for n <= 0).
inline __mmask16 lanes16(int64_t n) {
  return n <= 0 ? static_cast<__mmask16>(0)
                : n >= 16 ? static_cast<__mmask16>(0xffff)
                          : static_cast<__mmask16>((1u << n) - 1u);
}

// The scores of one query head, 16 positions at a time (Dh a multiple of 16, at most 128): the
// query held in registers, one vector of products per position, reduce16 for the 16 dot
// products, then scale, bias, keep mask (-Infinity) and the running maximum on the vector. Keys
// of positions the mask leaves out are read too where their block of 16 holds a kept one (the
// cache holds every position below `length`), and their scores replaced; a block with none kept
// is skipped. Returns whether a kept score is NaN or +Infinity.
// NQ = Dh / 16 query vectors, a compile-time count: the query and the 16 accumulators stay in
// registers (with a run-time count both went to the stack and back for every 16 positions).
template <int NQ>
MW_AVX512 bool scores_by16_n(const DecodeAttentionParams& p, const float* q, const float* kb,
                             int64_t pr, int64_t prow, const int32_t* slot, const uint8_t* keep,
                             const float* bias, float* s, float& max, int64_t lo, int64_t hi) {
  const int64_t Dh = p.Dh;
  __m512 qv[NQ];
#pragma GCC unroll 8
  for (int c = 0; c < NQ; c++) qv[c] = _mm512_loadu_ps(q + 16 * c);
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  const __m512 pinf = _mm512_set1_ps(INFINITY);
  const __m512 scale = _mm512_set1_ps(p.scale);
  __m512 mv = ninf;
  __mmask16 odd = 0;
  for (int64_t j0 = lo; j0 < hi; j0 += 16) {
    const int cnt = static_cast<int>(std::min<int64_t>(16, hi - j0));
    const __mmask16 in = lanes16(cnt);
    __mmask16 kept = in;
    if (keep != nullptr)
      for (int t = 0; t < cnt; t++)
        if (keep[j0 + t] == 0) kept &= static_cast<__mmask16>(~(1u << t));
    if (kept == 0) {
      // A block the mask leaves out whole (a sentence that joined a running batch later than
      // others started, padding): its keys are not read.
      _mm512_mask_storeu_ps(s + j0, in, ninf);
      continue;
    }
    __m512 acc[16];
#pragma GCC unroll 16
    for (int t = 0; t < 16; t++) {
      if (t >= cnt) {
        acc[t] = _mm512_setzero_ps();
        continue;
      }
      const int64_t j = j0 + t;
      const float* kj = kb + (slot != nullptr ? slot[j] : pr) * prow + j * Dh;
      __m512 a = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kj));
#pragma GCC unroll 8
      for (int c = 1; c < NQ; c++) a = _mm512_fmadd_ps(qv[c], _mm512_loadu_ps(kj + 16 * c), a);
      acc[t] = a;
    }
    __m512 x = _mm512_mul_ps(reduce16(acc), scale);
    if (bias != nullptr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(in, bias + j0));
    x = _mm512_mask_mov_ps(ninf, kept, x);
    _mm512_mask_storeu_ps(s + j0, in, x);
    odd |= _mm512_mask_cmp_ps_mask(kept, x, x, _CMP_UNORD_Q) |
           _mm512_mask_cmp_ps_mask(kept, x, pinf, _CMP_EQ_OQ);
    mv = _mm512_max_ps(x, mv);  // a NaN lane of x keeps mv's
  }
  max = _mm512_reduce_max_ps(mv);
  return odd != 0;
}

MW_AVX512 bool scores_by16(const DecodeAttentionParams& p, const float* q, const float* kb,
                           int64_t pr, int64_t prow, const int32_t* slot, const uint8_t* keep,
                           const float* bias, float* s, float& max, int64_t lo, int64_t hi) {
  switch (p.Dh / 16) {
    case 1: return scores_by16_n<1>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
    case 2: return scores_by16_n<2>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
    case 3: return scores_by16_n<3>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
    case 4: return scores_by16_n<4>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
    case 5: return scores_by16_n<5>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
    case 6: return scores_by16_n<6>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
    case 7: return scores_by16_n<7>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
    default: return scores_by16_n<8>(p, q, kb, pr, prow, slot, keep, bias, s, max, lo, hi);
  }
}

// The blocks of `width` positions from the first kept one's to the last kept one's: the blocks
// outside hold no kept position (their scores would be -Infinity, their weights exactly 0,
// adding nothing to a sum), so they are left out whole: a sentence that joined a running
// batch late, or a short source among longer ones, costs its own span only. [0, 0) when
// nothing is kept (every head's output is 0).
void kept_span(int64_t length, const uint8_t* keep, int64_t width, int64_t& lo, int64_t& hi) {
  lo = 0;
  hi = length;
  if (keep == nullptr) return;
  while (lo < hi && keep[lo] == 0) lo++;
  while (hi > lo && keep[hi - 1] == 0) hi--;
  if (lo == hi) {
    lo = hi = 0;
    return;
  }
  lo -= lo % width;
  hi = std::min<int64_t>(length, (hi + width - 1) / width * width);
}

// decode_attention_unit with 8 lanes (decode_avx2.cc), on CPUs with AVX2 but no AVX-512.
void decode_attention_unit_avx2(const DecodeAttentionParams& p, int64_t r, int64_t hk) {
  thread_local std::vector<float> scores;
  if (static_cast<int64_t>(scores.size()) < p.length + 8) scores.resize(p.length + 8);
  float* s = scores.data();
  const int64_t pr = p.rows[r];
  const uint8_t* keep = p.keep == nullptr ? nullptr
                        : p.keep + (p.slots != nullptr ? r : pr) * p.keepStride;
  int64_t lo, hi;
  kept_span(p.length, keep, 8, lo, hi);
  const int64_t G = p.H / p.Hkv;
  for (int64_t h = hk * G; h < (hk + 1) * G; h++)
    if (!decode_attention_head_avx2(p, r, h, lo, hi, s)) decode_attention_head(p, false, r, h, s);
}

// decode_attention_unit with 16 lanes: the same scores (dot_avx512), then e^(s - m) 16 scores at
// a time (exp_nonpositive, a float's rounding instead of std::exp's) and the weighted sum of
// values with Dh / 16 accumulators held in registers over the positions. A head whose scores
// hold a NaN or +Infinity takes the scalar path, which propagates them as the reference does.
MW_AVX512 void decode_attention_unit_avx512(const DecodeAttentionParams& p, int64_t r,
                                            int64_t hk) {
  thread_local std::vector<float> scores;
  if (static_cast<int64_t>(scores.size()) < p.length + 16) scores.resize(p.length + 16);
  float* s = scores.data();
  const int64_t Dh = p.Dh;
  const int64_t head = p.capacity * Dh;
  const int64_t prow = p.Hkv * head;
  const int64_t G = p.H / p.Hkv;
  const int64_t pr = p.rows[r];
  const int32_t* slot = p.slots != nullptr ? p.slots + r * p.slotStride : nullptr;
  const uint8_t* keep = p.keep == nullptr ? nullptr
                        : p.keep + (slot != nullptr ? r : pr) * p.keepStride;
  const float* kb = p.k + hk * head;
  const float* vb = p.v + hk * head;
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  int64_t lo, hi;
  kept_span(p.length, keep, 16, lo, hi);
  for (int64_t h = hk * G; h < (hk + 1) * G; h++) {
    const float* q = p.q + (r * p.H + h) * Dh;
    float* o = p.out + (r * p.H + h) * Dh;
    const float* bias = p.bias != nullptr ? p.bias + p.biasOffset + h * p.biasHeadStride : nullptr;
    float m = -INFINITY;
    bool odd = false;  // a NaN or +Infinity score
    if (Dh % 16 == 0 && Dh <= 128) {
      odd = scores_by16(p, q, kb, pr, prow, slot, keep, bias, s, m, lo, hi);
    } else {
      for (int64_t j = lo; j < hi; j++) {
        if (keep != nullptr && keep[j] == 0) {
          s[j] = -INFINITY;
          continue;
        }
        const float* kj = kb + (slot != nullptr ? slot[j] : pr) * prow + j * Dh;
        const float d = dot_avx512(q, kj, Dh);
        const float x = bias != nullptr ? d * p.scale + bias[j] : d * p.scale;
        s[j] = x;
        if (!(x < INFINITY) && x != -INFINITY) odd = true;
        if (x > m) m = x;
      }
    }
    if (odd) {
      decode_attention_head(p, true, r, h, s);
      continue;
    }
    if (m == -INFINITY) {  // nothing to attend to: 0
      for (int64_t d = 0; d < Dh; d++) o[d] = 0.0f;
      continue;
    }
    // e_j = e^(s_j - m), exactly 0 where s_j = -Infinity (masked, or a -Infinity bias).
    const __m512 mv = _mm512_set1_ps(m);
    __m512 lsum = _mm512_setzero_ps();
    for (int64_t j = lo; j < hi; j += 16) {
      const __mmask16 in = lanes16(hi - j);
      const __m512 x = _mm512_mask_loadu_ps(ninf, in, s + j);
      const __mmask16 live = _mm512_mask_cmp_ps_mask(in, x, ninf, _CMP_NEQ_OQ);
      const __m512 e = _mm512_maskz_mov_ps(live, exp_nonpositive(_mm512_sub_ps(x, mv)));
      _mm512_mask_storeu_ps(s + j, in, e);
      lsum = _mm512_add_ps(lsum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(lsum));
    // out = sum_j e_j v_j / l, 64 elements of the head at a time in four accumulators.
    for (int64_t d0 = 0; d0 < Dh; d0 += 64) {
      const __mmask16 m0 = lanes16(Dh - d0), m1 = lanes16(Dh - d0 - 16);
      const __mmask16 m2 = lanes16(Dh - d0 - 32), m3 = lanes16(Dh - d0 - 48);
      __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
      for (int64_t j = lo; j < hi; j++) {
        if (s[j] == 0.0f) continue;  // masked, or too small to count: its value is not read
        const float* v = vb + (slot != nullptr ? slot[j] : pr) * prow + j * Dh + d0;
        const __m512 e = _mm512_set1_ps(s[j]);
        a0 = _mm512_fmadd_ps(e, _mm512_maskz_loadu_ps(m0, v), a0);
        a1 = _mm512_fmadd_ps(e, _mm512_maskz_loadu_ps(m1, v + 16), a1);
        a2 = _mm512_fmadd_ps(e, _mm512_maskz_loadu_ps(m2, v + 32), a2);
        a3 = _mm512_fmadd_ps(e, _mm512_maskz_loadu_ps(m3, v + 48), a3);
      }
      _mm512_mask_storeu_ps(o + d0, m0, _mm512_mul_ps(a0, inv));
      _mm512_mask_storeu_ps(o + d0 + 16, m1, _mm512_mul_ps(a1, inv));
      _mm512_mask_storeu_ps(o + d0 + 32, m2, _mm512_mul_ps(a2, inv));
      _mm512_mask_storeu_ps(o + d0 + 48, m3, _mm512_mul_ps(a3, inv));
    }
  }
}

// Multiply-adds (keys and values, counted over the cache's whole length) from which a call is
// split between threads, in 4 chunks per thread claimed as threads get to them
// (parallel_chunks), since rows that joined at different steps read spans of different
// lengths. A greedy step of 21-32
// sentences on the Multi30k model (4 heads of 64, spans of about 20) is 100K-300K and stayed on
// one thread at the earlier 256K (contiguous halves): split, its attention took 265-314 ms of a
// 1,000-sentence `translate` against 353-396 (three runs each), with the same bits (each (row,
// head) is computed alone). As for the skinny products (gemm_skinny.cc), a worker descheduled
// while holding a chunk stalls the call; none showed in the runs above.
constexpr int64_t kDecodeSplit = int64_t{1} << 15;

// Values (log-probs) of the smallest share of decode_log_softmax and decode_top_k_groups: each
// value costs a few instructions, so shares are larger than the attention's.
constexpr int64_t kTopKGrain = 1 << 16;

}  // namespace

void decode_attention(const DecodeAttentionParams& p) {
  const Isa isa = gemm_isa();
  // Work units (query row, kv head): a batch of 32 sentences x 5 beams x 4 heads on 20
  // positions is ~1.6M multiply-adds.
  const int64_t units = p.R * p.Hkv;
  const int64_t perUnit = 2 * (p.H / p.Hkv) * p.length * p.Dh + 1;
  auto run = [&](int64_t lo, int64_t hi) {
    for (int64_t u = lo; u < hi; u++) {
      if (isa == Isa::avx512)
        decode_attention_unit_avx512(p, u / p.Hkv, u % p.Hkv);
      else if (isa == Isa::avx2)
        decode_attention_unit_avx2(p, u / p.Hkv, u % p.Hkv);
      else
        decode_attention_unit(p, false, u / p.Hkv, u % p.Hkv);
    }
  };
  if (units * perUnit >= kDecodeSplit)
    parallel_chunks(units, 1, run);
  else
    run(0, units);
}

}  // namespace mw

namespace mw {
namespace {

// One row with finite maximum m: the sum of e^(x - m) in double, 16 lanes at a time.
MW_AVX512 double sum_exp_avx512(const float* x, int64_t n, float m) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  const __m512 mv = _mm512_set1_ps(m);
  int64_t j = 0;
  for (; j < n; j += 16) {
    const __mmask16 k =
        n - j >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - j)) - 1u);
    // Lanes past the row end load 0, whose e^(0 - m) must not count: they are zeroed.
    const __m512 e = _mm512_maskz_mov_ps(k, exp_nonpositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), mv)));
    s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
    s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

inline __mmask16 first16(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1u);
}

// The row's maximum, NaN never counting (as `>` in the reference), and whether it holds a NaN.
MW_AVX512 float max_avx512(const float* x, int64_t n, bool& nan) {
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  __m512 m = ninf;
  __mmask16 bad = 0;
  for (int64_t j = 0; j < n; j += 16) {
    const __m512 v = _mm512_mask_loadu_ps(ninf, first16(n - j), x + j);
    bad |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    m = _mm512_max_ps(v, m);  // a NaN in v yields m's lane
  }
  nan = bad != 0;
  return _mm512_reduce_max_ps(m);
}

// x[j] = float(x[j] - lse), the difference taken in double as the reference takes it.
MW_AVX512 void subtract_avx512(float* x, int64_t n, double lse) {
  const __m512d l = _mm512_set1_pd(lse);
  for (int64_t j = 0; j < n; j += 8) {
    const __mmask8 k = n - j >= 8 ? static_cast<__mmask8>(0xff)
                                  : static_cast<__mmask8>((1u << (n - j)) - 1u);
    const __m512d v = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(k, x + j));
    _mm256_mask_storeu_ps(x + j, k, _mm512_cvtpd_ps(_mm512_sub_pd(v, l)));
  }
}

// One row of decode_log_softmax, in place: AVX-512 loops, the AVX2 ones of decode_avx2.cc, or
// scalar.
void log_softmax_row(float* row, int64_t cols, Isa isa) {
  const bool simd = isa != Isa::portable;
  const bool wide = isa == Isa::avx512;
  float m = -INFINITY;
  bool nan = false;
  if (simd) {
    m = wide ? max_avx512(row, cols, nan) : row_max_avx2(row, cols, nan);
  } else {
    for (int64_t j = 0; j < cols; j++) {
      if (row[j] > m) m = row[j];  // NaN is never a maximum (as Math.max is not used in JS)
      if (row[j] != row[j]) nan = true;
    }
  }
  // A NaN, or an infinite maximum, takes the exact path, which propagates them.
  double sum = 0;
  if (simd && std::isfinite(m) && !nan) {
    sum = wide ? sum_exp_avx512(row, cols, m) : sum_exp_avx2(row, cols, m);
  } else {
    for (int64_t j = 0; j < cols; j++) sum += std::exp(static_cast<double>(row[j]) - m);
  }
  const double lse = static_cast<double>(m) + std::log(sum);
  if (wide) {
    subtract_avx512(row, cols, lse);
  } else if (simd) {
    subtract_avx2(row, cols, lse);
  } else {
    for (int64_t j = 0; j < cols; j++) row[j] = static_cast<float>(row[j] - lse);
  }
}

}  // namespace

void decode_log_softmax(float* x, int64_t rows, int64_t cols) {
  const Isa isa = gemm_isa();
  // Rows are independent: shares of about kTopKGrain values each on the thread pool.
  const int64_t grain = std::max<int64_t>(1, kTopKGrain / std::max<int64_t>(1, cols));
  parallel_range(rows, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) log_softmax_row(x + r * cols, cols, isa);
  });
}

}  // namespace mw

namespace mw {

namespace {

// Lanes j < count of x with b + x[j] >= w, in double as the selection compares them: a block
// with none of them holds no candidate (each is below the worst kept score, or NaN), so the
// selection skips it without looking at its elements one by one.
MW_AVX512 __mmask8 reaching8(const float* x, int64_t count, double b, double w) {
  const __mmask8 in = count >= 8 ? static_cast<__mmask8>(0xff)
                                 : static_cast<__mmask8>((1u << count) - 1u);
  const __m512d s = _mm512_add_pd(_mm512_set1_pd(b), _mm512_cvtps_pd(_mm256_maskz_loadu_ps(in, x)));
  return _mm512_mask_cmp_pd_mask(in, s, _mm512_set1_pd(w), _CMP_GE_OQ);
}

// A float below every x with b + x >= w (the sum in double, as the selection compares): such an
// x satisfies x >= (w - b) - 2^-52 (|w - b| + |w|) whatever the two roundings; the margin here
// is 4 times that, and the result is rounded down to a float.
float reach_floor(double b, double w) {
  const double t = w - b;
  const double d = t - (std::fabs(t) + std::fabs(w)) * 0x1p-50;
  if (!(d >= -static_cast<double>(FLT_MAX))) return -INFINITY;
  if (d > static_cast<double>(FLT_MAX)) return INFINITY;
  float f = static_cast<float>(d);
  if (static_cast<double>(f) > d) f = std::nextafter(f, -INFINITY);
  return f;
}

}  // namespace

int64_t decode_top_k(const float* lp, int64_t V, const int32_t* rows, const double* base,
                     int64_t n, int64_t M, int32_t* hyp, int32_t* token, double* score) {
  // The best so far, sorted: score descending, then token ascending, then hypothesis order
  // (candidates arrive in hypothesis order, so an equal one never displaces an earlier one).
  int64_t count = 0;
  if (M <= 0) return 0;
  const Isa isa = gemm_isa();
  for (int64_t h = 0; h < n; h++) {
    const float* row = lp + static_cast<int64_t>(rows[h]) * V;
    const double b = base[h];
    auto consider = [&](int64_t j) {
      const float l = row[j];
      if (!(l > -INFINITY)) return;  // banned (-inf) or NaN: never a continuation
      const double s = b + static_cast<double>(l);
      if (count == M) {
        const double w = score[M - 1];
        if (s < w || (s == w && j >= token[M - 1])) return;
      }
      int64_t at = count < M ? count++ : M - 1;
      while (at > 0 && (s > score[at - 1] || (s == score[at - 1] && j < token[at - 1]))) {
        score[at] = score[at - 1];
        token[at] = token[at - 1];
        hyp[at] = hyp[at - 1];
        at--;
      }
      score[at] = s;
      token[at] = static_cast<int32_t>(j);
      hyp[at] = static_cast<int32_t>(h);
    };
    if (isa == Isa::portable || !std::isfinite(b)) {
      for (int64_t j = 0; j < V; j++) consider(j);
      continue;
    }
    // Once M are kept, almost every block of 8 lies below the worst of them. AVX2: the blocks
    // are tested in float against a floor made from the worst kept score (reach_floor), many
    // blocks a call; a block that reaches it has its elements compared exactly.
    if (isa == Isa::avx2) {
      double floor_w = NAN;  // the worst kept score the floor was made for
      float floor = -INFINITY;
      for (int64_t j0 = 0; j0 < V; j0 += 8) {
        if (count == M) {
          if (!(score[M - 1] == floor_w)) {
            floor_w = score[M - 1];
            floor = reach_floor(b, floor_w);
          }
          j0 = next_reaching_avx2(row, j0, V, floor);
          if (j0 >= V) break;
        }
        const int64_t end = std::min<int64_t>(j0 + 8, V);
        for (int64_t j = j0; j < end; j++) consider(j);
      }
      continue;
    }
    for (int64_t j0 = 0; j0 < V; j0 += 8) {
      const int64_t w = std::min<int64_t>(8, V - j0);
      if (count == M && reaching8(row + j0, w, b, score[M - 1]) == 0)
        continue;
      for (int64_t j = j0; j < j0 + w; j++) consider(j);
    }
  }
  return count;
}

void decode_top_k_groups(const float* lp, int64_t V, const int32_t* rows, const double* base,
                         const int32_t* offsets, int64_t G, int64_t M, int32_t* hyp,
                         int32_t* token, double* score, int32_t* counts) {
  // Groups are split into contiguous shares of about kTopKGrain log-probs read (a batch of
  // 32 sentences x 5 beams over V = 8000 is 1.3M); fewer stay on the calling thread.
  const int64_t n = G > 0 ? offsets[G] : 0;
  const int64_t perGroup = G > 0 ? std::max<int64_t>(1, n * V / G) : 1;
  const int64_t grain = std::max<int64_t>(1, kTopKGrain / perGroup);
  parallel_range(G, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t g = lo; g < hi; g++) {
      const int64_t o = offsets[g];
      counts[g] = static_cast<int32_t>(decode_top_k(lp, V, rows + o, base + o, offsets[g + 1] - o,
                                                    M, hyp + g * M, token + g * M, score + g * M));
    }
  });
}

// One memcpy per (row, position, head): Dh contiguous floats on both sides. On the calling
// thread: a step of batched beam search (B = 160 rows, H = 4 heads of Dh = 64) copies 160 KB,
// memory-bound work that more threads would shorten by little more than waking the pool costs.
void cache_write(const float* src, int64_t srcStride, float* dst, int64_t B, int64_t T,
                 int64_t H, int64_t Dh, int64_t capacity, int64_t t0) {
  const size_t run = static_cast<size_t>(Dh) * sizeof(float);
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      const float* row = src + (b * T + t) * srcStride;
      for (int64_t h = 0; h < H; h++)
        std::memcpy(dst + ((b * H + h) * capacity + t0 + t) * Dh, row + h * Dh, run);
    }
}

}  // namespace mw
