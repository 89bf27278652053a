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
  run(
    tokens: Int32Array,
    positions: Int32Array,
    caches: readonly DecoderLayerCache[],
    masks: StepMasks,
  ): Float32Array;
}

/** The step of a model built from src/models/stacks.ts (logits rewritten each step). */
export class ModelStep implements DecodingStep {
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
