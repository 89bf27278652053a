// Fused attention in plain TypeScript: the specification of the kernel (see AttentionArgs in
// src/tensor/backend.ts). Per query row it streams over the keys with the online softmax
// (Milakov & Gimelshein; FlashAttention): a running maximum m, a running normaliser l and a
// running weighted sum of values, rescaled whenever m grows, so no score matrix is stored.
// Blocks the mask excludes are skipped whole; blocks it fully allows skip the per-element test.
// An additive bias (args.bias) is read only for elements the mask allows, so it cannot un-mask
// anything nor stop a block from being skipped; a -Infinity bias leaves its element out.
import { type AttentionArgs, attentionKeep, type F32 } from "../tensor/backend.js";
import { MaskwiseError } from "../util/errors.js";

/** The class of the block holding (i, j) for batch row b, or Mixed when skipping is off. */
function blockClass(a: AttentionArgs, mb: number, qb: number, kb: number): number {
  if (!a.skipBlocks) return 2;
  const nq = Math.ceil(a.Tq / a.blockQ);
  const nk = Math.ceil(a.Tk / a.blockK);
  return a.blocks[(mb * nq + qb) * nk + kb];
}

/** The bias and its gradient must cover [biasBatch, H, Tq, Tk], biasBatch being 1 or B. */
function checkBias(a: AttentionArgs, dbias: F32 | null): void {
  if (!a.bias) {
    if (dbias) {
      throw new MaskwiseError("dbias is given but the attention has no bias", {
        code: "E_ARG",
        where: "attention",
      });
    }
    return;
  }
  const bb = a.biasBatch ?? 1;
  const need = bb * a.H * a.Tq * a.Tk;
  const bad = (what: string) => {
    throw new MaskwiseError(what, {
      code: "E_ARG",
      where: "attention",
      hint: "the bias is [H, Tq, Tk] shared by the batch, or [B, H, Tq, Tk]",
    });
  };
  if (bb !== 1 && bb !== a.B) bad(`biasBatch ${bb} must be 1 or B = ${a.B}`);
  if (a.bias.length < need) bad(`bias holds ${a.bias.length} values, the sizes need ${need}`);
  if (dbias && dbias.length < need)
    bad(`dbias holds ${dbias.length} values, the sizes need ${need}`);
}

/** Where bias row (b, h, 0) starts, or -1 without a bias. */
function biasStart(a: AttentionArgs, b: number, h: number): number {
  if (!a.bias) return -1;
  const bb = (a.biasBatch ?? 1) === 1 ? 0 : b;
  return (bb * a.H + h) * a.Tq * a.Tk;
}

export function attentionForwardReference(a: AttentionArgs, out: F32, lse: F32): void {
  const { B, H, Tq, Tk, Dh, q, k, v, attend, scale, dropout, seed } = a;
  checkBias(a, null);
  const keepScale = dropout > 0 ? 1 / (1 - dropout) : 1;
  const acc = new Float64Array(Dh);
  const nk = Math.ceil(Tk / a.blockK);
  for (let b = 0; b < B; b++) {
    const mb = a.maskBatch === 1 ? 0 : b;
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      const bias0 = biasStart(a, b, h);
      for (let i = 0; i < Tq; i++) {
        const qi = (bh * Tq + i) * Dh;
        const qb = Math.floor(i / a.blockQ);
        let m = Number.NEGATIVE_INFINITY;
        let l = 0;
        acc.fill(0);
        for (let kb = 0; kb < nk; kb++) {
          const cls = blockClass(a, mb, qb, kb);
          if (cls === 0) continue;
          const jEnd = Math.min((kb + 1) * a.blockK, Tk);
          for (let j = kb * a.blockK; j < jEnd; j++) {
            // A block is computed whole, then masked: what a tiled kernel does, and what
            // skipping saves when a whole block is masked.
            const kj = (bh * Tk + j) * Dh;
            let s = 0;
            for (let d = 0; d < Dh; d++) s += q[qi + d] * k[kj + d];
            s *= scale;
            if (cls === 2 && attend[(mb * Tq + i) * Tk + j] === 0) continue;
            if (bias0 >= 0) {
              s += (a.bias as F32)[bias0 + i * Tk + j];
              if (s === Number.NEGATIVE_INFINITY) continue;
            }
            if (s > m) {
              const correction = Math.exp(m - s);
              l *= correction;
              for (let d = 0; d < Dh; d++) acc[d] *= correction;
              m = s;
            }
            const p = Math.exp(s - m);
            l += p;
            if (dropout > 0 && !attentionKeep(seed, (bh * Tq + i) * Tk + j, dropout)) continue;
            const w = p * keepScale;
            for (let d = 0; d < Dh; d++) acc[d] += w * v[kj + d];
          }
        }
        const oi = (bh * Tq + i) * Dh;
        if (l === 0) {
          for (let d = 0; d < Dh; d++) out[oi + d] = 0;
          lse[bh * Tq + i] = Number.NEGATIVE_INFINITY;
        } else {
          for (let d = 0; d < Dh; d++) out[oi + d] = acc[d] / l;
          lse[bh * Tq + i] = m + Math.log(l);
        }
      }
    }
  }
}

export function attentionBackwardReference(
  a: AttentionArgs,
  out: F32,
  lse: F32,
  dout: F32,
  dq: F32,
  dk: F32,
  dv: F32,
  dbias: F32 | null = null,
): void {
  const { B, H, Tq, Tk, Dh, q, k, v, attend, scale, dropout, seed } = a;
  checkBias(a, dbias);
  const keepScale = dropout > 0 ? 1 / (1 - dropout) : 1;
  const nk = Math.ceil(Tk / a.blockK);
  for (let b = 0; b < B; b++) {
    const mb = a.maskBatch === 1 ? 0 : b;
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      const bias0 = biasStart(a, b, h);
      for (let i = 0; i < Tq; i++) {
        const L = lse[bh * Tq + i];
        if (L === Number.NEGATIVE_INFINITY) continue; // empty row: zero gradient
        const qi = (bh * Tq + i) * Dh;
        // D_i = dout_i . out_i = sum_j p_ij dp_ij
        let D = 0;
        for (let d = 0; d < Dh; d++) D += dout[qi + d] * out[qi + d];
        const qb = Math.floor(i / a.blockQ);
        for (let kb = 0; kb < nk; kb++) {
          const cls = blockClass(a, mb, qb, kb);
          if (cls === 0) continue;
          const jEnd = Math.min((kb + 1) * a.blockK, Tk);
          for (let j = kb * a.blockK; j < jEnd; j++) {
            const kj = (bh * Tk + j) * Dh;
            let s = 0;
            for (let d = 0; d < Dh; d++) s += q[qi + d] * k[kj + d];
            if (cls === 2 && attend[(mb * Tq + i) * Tk + j] === 0) continue;
            const at = bias0 + i * Tk + j; // this element's bias and bias gradient
            const p = Math.exp(s * scale + (bias0 >= 0 ? (a.bias as F32)[at] : 0) - L);
            const kept = dropout === 0 || attentionKeep(seed, (bh * Tq + i) * Tk + j, dropout);
            const pDropped = kept ? p * keepScale : 0;
            let dpDropped = 0;
            for (let d = 0; d < Dh; d++) {
              dv[kj + d] += pDropped * dout[qi + d];
              dpDropped += dout[qi + d] * v[kj + d];
            }
            const dp = kept ? dpDropped * keepScale : 0;
            // The gradient of the biased score s_ij; the bias receives it as it is, q and k
            // times the scale.
            const dsBiased = p * (dp - D);
            if (dbias && bias0 >= 0) dbias[at] += dsBiased;
            const ds = dsBiased * scale;
            for (let d = 0; d < Dh; d++) {
              dq[qi + d] += ds * k[kj + d];
              dk[kj + d] += ds * q[qi + d];
            }
          }
        }
      }
    }
  }
}
