// A causal LM's output head and cross-entropy in blocks of the vocabulary (src/tensor/ops/
// linear-cross-entropy.ts) where its logits would be large: [N, V] float32 logits and their
// gradient of a 151936-word vocabulary are 311 MB each per 512 tokens. Small ones take the plain
// head and crossEntropy, which skip recomputing the head's product in backward.
import type { Linear } from "../nn/layers.js";
import { BLOCK_ELEMENTS, linearCrossEntropy } from "../tensor/ops/linear-cross-entropy.js";
import type { Tensor } from "../tensor/tensor.js";

/**
 * Logits of more elements than this go through in blocks (256 MB in float32). Below it the plain
 * path holds the logits and their gradient, as transformers does, and multiplies by the head
 * twice instead of three times in larger products: on a Llama of vocabulary 32000 and hidden 768
 * (1,020 labelled tokens, 2 threads, AMD EPYC Zen 3) its head took 580 ms of a 3.3 s step where
 * chunks of 131 rows took 1,165 ms of 4.0 s, each chunk's products packing all of the head again.
 */
export const CHUNKED_LOSS_ELEMENTS = 16 * BLOCK_ELEMENTS;

/**
 * The mean cross-entropy of `lmHead` on rows [N, D] against labels [N] in blocks, or null where
 * the plain path serves: small logits, or a head with a bias or an adapter.
 */
export function chunkedHeadLoss(
  lmHead: Linear,
  rows: Tensor,
  labels: Tensor,
  options: { labelSmoothing?: number; minElements?: number } = {},
): Tensor | null {
  const V = lmHead.outFeatures;
  if (lmHead.bias || lmHead.adapter) return null;
  if (labels.size * V <= (options.minElements ?? CHUNKED_LOSS_ELEMENTS)) return null;
  return linearCrossEntropy(rows, lmHead.weightBf16 ?? lmHead.weight, V, labels, {
    labelSmoothing: options.labelSmoothing ?? 0,
  });
}
