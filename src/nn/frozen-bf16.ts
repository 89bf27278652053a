// A frozen base held in bfloat16: every Linear layer of a model whose weight no longer trains
// (a LoRA run's base, src/nn/lora.ts) keeps its weight as bfloat16 bits only, half the bytes of
// float32 and no float32 copy, and multiplies from them (src/tensor/ops/linear-bf16.ts); the
// adapters, norms, biases and embeddings stay float32. Tied weights (a head that is the token
// embedding) stay float32: the embedding looks its rows up in float32.
import { Linear } from "./layers.js";
import type { Module } from "./module.js";

export interface HeldBf16 {
  /** Module paths of the layers now held in bfloat16. */
  layers: string[];
  /** Bytes saved: the float32 weights let go less their bfloat16 copies. */
  freed: number;
}

/**
 * Holds the weight of every frozen, untied Linear layer of `model` in bfloat16. Call it after
 * the weights are loaded and the base frozen (addLora / attachAdapter): trainable weights are
 * left alone. Idempotent.
 */
export function holdFrozenWeightsBf16(model: Module): HeldBf16 {
  // A tensor registered under two names is shared (tied) even where no Linear says so.
  const names = new Map<unknown, number>();
  for (const [, p] of model.namedParameters()) names.set(p, (names.get(p) ?? 0) + 1);
  const out: HeldBf16 = { layers: [], freed: 0 };
  for (const [path, m] of model.namedModules()) {
    if (!(m instanceof Linear) || m.tied) continue;
    if (m.weightBf16) {
      out.layers.push(path);
      continue;
    }
    const w = m.weight;
    if (w.requiresGrad || (names.get(w) ?? 0) > 1) continue;
    out.freed += m.holdWeightBf16();
    out.layers.push(path);
  }
  return out;
}
