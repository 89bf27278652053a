// One decoding step of T5's decoder and head on flat arrays (the DecodingStep of
// src/models/incremental.ts): the token's embedding, every block's `step` on the KV caches with
// the causal bias row of this step's position, the final layer norm, the v1.0 rescale and the
// head. Computes what T5Stack.forward and T5Model.project compute for one new token per row.
import { type DistanceBias, t5DistanceBias } from "../../../attention/position-bias.js";
import type { DecodingWeights } from "../../../nn/decoding-weights.js";
import { productInto } from "../../../nn/layers.js";
import { MaskwiseError } from "../../../util/errors.js";
import type { DecoderLayerCache } from "../../blocks.js";
import type { DecodingStep } from "../../model-step.js";
import { StepBuffers, type StepMasks } from "../../step-buffers.js";
import type { T5Model } from "./model.js";

export class T5Step implements DecodingStep {
  private readonly buffers: StepBuffers;
  private gate = new Float32Array(0);
  /** The decoder's bias by distance, for positions below its length (rebuilt longer on need). */
  private bias: DistanceBias | null = null;
  private biasLength = 0;

  constructor(
    private readonly model: T5Model,
    private readonly copies: DecodingWeights | null,
  ) {
    const cfg = model.config;
    this.buffers = new StepBuffers(
      cfg.d_model,
      cfg.decoder_ffn_dim,
      cfg.vocab_size,
      cfg.decoder_attention_heads * cfg.d_kv,
    );
  }

  /** The bias of a query at `position` for the decoding kernel. */
  private biasAt(position: number): { bias: Float32Array; offset: number; headStride: number } {
    if (!this.bias || position >= this.biasLength) {
      const decoder = this.model.decoder;
      this.biasLength = Math.max(64, 2 * this.biasLength, position + 1);
      this.bias = t5DistanceBias(
        decoder.biasTable.f32,
        this.model.config.decoder_attention_heads,
        this.biasLength,
        decoder.buckets,
      );
    }
    return {
      bias: this.bias.bias,
      offset: this.bias.offsetOf(position),
      headStride: this.bias.headStride,
    };
  }

  run(
    tokens: Int32Array,
    positions: Int32Array,
    caches: readonly DecoderLayerCache[],
    masks: StepMasks,
  ): Float32Array {
    const { model, copies } = this;
    const R = tokens.length;
    const D = model.config.d_model;
    const F = model.config.decoder_ffn_dim;
    // One bias row serves the step: every row's new token sits at the same position.
    const position = positions[0] ?? 0;
    for (let r = 1; r < R; r++) {
      if (positions[r] !== position) {
        throw new MaskwiseError("T5 decodes every row at the same position", {
          code: "E_ARG",
          where: "T5Step.run",
        });
      }
    }
    const view = this.buffers.rows(R);
    if (this.gate.length < R * F) this.gate = new Float32Array(R * F);
    const gate = this.gate.subarray(0, R * F);
    model.shared.rowsInto(tokens, view.x);
    const bias =
      R > 0 ? this.biasAt(position) : { bias: new Float32Array(0), offset: 0, headStride: 0 };
    model.decoder.block.items.forEach((block, i) => {
      block.step(view, caches[i], masks, bias, gate, copies);
    });
    const hidden = model.decoder.final_layer_norm.into(view.x, view.h, R);
    if (model.outputScale !== 1) for (let i = 0; i < R * D; i++) hidden[i] *= model.outputScale;
    const logits = view.logits;
    productInto(hidden, model.lm_head.weightData, logits, R, model.config.vocab_size, D, copies, {
      beta: 0,
    });
    return logits;
  }
}
