// A translation run multiplies by the same weights over and over: the encoder's on every batch,
// the decoder's and the head's on every step. The native GEMM packs its B operand into panels on
// each call (each thread a copy of all of it) wherever more than a few rows multiply; holding the
// Linear weights packed for the run (Backend.holdPacked) packs each once. The products read the
// same panels, so the results are the same. Self-attention's Q, K and V are also held as one
// weight (MultiHeadAttention.holdFusedQkv) for the steps of one row.

import { MultiHeadAttention } from "../attention/multi-head.js";
import { Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import type { HeldWeight } from "../tensor/backend.js";
import { getBackend } from "../tensor/dispatch.js";

/**
 * Holds every Linear weight of `model` (its modules when it is a Module, and the Linears its
 * decoding step multiplies by) packed on the active backend; the returned function releases them.
 * The weights must not change until then.
 */
export function holdLinearWeights(model: {
  decodingLinears?(): (Linear | null | undefined)[];
}): () => void {
  const linears: Linear[] = [];
  const unfuse: (() => void)[] = [];
  const held = new Map<Float32Array, HeldWeight>();
  if (model instanceof Module)
    for (const [, m] of model.namedModules()) {
      if (m instanceof Linear) linears.push(m);
      if (m instanceof MultiHeadAttention) {
        const { fused, release } = m.holdFusedQkv();
        unfuse.push(release);
        if (fused) held.set(fused.w, { w: fused.w, n: fused.out.length, k: m.q_proj.inFeatures });
      }
    }
  for (const l of model.decodingLinears?.() ?? []) if (l) linears.push(l);
  for (const l of linears) {
    // A weight held as bfloat16 (a frozen LoRA base) has no float32 panels to pack.
    if (l.weightBf16) continue;
    const w = l.weight.f32;
    // W [out, in]; a tied weight (the head on the embedding) appears once.
    held.set(w, { w, n: l.outFeatures, k: l.inFeatures });
  }
  const unpack = getBackend().holdPacked([...held.values()]);
  return () => {
    unpack();
    for (const release of unfuse) release();
  };
}
