// The output head of the encoder-decoder and decoder-only models (BART's names):
//   logits [.., V] = hidden [.., D] lm_head.weight^T (+ lm_head.bias) (+ final_logits_bias [1, V])
// (GPT-2 has no final_logits_bias: null.)
// `project` on tensors, `projectInto` for one decoding step's rows on flat arrays.
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { type Linear, productInto } from "../nn/layers.js";
import { addRowBias } from "../nn/product-epilogue.js";
import { add } from "../tensor/ops/elementwise.js";
import { linear } from "../tensor/ops/linear.js";
import { linearBf16Weight } from "../tensor/ops/linear-bf16.js";
import type { Tensor } from "../tensor/tensor.js";

/** hidden [B, T, D] -> logits [B, T, V] */
export function project(lmHead: Linear, finalLogitsBias: Tensor | null, hidden: Tensor): Tensor {
  // The bias-free head and final_logits_bias as one fused op: no [B, T, V]-sized temporaries.
  if (!finalLogitsBias) return lmHead.forward(hidden);
  if (lmHead.bias) return add(lmHead.forward(hidden), finalLogitsBias);
  // A head held in bfloat16 (a frozen base, src/nn/frozen-bf16.ts) multiplies from its bits.
  return lmHead.weightBf16
    ? linearBf16Weight(hidden, lmHead.weightBf16, lmHead.outFeatures, finalLogitsBias)
    : linear(hidden, lmHead.weight, finalLogitsBias);
}

/** logits [R, V] = the same of hidden [R, D], on flat arrays (the weight's bfloat16 copy if any). */
export function projectInto(
  lmHead: Linear,
  finalLogitsBias: Tensor | null,
  hidden: Float32Array,
  logits: Float32Array,
  R: number,
  copies: DecodingWeights | null,
): void {
  const V = lmHead.outFeatures;
  const bias = finalLogitsBias?.f32 ?? null;
  const own = lmHead.bias?.f32 ?? null;
  // Both biases (a rare head): its own in the product's epilogue, final_logits_bias after it.
  productInto(hidden, lmHead.weightData, logits, R, V, lmHead.inFeatures, copies, {
    beta: 0,
    bias: own ?? bias,
  });
  if (own && bias) addRowBias(logits, bias, R, V);
}
