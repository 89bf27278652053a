// One decoding step of a maskwise encoder-decoder's or decoder-only model's decoder and head, on
// its KV caches: `Decoder.step` in preallocated buffers, then the head, logits [R, V].
import type { DecodingWeights } from "../nn/decoding-weights.js";
import type { DecoderLayerCache } from "./blocks.js";
import type { DecoderOnlyModel } from "./decoder-only.js";
import type { EncoderDecoderModel } from "./encoder-decoder.js";
import { projectInto } from "./head.js";
import { StepBuffers, type StepMasks } from "./step-buffers.js";

/** A decoder and head, one token per row per call, on per-layer caches: logits [R, V]. */
export interface DecodingStep {
  /**
   * Whether the rows of one step may sit at different positions (`positions` differ): sentences
   * that joined a running batch later (continuous batching). A step whose attention depends on
   * the position itself (T5's relative bias: one bias row per step) leaves it out.
   */
  readonly rowPositions?: boolean;
  run(
    tokens: Int32Array,
    positions: Int32Array,
    caches: readonly DecoderLayerCache[],
    masks: StepMasks,
  ): Float32Array;
}

/** The step of a model built from src/models/stacks.ts (logits rewritten each step). */
export class ModelStep implements DecodingStep {
  // Positions only choose each row's position embedding (and rotary angles), row by row.
  readonly rowPositions = true;
  private readonly buffers: StepBuffers;

  constructor(
    private readonly model: EncoderDecoderModel | DecoderOnlyModel,
    private readonly copies: DecodingWeights | null,
  ) {
    const cfg = model.config;
    this.buffers = new StepBuffers(cfg.d_model, cfg.decoder_ffn_dim, cfg.vocab_size);
  }

  run(
    tokens: Int32Array,
    positions: Int32Array,
    caches: readonly DecoderLayerCache[],
    masks: StepMasks,
  ): Float32Array {
    const { model, copies } = this;
    const view = this.buffers.rows(tokens.length);
    const hidden = model.decoder.step(tokens, positions, caches, masks, view, copies);
    projectInto(model.lm_head, model.final_logits_bias, hidden, view.logits, view.R, copies);
    return view.logits;
  }
}
