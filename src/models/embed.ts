// The input of a Transformer stack: each token's embedding (times sqrt(d_model) when the config
// scales embeddings) plus the encoding of its position (sinusoidal, or a row of a learned table,
// position p at row p + position_offset), then BART's layernorm_embedding where configured, then
// dropout in training. `forward` computes it on tensors for whole sequences; `into` computes
// the same for one new token per row on flat arrays (incremental decoding).
import type { Embedding, LayerNorm } from "../nn/layers.js";
import { addScaledSinusoids, sinusoidalPositions } from "../nn/positions.js";
import { add, mul } from "../tensor/ops/elementwise.js";
import { dropout } from "../tensor/ops/nn.js";
import { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";
import type { Noise } from "./blocks.js";
import type { ModelConfig } from "./config.js";

export class StackInput {
  constructor(
    private readonly cfg: ModelConfig,
    private readonly tokens: Embedding,
    private readonly learned: Embedding | null,
    private readonly types: Embedding | null,
    private readonly norm: LayerNorm | null,
  ) {}

  /** ids [...], positions [...] and token types [...] (default 0; the same shape) -> [..., D] */
  forward(
    ids: Tensor,
    positions: Tensor,
    training: boolean,
    noise?: Noise,
    tokenTypes?: Tensor,
  ): Tensor {
    const cfg = this.cfg;
    let x = this.tokens.forward(ids);
    if (cfg.scale_embedding) x = mul(x, Math.sqrt(cfg.d_model));
    const pos = this.learned
      ? this.learned.forward(learnedRows(positions, cfg))
      : sinusoidalPositions(positions, cfg.d_model, cfg.sinusoid_layout);
    x = add(x, pos);
    // Without token types every token is of type 0 (BERT's default): its row is still added.
    if (this.types)
      x = add(x, this.types.forward(tokenTypes ?? new Tensor(new Int32Array(ids.size), ids.shape)));
    if (this.norm) x = this.norm.forward(x);
    return noise && training ? dropout(x, cfg.dropout, noise.rng) : x;
  }

  /**
   * out [R, D] = the input of tokens [R] at positions [R], as `forward` computes it (no dropout);
   * `scratch` holds the layer norm's statistics [R].
   */
  into(
    tokens: Int32Array,
    positions: Int32Array,
    out: Float32Array,
    scratch: { mean: Float32Array; rstd: Float32Array },
  ): void {
    const D = this.cfg.d_model;
    const R = tokens.length;
    // The token rows first (widened where the table is held in bfloat16), then scaled in place.
    this.tokens.rowsInto(tokens, out);
    // float32(sqrt(D)): the scalar `forward` multiplies by; a product of two float32 values is
    // exact in double, so rounding it once gives the float32 product.
    const scale = this.cfg.scale_embedding ? Math.fround(Math.sqrt(D)) : 1;
    // Each row's position [R, D]: its learned row, or its sinusoid.
    if (this.learned) {
      const pos = new Float32Array(R * D);
      this.learned.rowsInto(learnedRows(new Tensor(positions, [R]), this.cfg).i32, pos);
      for (let i = 0; i < R * D; i++) out[i] = Math.fround(out[i] * scale) + pos[i];
    } else addScaledSinusoids(out, positions, D, scale, this.cfg.sinusoid_layout);
    if (this.norm) this.norm.into(out, out, R, scratch);
  }
}

/**
 * The rows of a learned position table for positions p: row p + position_offset, and the row of
 * position 0 for -1 (left padding, masked anyway); a position past the table is an error.
 */
function learnedRows(p: Tensor, cfg: ModelConfig): Tensor {
  const d = p.i32;
  const max = cfg.max_position_embeddings;
  const offset = cfg.position_offset;
  const out = new Int32Array(d.length);
  for (let i = 0; i < d.length; i++) {
    if (d[i] >= max) {
      throw new MaskwiseError(`position ${d[i]} exceeds max_position_embeddings ${max}`, {
        code: "E_SHAPE",
        where: "learned positions",
        hint: "shorten the input or raise max_position_embeddings",
      });
    }
    out[i] = Math.max(0, d[i]) + offset;
  }
  return new Tensor(out, p.shape);
}
