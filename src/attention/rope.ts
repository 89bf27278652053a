// Rotary position embeddings (Su et al., RoFormer) in the layout transformers uses for Llama,
// Qwen2 and Mistral ("rotate half"): in each head of width Dh, channel i pairs with channel
// i + Dh/2 and the pair turns by the angle p * inv_freq[i] of the token's position p:
//   y[i]        = x[i] cos - x[i + Dh/2] sin
//   y[i + Dh/2] = x[i + Dh/2] cos + x[i] sin            (i < Dh/2)
// i.e. y = x cos + rotate_half(x) sin with cos/sin = cat(freqs, freqs). Meta's original weights
// pair 2i with 2i + 1 instead; transformers' conversion permutes q/k rows to this layout.
// Applied to q and k (not v) before attention, so a score depends on positions only through
// their difference. `apply` works on the tape (its gradient turns the other way); `into` on a
// decoding step's flat rows.
//
// inv_freq[i] = 1 / theta^(2i / Dh), as transformers computes it in float32, adjusted by the
// rope type: "default" as is, "linear" divided by `factor` (position interpolation), "llama3"
// Llama 3.1's smooth interpolation between low and high frequencies.
import { record } from "../tensor/autograd.js";
import { allocF32 } from "../tensor/pool.js";
import { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";

/** transformers' rope_parameters (5.x), or the legacy rope_scaling with rope_theta. */
export interface RopeParameters {
  rope_type: "default" | "linear" | "llama3";
  rope_theta: number;
  /** linear, llama3: how much longer the context is than the one the model was trained on. */
  factor?: number;
  /** llama3: the wavelength bounds, as fractions of original_max_position_embeddings. */
  low_freq_factor?: number;
  high_freq_factor?: number;
  original_max_position_embeddings?: number;
}

export const ROPE_TYPES: readonly string[] = ["default", "linear", "llama3"];

/** inv_freq [Dh / 2] of a head width and rope parameters (each value rounded to float32). */
export function ropeInverseFrequencies(headDim: number, p: RopeParameters): Float32Array {
  const half = headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / p.rope_theta ** Math.fround((2 * i) / headDim);
  if (p.rope_type === "linear") for (let i = 0; i < half; i++) inv[i] /= p.factor ?? 1;
  if (p.rope_type === "llama3") {
    const factor = p.factor ?? 1;
    const low = p.low_freq_factor ?? 1;
    const high = p.high_freq_factor ?? 4;
    const old = p.original_max_position_embeddings ?? 8192;
    const lowWavelen = old / low;
    const highWavelen = old / high;
    for (let i = 0; i < half; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      // Long wavelengths (low frequencies) are interpolated, short ones kept, and the band
      // between them blended linearly in 1 / wavelength.
      if (wavelen > lowWavelen) inv[i] /= factor;
      else if (wavelen >= highWavelen) {
        const smooth = (old / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (inv[i] / factor) + smooth * inv[i];
      }
    }
  }
  return Float32Array.from(inv);
}

export class Rope {
  /** [Dh / 2] */
  readonly invFreq: Float32Array;
  readonly half: number;
  /** cos and sin [positions, Dh / 2] of positions 0..length-1, grown on need. */
  private cos = new Float32Array(0);
  private sin = new Float32Array(0);
  private length = 0;

  constructor(
    readonly headDim: number,
    readonly parameters: RopeParameters,
  ) {
    if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
      throw new MaskwiseError(`rotary embeddings need an even head width, got ${headDim}`, {
        code: "E_CONFIG",
        where: "Rope",
      });
    }
    this.half = headDim / 2;
    this.invFreq = ropeInverseFrequencies(headDim, parameters);
  }

  /** Makes the table hold positions below `n`. */
  private ensure(n: number): void {
    if (n <= this.length) return;
    const length = Math.max(n, 2 * this.length, 64);
    const half = this.half;
    const cos = new Float32Array(length * half);
    const sin = new Float32Array(length * half);
    cos.set(this.cos);
    sin.set(this.sin);
    for (let p = this.length; p < length; p++) this.angles(p, cos, sin, p * half);
    this.cos = cos;
    this.sin = sin;
    this.length = length;
  }

  /** cos and sin of position p's angles into cos/sin at `at` (the angle in float32, as HF). */
  private angles(p: number, cos: Float32Array, sin: Float32Array, at: number): void {
    for (let i = 0; i < this.half; i++) {
      const a = Math.fround(p * this.invFreq[i]);
      cos[at + i] = Math.cos(a);
      sin[at + i] = Math.sin(a);
    }
  }

  /**
   * cos and sin [N, Dh / 2] of N positions (a negative one, left padding, computed apart: its
   * result is masked anyway).
   */
  private table(positions: ArrayLike<number>): { cos: Float32Array; sin: Float32Array } {
    const n = positions.length;
    let max = 0;
    for (let t = 0; t < n; t++) if (positions[t] > max) max = positions[t];
    this.ensure(max + 1);
    const half = this.half;
    const cos = new Float32Array(n * half);
    const sin = new Float32Array(n * half);
    for (let t = 0; t < n; t++) {
      const p = positions[t];
      if (p >= 0) {
        cos.set(this.cos.subarray(p * half, (p + 1) * half), t * half);
        sin.set(this.sin.subarray(p * half, (p + 1) * half), t * half);
      } else this.angles(p, cos, sin, t * half);
    }
    return { cos, sin };
  }

  /**
   * x [..., heads * Dh] (token-major, as a projection gives it) at positions [...] (int32, the
   * same leading shape) -> the rotated [..., heads * Dh], on the tape.
   */
  apply(x: Tensor, positions: Tensor, heads: number): Tensor {
    const W = heads * this.headDim;
    const N = positions.size;
    if (x.shape[x.rank - 1] !== W || x.size !== N * W || positions.dtype !== "int32") {
      throw new MaskwiseError(
        `rotary embedding of ${fmtShape(x.shape)} at positions ${fmtShape(positions.shape)}: need [..., ${heads} * ${this.headDim}] and int32 [...]`,
        { code: "E_SHAPE", where: "Rope.apply" },
      );
    }
    const { cos, sin } = this.table(positions.i32);
    const out = allocF32(x.size, false);
    rotate(x.f32, out, N, heads, this.half, cos, sin, 1, false);
    const y = new Tensor(out, x.shape);
    return record(y, "rope", [x], (g, sink) => {
      const s = sink(0, true);
      // The transpose of a rotation is the rotation by the opposite angle.
      if (s) rotate(g, s.g, N, heads, this.half, cos, sin, -1, s.acc);
    });
  }

  /** x [R, heads * Dh] rotated in place for positions [R] (a decoding step's rows). */
  into(x: Float32Array, positions: Int32Array, R: number, heads: number): void {
    const { cos, sin } = this.table(positions.subarray(0, R));
    rotate(x, x, R, heads, this.half, cos, sin, 1, false);
  }
}

/**
 * out [N, heads, 2 * half] = x turned by sign * angle (cos/sin [N, half]); adds into out when
 * `accumulate`. x and out may be the same array.
 */
function rotate(
  x: ArrayLike<number>,
  out: Float32Array,
  N: number,
  heads: number,
  half: number,
  cos: Float32Array,
  sin: Float32Array,
  sign: 1 | -1,
  accumulate: boolean,
): void {
  const Dh = 2 * half;
  for (let t = 0; t < N; t++) {
    const c0 = t * half;
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * Dh;
      for (let i = 0; i < half; i++) {
        const c = cos[c0 + i];
        const s = sign * sin[c0 + i];
        const a = x[o + i];
        const b = x[o + i + half];
        const ya = a * c - b * s;
        const yb = b * c + a * s;
        if (accumulate) {
          out[o + i] += ya;
          out[o + i + half] += yb;
        } else {
          out[o + i] = ya;
          out[o + i + half] = yb;
        }
      }
    }
  }
}
