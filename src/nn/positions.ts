// Positions. maskwise derives them from the attention mask, never from the column index: the
// position of a token is the number of real tokens before it (cumulative sum of the mask minus
// one), so left padding does not shift a sequence and batched generation sees the positions
// training saw. Padding after a sequence repeats its last position; padding before it is -1.
import { Tensor } from "../tensor/tensor.js";

/** positions [B, T] (int32) from a Hugging Face 2D mask [B, T] (1 = real) and an offset (cache length). */
export function positionsFromMask(mask: Tensor, offset: Int32Array | null = null): Tensor {
  const [B, T] = mask.shape;
  const m = mask.data;
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = offset ? offset[b] : 0;
    for (let t = 0; t < T; t++) {
      count += m[b * T + t] !== 0 ? 1 : 0;
      out[b * T + t] = count - 1;
    }
  }
  return new Tensor(out, [B, T]);
}

/**
 * Sinusoidal encodings (Vaswani et al.) for int32 positions [...]: output [..., D] with sin on
 * even and cos on odd channels; channel pair i of position p uses p / 10000^(2i/D). Computed in
 * double precision per position, so any position (even -1) is exact to float32.
 */
export function sinusoidalPositions(positions: Tensor, D: number): Tensor {
  const p = positions.data;
  const out = new Float32Array(p.length * D);
  const freq = new Float64Array(Math.ceil(D / 2));
  for (let i = 0; i < freq.length; i++) freq[i] = 10000 ** (-(2 * i) / D);
  for (let r = 0; r < p.length; r++) {
    for (let i = 0; i < freq.length; i++) {
      const angle = p[r] * freq[i];
      out[r * D + 2 * i] = Math.sin(angle);
      if (2 * i + 1 < D) out[r * D + 2 * i + 1] = Math.cos(angle);
    }
  }
  return new Tensor(out, [...positions.shape, D]);
}
