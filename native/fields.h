// The field names each binding accepts, per field-order group: a kernel of the same name, or
// "attention" (attentionForward and attentionBackward). Each group is an argument interface of
// src/tensor/backend.ts; src/backend/native.ts declares the order the fields travel in and
// gives it once (fieldOrder, native/args.h), which must name exactly these fields; the addon
// lists them (fieldNames) so that tests/backend/seam-names.test.ts compares them with
// native.ts's FIELD_ORDERS.
#pragma once

#include <vector>

namespace mw {

struct FieldGroup {
  const char* group;
  std::vector<const char*> names;
};

inline const std::vector<FieldGroup>& field_groups() {
  static const std::vector<FieldGroup> groups = {
      {"gemm",
       {"batch", "m", "n", "k", "transA", "transB", "alpha", "beta", "a", "aOffset", "lda",
        "strideA", "b", "bOffset", "ldb", "strideB", "c", "cOffset", "ldc", "strideC", "bf16", "bias", "relu", "rowSums"}},
      {"unary", {"op", "x", "out", "n"}},
      {"unaryBackward", {"op", "x", "y", "dy", "dx", "n", "accumulate"}},
      {"swiglu", {"gate", "up", "out", "n"}},
      {"swigluBackward",
       {"gate", "up", "dy", "dgate", "dup", "n", "accumulateGate", "accumulateUp"}},
      {"binary", {"op", "a", "aStrides", "b", "bStrides", "out", "shape"}},
      {"reduce", {"op", "x", "out", "outer", "dim", "inner"}},
      {"reduceMaxBackward", {"x", "y", "dy", "dx", "outer", "dim", "inner"}},
      {"permute", {"x", "out", "shape", "perm"}},
      {"softmax", {"x", "out", "rows", "cols", "log"}},
      {"softmaxBackward", {"y", "dy", "dx", "rows", "cols", "log", "accumulate"}},
      {"layerNorm", {"x", "gamma", "beta", "out", "mean", "rstd", "rows", "cols", "eps", "rms"}},
      {"layerNormBackward",
       {"x", "gamma", "mean", "rstd", "dy", "dx", "dgamma", "dbeta", "rows", "cols",
        "accumulate", "rms"}},
      {"crossEntropy",
       {"logits", "targets", "loss", "lse", "rows", "V", "ignoreIndex", "smoothing"}},
      {"crossEntropyBackward",
       {"logits", "targets", "lse", "dloss", "dlogits", "rows", "V", "ignoreIndex", "smoothing",
        "accumulate", "vocabOffset", "vocab"}},
      {"gather", {"table", "ids", "out", "rows", "cols", "numRows", "zeroMissing"}},
      {"scatterAdd", {"dout", "ids", "dtable", "rows", "cols", "numRows"}},
      {"adamw", {"p", "g", "m", "v", "n", "lr", "beta1", "beta2", "eps", "weightDecay", "step"}},
      {"dropoutMask", {"out", "n", "seed", "threshold", "keep"}},
      {"attention",
       {"B", "H", "Tq", "Tk", "Dh", "q", "k", "v", "attend", "maskBatch", "blocks", "blockQ",
        "blockK", "scale", "skipBlocks", "dropout", "seed", "bias", "biasBatch", "qSlots",
        "kSlots", "kvHeads"}},
      {"decodeAttention",
       {"R", "H", "Dh", "q", "k", "v", "P", "capacity", "length", "rows", "keep", "keepStride",
        "slots", "slotStride", "scale", "out", "bias", "biasOffset", "biasHeadStride", "kvHeads"}},
      {"gemmBf16", {"m", "n", "k", "a", "w", "c"}},
      {"gemmBf16Weight", {"m", "n", "k", "a", "w", "transW", "c", "beta", "bf16"}},
      {"gemmInt8", {"m", "n", "k", "a", "w", "scales", "sums", "c", "packed", "beta", "bias", "relu"}},
      {"decodeLogSoftmax", {"x", "rows", "cols"}},
      {"decodeTopKGroups",
       {"lp", "V", "rows", "base", "offsets", "M", "hyp", "token", "score", "counts"}},
      {"cacheWrite",
       {"B", "T", "H", "Dh", "k", "kOffset", "v", "vOffset", "srcStride", "kCache", "vCache",
        "capacity", "t0"}},
  };
  return groups;
}

}  // namespace mw
