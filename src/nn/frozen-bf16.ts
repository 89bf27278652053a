// A frozen base held in bfloat16: every Linear layer and every embedding table of a model whose
// weight no longer trains (a LoRA run's base, src/nn/lora.ts) keeps it as bfloat16 bits only,
// half the bytes of float32 and no float32 copy. Linear layers multiply from the bits
// (src/tensor/ops/linear-bf16.ts); tables widen the rows they gather (src/tensor/ops/
// embedding-bf16.ts); a head tied to a table takes the table's bits, so the tie holds and its
// products go the held layers' way. The adapters, norms and biases stay float32.
import { Embedding, Linear } from "./layers.js";
import type { Module } from "./module.js";

export interface HeldBf16 {
  /** Module paths of the Linear layers now held in bfloat16 (tied heads included). */
  layers: string[];
  /** Module paths of the embedding tables now held in bfloat16. */
  tables: string[];
  /** Bytes saved: the float32 weights let go less their bfloat16 copies. */
  freed: number;
}

/**
 * Holds the weight of every frozen Linear layer and embedding table of `model` in bfloat16.
 * Call it after the weights are loaded and the base frozen (addLora / attachAdapter):
 * trainable weights are left alone, and so is a tensor shared by two modules unless it is a
 * table with the heads tied to it. Idempotent.
 */
export function holdFrozenWeightsBf16(model: Module): HeldBf16 {
  // Each module once (a table shared by two stacks sits under two paths), then how many of
  // them register each tensor: one registered twice is shared (tied) even where no Linear says so.
  const modules: [string, Module][] = [];
  const seen = new Set<Module>();
  for (const [path, m] of model.namedModules()) {
    if (seen.has(m)) continue;
    seen.add(m);
    modules.push([path, m]);
  }
  const names = new Map<unknown, number>();
  for (const [, m] of modules)
    for (const [n, p] of m.namedParameters())
      if (!n.includes(".")) names.set(p, (names.get(p) ?? 0) + 1);
  // The heads tied to each table's tensor.
  const tiedTo = new Map<unknown, Linear[]>();
  for (const [, m] of modules) {
    if (!(m instanceof Linear) || !m.tied || m.weightBf16) continue;
    const heads = tiedTo.get(m.weight) ?? [];
    heads.push(m);
    tiedTo.set(m.weight, heads);
  }
  const out: HeldBf16 = { layers: [], tables: [], freed: 0 };
  for (const [path, m] of modules) {
    if (!(m instanceof Embedding)) continue;
    if (m.weightBf16) {
      out.tables.push(path);
      continue;
    }
    const w = m.weight;
    const heads = tiedTo.get(w) ?? [];
    // Shared by anything but its own registration and its tied heads: leave it.
    if (w.requiresGrad || (names.get(w) ?? 0) > 1 + heads.length) continue;
    out.freed += m.holdWeightBf16();
    out.tables.push(path);
    // Read anew: the hold just set the bits (the check above narrowed them to null).
    const bits = (m as Embedding).weightBf16;
    if (bits) for (const h of heads) h.tieBf16(bits);
  }
  for (const [path, m] of modules) {
    if (!(m instanceof Linear)) continue;
    if (m.weightBf16) {
      out.layers.push(path);
      continue;
    }
    if (m.tied) continue;
    const w = m.weight;
    if (w.requiresGrad || (names.get(w) ?? 0) > 1) continue;
    out.freed += m.holdWeightBf16();
    out.layers.push(path);
  }
  return out;
}

/** The distinct weight arrays of `model`: its parameters' and its bfloat16 ones, once each. */
function heldArrays(model: Module): Set<ArrayBufferView & { length: number }> {
  const seen = new Set<ArrayBufferView & { length: number }>();
  for (const [, p] of model.namedParameters()) seen.add(p.f32);
  for (const [, m] of model.namedModules())
    if ((m instanceof Linear || m instanceof Embedding) && m.weightBf16) seen.add(m.weightBf16);
  return seen;
}

/** The number of weights `model` holds, in float32 or bfloat16 (a tied table counted once). */
export function heldWeightCount(model: Module): number {
  let n = 0;
  for (const a of heldArrays(model)) n += a.length;
  return n;
}

/**
 * Bytes of the weights `model` holds: every parameter's float32 array and every bfloat16 table
 * or layer weight, each array counted once (a tied head's bits are its table's).
 */
export function heldWeightBytes(model: Module): number {
  let bytes = 0;
  for (const a of heldArrays(model)) bytes += a.byteLength;
  return bytes;
}
