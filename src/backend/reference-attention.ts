// Fused attention in plain TypeScript: the specification of the kernel (see AttentionArgs in
// src/tensor/backend.ts). Per query row it streams over the keys with the online softmax
// (Milakov & Gimelshein; FlashAttention): a running maximum m, a running normaliser l and a
// running weighted sum of values, rescaled whenever m grows, so no score matrix is stored.
// Blocks the mask excludes are skipped whole; blocks it fully allows skip the per-element test.
import { type AttentionArgs, attentionKeep, type F32 } from "../tensor/backend.js";

/** The class of the block holding (i, j) for batch row b, or Mixed when skipping is off. */
function blockClass(a: AttentionArgs, mb: number, qb: number, kb: number): number {
  if (!a.skipBlocks) return 2;
  const nq = Math.ceil(a.Tq / a.blockQ);
  const nk = Math.ceil(a.Tk / a.blockK);
  return a.blocks[(mb * nq + qb) * nk + kb];
}

export function attentionForwardReference(a: AttentionArgs, out: F32, lse: F32): void {
  const { B, H, Tq, Tk, Dh, q, k, v, attend, scale, dropout, seed } = a;
  const keepScale = dropout > 0 ? 1 / (1 - dropout) : 1;
  const acc = new Float64Array(Dh);
  const nk = Math.ceil(Tk / a.blockK);
  for (let b = 0; b < B; b++) {
    const mb = a.maskBatch === 1 ? 0 : b;
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
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
): void {
  const { B, H, Tq, Tk, Dh, q, k, v, attend, scale, dropout, seed } = a;
  const keepScale = dropout > 0 ? 1 / (1 - dropout) : 1;
  const nk = Math.ceil(Tk / a.blockK);
  for (let b = 0; b < B; b++) {
    const mb = a.maskBatch === 1 ? 0 : b;
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
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
            const p = Math.exp(s * scale - L);
            const kept = dropout === 0 || attentionKeep(seed, (bh * Tq + i) * Tk + j, dropout);
            const pDropped = kept ? p * keepScale : 0;
            let dpDropped = 0;
            for (let d = 0; d < Dh; d++) {
              dv[kj + d] += pDropped * dout[qi + d];
              dpDropped += dout[qi + d] * v[kj + d];
            }
            const dp = kept ? dpDropped * keepScale : 0;
            const ds = p * (dp - D) * scale;
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
