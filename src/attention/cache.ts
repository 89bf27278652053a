// The key/value cache of one attention layer during incremental decoding.
// Self-attention appends each step's keys and values; cross-attention computes the encoder's once
// and reuses them. Beam search reorders the batch rows when it prunes beams.
import { concat, permute, reshape } from "../tensor/ops/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";

export class AttentionCache {
  /** [B, H, T, Dh] */
  k: Tensor | null = null;
  /** [B, H, T, Dh] */
  v: Tensor | null = null;

  /** Keys held so far (the causal offset of the next query). */
  get length(): number {
    return this.k?.shape[2] ?? 0;
  }

  /** Appends new keys and values [B, H, Tnew, Dh]. */
  append(k: Tensor, v: Tensor): void {
    this.k = this.k ? concat([this.k, k], 2) : k;
    this.v = this.v ? concat([this.v, v], 2) : v;
  }

  /** Keeps batch rows `rows` (in that order; repeats allowed): the beam search reorder. */
  reorder(rows: readonly number[]): void {
    const pick = (t: Tensor | null): Tensor | null => {
      if (!t) return null;
      const [B, ...rest] = t.shape;
      const row = rest.reduce((p, s) => p * s, 1);
      const out = new Float32Array(rows.length * row);
      rows.forEach((r, i) => {
        if (!Number.isInteger(r) || r < 0 || r >= B) {
          throw new MaskwiseError(`row ${r} is outside the cache's ${B} rows`, {
            code: "E_INDEX",
            where: "AttentionCache.reorder",
          });
        }
        out.set(t.f32.subarray(r * row, (r + 1) * row), i * row);
      });
      return new Tensor(out, [rows.length, ...rest]);
    };
    this.k = pick(this.k);
    this.v = pick(this.v);
  }
}

/** [B, T, H * Dh] -> [B, H, T, Dh] */
export function splitHeads(x: Tensor, H: number): Tensor {
  const [B, T, D] = x.shape;
  return permute(reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]);
}

/** [B, H, T, Dh] -> [B, T, H * Dh] */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, T, Dh] = x.shape;
  return reshape(permute(x, [0, 2, 1, 3]), [B, T, H * Dh]);
}
