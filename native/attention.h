// Fused mask-aware attention (see AttentionArgs in src/tensor/backend.ts for the contract; the
// reference is src/backend/reference-attention.ts). Arguments arrive validated by addon.cc.
#pragma once

#include <cstdint>

namespace mw {

struct AttentionParams {
  int64_t B, H, Tq, Tk, Dh;
  const float* q;  // [B, H, Tq, Dh]
  const float* k;  // [B, H, Tk, Dh]
  const float* v;  // [B, H, Tk, Dh]
  const uint8_t* attend;  // [maskBatch, Tq, Tk], 1 = may attend
  int64_t maskBatch;      // B, or 1 for a mask shared by the batch
  const uint8_t* blocks;  // [maskBatch, ceil(Tq / blockQ), ceil(Tk / blockK)]: 0 none, 1 all, 2 mixed
  int64_t blockQ, blockK;
  float scale;
  bool skipBlocks;
  double dropout;  // compared with hashes in double, as the reference does
  uint32_t seed;
  const float* bias;  // [biasBatch, H, Tq, Tk] added to the scaled scores, or null
  int64_t biasBatch;  // B, or 1 for a bias shared by the batch
  // Row layout (unpadded training), or null slots for the head layout above: q is [qRows,
  // H * Dh] and k, v are [kRows, H * Dh]; position t of batch row b is row qSlots[b * Tq + t]
  // (kSlots[b * Tk + t] for keys), head h at columns h * Dh, or no row (-1: read as zeros, not
  // written). out, dout and dq take q's rows, dk and dv k's; lse stays [B, H, Tq].
  const int32_t* qSlots = nullptr;
  const int32_t* kSlots = nullptr;
  int64_t qRows = 0, kRows = 0;
  // Key/value heads (grouped-query attention, row layout only; H in the head layout): k and v
  // are [kRows, Hkv * Dh] and query head h reads kv head h / (H / Hkv); dk and dv sum the
  // gradients of the H / Hkv query heads of each group.
  int64_t Hkv = 0;
};

/** out [B, H, Tq, Dh] (or q's rows), lse [B, H, Tq] (-inf for a row with nothing to attend to). */
void attention_forward(const AttentionParams& p, float* out, float* lse);

/**
 * Accumulates into dq [B, H, Tq, Dh], dk and dv [B, H, Tk, Dh] (or, without `accumulate`,
 * writes them: each task zeroes its own rows first, in its own cache), and into dbias (the
 * bias's shape; summed over the batch when shared) unless it is null.
 */
void attention_backward(const AttentionParams& p, const float* out, const float* lse,
                        const float* dout, float* dq, float* dk, float* dv, float* dbias,
                        bool accumulate = true);

/** Whether attention dropout keeps element `index` (the same hash as src/tensor/backend.ts). */
bool attention_keep(uint32_t seed, uint64_t index, double dropout);

}  // namespace mw
