// Global gradient-norm clipping (Pascanu et al.): if the L2 norm of all gradients together
// exceeds maxNorm, scale every gradient by maxNorm / norm. Returns the norm before clipping
// (worth logging: a rising norm warns of divergence before the loss does).
import type { Tensor } from "../tensor/tensor.js";

export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  let sq = 0;
  for (const p of params) {
    const g = p.grad?.f32;
    if (!g) continue;
    for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  }
  const norm = Math.sqrt(sq);
  if (maxNorm > 0 && norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const g = p.grad?.f32;
      if (!g) continue;
      for (let i = 0; i < g.length; i++) g[i] *= scale;
    }
  }
  return norm;
}

/**
 * Parameter groups for AdamW: weight decay on matrices, none on biases, norms and embeddings'
 * 1-D companions (the usual practice: decaying a norm's gain or a bias only hurts).
 */
export function decayGroups(named: readonly [string, Tensor][], weightDecay: number) {
  const seen = new Set<Tensor>();
  const decay: Tensor[] = [];
  const noDecay: Tensor[] = [];
  for (const [name, p] of named) {
    if (seen.has(p)) continue;
    seen.add(p);
    if (
      p.rank < 2 ||
      /(^|\.)(bias|layer_norm|layernorm|norm)(\.|$)/.test(name) ||
      name.endsWith("_bias")
    )
      noDecay.push(p);
    else decay.push(p);
  }
  return [
    { params: decay, weightDecay },
    { params: noDecay, weightDecay: 0 },
  ];
}
