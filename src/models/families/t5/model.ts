// T5 (Raffel et al.; transformers' T5ForConditionalGeneration, v1.0 and v1.1) under its tensor
// names: shared [V, D] (the token embedding of both stacks), encoder, decoder, lm_head [V, D]
// (v1.0: `shared` itself, the decoder output first scaled by d_model^-0.5; v1.1: its own).
// The encoder-decoder structure's contract: forward(Seq2SeqBatch) with logits and loss, and the
// decoding contract of src/models/incremental.ts (Seq2SeqDecodable).
import { Unpadded } from "../../../attention/unpadded.js";
import type { Bf16Weights } from "../../../nn/bf16-weights.js";
import { Embedding, Linear } from "../../../nn/layers.js";
import { Module } from "../../../nn/module.js";
import { mul } from "../../../tensor/ops/elementwise.js";
import { crossEntropy } from "../../../tensor/ops/nn.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../../../util/errors.js";
import { Rng } from "../../../util/rng.js";
import { checkSame, type ForwardOptions, type Seq2SeqBatch } from "../../encoder-decoder.js";
import type { CrossProjections } from "../../incremental.js";
import { defaultMask } from "../../inputs.js";
import { lossOnLabelledRows } from "../../labelled-rows.js";
import type { DecodingStep } from "../../model-step.js";
import type { T5Config } from "./config.js";
import { T5Stack } from "./stack.js";
import { T5Step } from "./step.js";

export class T5Model extends Module {
  readonly shared: Embedding;
  readonly encoder: T5Stack;
  readonly decoder: T5Stack;
  readonly lm_head: Linear;
  /** What the decoder output is multiplied by before the head: d_model^-0.5 (v1.0) or 1. */
  readonly outputScale: number;

  constructor(
    readonly config: T5Config,
    seed = 0,
  ) {
    super();
    const rng = new Rng(seed);
    const init = { rng, std: config.init_std };
    this.shared = this.child("shared", new Embedding(config.vocab_size, config.d_model, init));
    this.encoder = this.child("encoder", new T5Stack(config, this.shared, rng, false));
    this.decoder = this.child("decoder", new T5Stack(config, this.shared, rng, true));
    const tied = config.tie_word_embeddings ? this.shared.weight : null;
    this.lm_head = this.child(
      "lm_head",
      new Linear(config.d_model, config.vocab_size, init, false, tied),
    );
    this.outputScale = config.scale_decoder_outputs ? config.d_model ** -0.5 : 1;
  }

  /** hidden [.., D] -> logits [.., V] */
  project(hidden: Tensor): Tensor {
    return this.lm_head.forward(this.outputScale === 1 ? hidden : mul(hidden, this.outputScale));
  }

  /** ids [B, S], mask [B, S] (1 = real) -> memory [B, S, D] */
  encode(inputIds: Tensor, attentionMask: Tensor): Tensor {
    return this.encoder.forward(inputIds, attentionMask);
  }

  /** Each decoder block's cross-attention (Seq2SeqDecodable). */
  crossAttentions(): (CrossProjections | null)[] {
    return this.decoder.block.items.map((b) => b.cross?.EncDecAttention ?? null);
  }

  /** A decoding step of the decoder and head (Seq2SeqDecodable). */
  decodingStep(bf16: Bf16Weights | null): DecodingStep {
    return new T5Step(this, bf16);
  }

  /** Every decoder Linear a step reads, and the head (Seq2SeqDecodable). */
  decodingLinears(): (Linear | null)[] {
    const blocks = this.decoder.block.items.flatMap((b) => {
      const sa = b.self.SelfAttention;
      const ca = b.cross?.EncDecAttention;
      const ff = b.ff.DenseReluDense;
      return [
        sa.q_proj,
        sa.k_proj,
        sa.v_proj,
        sa.out_proj,
        ca?.q_proj ?? null,
        ca?.out_proj ?? null,
        ff.wi,
        ff.wiLinear,
        ff.wo,
      ];
    });
    return [...blocks, this.lm_head];
  }

  /**
   * Logits [B, T, V], and the mean cross-entropy over labels that are not -100 when labels are
   * given. In training with labels, padding positions are not computed (as EncoderDecoderModel).
   */
  forward(
    batch: Seq2SeqBatch,
    options: ForwardOptions = {},
  ): { logits: Tensor; loss: Tensor | null } {
    const cfg = this.config;
    const ids = batch.input_ids;
    const dec = batch.decoder_input_ids;
    if (ids.rank !== 2 || dec.rank !== 2 || ids.shape[0] !== dec.shape[0]) {
      throw new MaskwiseError(
        `input_ids ${fmtShape(ids.shape)} and decoder_input_ids ${fmtShape(dec.shape)} must be [B, S] and [B, T]`,
        { code: "E_SHAPE", where: "T5Model.forward" },
      );
    }
    const srcMask = batch.attention_mask ?? defaultMask(ids, cfg.pad_token_id, false);
    const tgtMask = batch.decoder_attention_mask ?? defaultMask(dec, cfg.pad_token_id, true);
    checkSame(srcMask, ids, "attention_mask", "input_ids");
    checkSame(tgtMask, dec, "decoder_attention_mask", "decoder_input_ids");
    if (batch.labels) checkSame(batch.labels, dec, "labels", "decoder_input_ids");
    const rng = options.rng && this.training ? options.rng : undefined;
    const training = batch.labels !== undefined && this.training;
    const unpad = training && options.unpad !== false;
    const srcRows = unpad ? Unpadded.of(srcMask) : null;
    const tgtRows = unpad ? Unpadded.of(tgtMask, batch.labels) : null;
    const memory = this.encoder.forward(ids, srcMask, { rng, rows: srcRows });
    const hidden = this.decoder.forward(dec, tgtMask, {
      rng,
      rows: tgtRows,
      memory,
      sourceMask: srcMask,
      memoryRows: srcRows,
    });
    const ceOptions = { ignoreIndex: -100, labelSmoothing: options.labelSmoothing ?? 0 };
    if (batch.labels && training) {
      const rows = lossOnLabelledRows(
        hidden,
        batch.labels,
        (h) => this.project(h),
        (l, y) => crossEntropy(l, y, ceOptions),
        tgtRows,
      );
      if (rows) return rows;
    }
    const logits = this.project(hidden);
    const loss = batch.labels ? crossEntropy(logits, batch.labels, ceOptions) : null;
    return { logits, loss };
  }
}
