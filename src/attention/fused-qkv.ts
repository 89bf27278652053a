// A decoding step of one row (batch 1 greedy) multiplies that row by Q's, K's and V's weights:
// three products of one row against a [H Dh, D] weight each, bound by reading the weights (from
// L3 at every step), each a backend call and a hand-off between threads. Held as one
// [(H + 2 Hkv) Dh, D] weight they are one product, whose output row holds q, k and v side by
// side: q = out[0, H Dh), k = out[H Dh, (H + Hkv) Dh), v = the rest. Every kernel computes each
// output element as its own dot product along k, whatever the other columns, so the fused
// product gives the three products' bits.
import type { Linear } from "../nn/layers.js";

export interface FusedQkv {
  /** [(H + 2 Hkv) Dh, D]: Q's rows, then K's, then V's. */
  readonly w: Float32Array;
  /** Their biases in the same order, or null when none of the three has one. */
  readonly bias: Float32Array | null;
  /** The output row of a one-row step, [(H + 2 Hkv) Dh]. */
  readonly out: Float32Array;
}

/**
 * Q's, K's and V's weights and biases as one, or null where the three cannot be one product:
 * a LoRA adapter on any (its update joins each product apart), a weight held as bfloat16, or a
 * bias on some but not all (a bias of zeros would turn a product's -0 into +0).
 */
export function fuseQkv(q: Linear, k: Linear, v: Linear): FusedQkv | null {
  const parts = [q, k, v];
  if (parts.some((l) => l.adapter || l.weightBf16)) return null;
  const biased = parts.filter((l) => l.bias).length;
  if (biased !== 0 && biased !== 3) return null;
  const D = q.inFeatures;
  if (k.inFeatures !== D || v.inFeatures !== D) return null;
  const rows = q.outFeatures + k.outFeatures + v.outFeatures;
  const w = new Float32Array(rows * D);
  const bias = biased === 3 ? new Float32Array(rows) : null;
  let at = 0;
  for (const l of parts) {
    w.set(l.weight.f32, at * D);
    if (bias && l.bias) bias.set(l.bias.f32, at);
    at += l.outFeatures;
  }
  return { w, bias, out: new Float32Array(rows) };
}
