// Kernels of incremental decoding (see DecodeAttentionArgs in src/tensor/backend.ts; the
// reference is src/backend/reference-decode.ts). Arguments arrive validated by decode_binding.cc.
#pragma once

#include <cstdint>

namespace mw {

struct DecodeAttentionParams {
  int64_t R, H, Dh;
  const float* q;  // [R, H, Dh]
  const float* k;  // [P, Hkv, capacity, Dh]
  const float* v;  // [P, Hkv, capacity, Dh]
  int64_t P, capacity, length;
  const int32_t* rows;   // [R], each in [0, P): the physical cache row of query row r
  const uint8_t* keep;   // [P, keepStride] ([R, ...] with slots), 1 = may attend; null = all
  int64_t keepStride;
  const int32_t* slots;  // [R, slotStride] or null: the physical row of each position instead
  int64_t slotStride;
  float scale;
  float* out;  // [R, H, Dh]
  const float* bias;  // or null: score j of head h adds bias[biasOffset + h * biasHeadStride + j]
  int64_t biasOffset, biasHeadStride;
  int64_t Hkv;  // heads of the cache; query head h reads kv head h / (H / Hkv) (H % Hkv == 0)
};

/**
 * out[r, h] = softmax over kept j < length of scale * q[r, h] . k[row(r, j), h / (H / Hkv), j] (+ the bias),
 * times v, with row(r, j) = slots[r * slotStride + j] when slots is given, else rows[r].
 */
void decode_attention(const DecodeAttentionParams& p);

/** In-place log-softmax of each row of x [rows, cols] (next-token log-probabilities). */
void decode_log_softmax(float* x, int64_t rows, int64_t cols);

/**
 * The best M continuations (hypothesis h < n, token j < V) by base[h] + lp[rows[h], j], skipping
 * -inf; ties go to the lower token, then the earlier hypothesis. Writes them sorted into hyp,
 * token and score [M]; returns how many there are (< M when fewer are allowed).
 */
int64_t decode_top_k(const float* lp, int64_t V, const int32_t* rows, const double* base,
                     int64_t n, int64_t M, int32_t* hyp, int32_t* token, double* score);

/**
 * decode_top_k for G groups at once (beam search's sentences, greedy's rows), on the thread
 * pool: group g is hypotheses offsets[g] .. offsets[g + 1] - 1 (rows and base at those indices);
 * its best M go to hyp, token and score at g * M (hyp counted within the group), their number
 * to counts[g]. The same results as one decode_top_k call per group.
 */
void decode_top_k_groups(const float* lp, int64_t V, const int32_t* rows, const double* base,
                         const int32_t* offsets, int64_t G, int64_t M, int32_t* hyp,
                         int32_t* token, double* score, int32_t* counts);

/**
 * The KV-cache append (CacheWriteArgs): for b < B, t < T, h < H, the Dh floats of
 * src[(b * T + t) * srcStride + h * Dh] go to dst[((b * H + h) * capacity + t0 + t) * Dh]
 * (dst [P >= B, H, capacity, Dh]). src points at the first source row's keys or values; the
 * ranges read and written do not overlap.
 */
void cache_write(const float* src, int64_t srcStride, float* dst, int64_t B, int64_t T,
                 int64_t H, int64_t Dh, int64_t capacity, int64_t t0);

}  // namespace mw
