// T5 (Raffel et al.; transformers' T5ForConditionalGeneration, v1.0 and v1.1) under its tensor
// names: shared [V, D] (the token embedding of both stacks), encoder, decoder, lm_head [V, D]
// (v1.0: `shared` itself, the decoder output first scaled by d_model^-0.5; v1.1: its own).
// The encoder-decoder structure's contract: forward(Seq2SeqBatch) with logits and loss, and the
// decoding contract of src/models/incremental.ts (Seq2SeqDecodable).
import type { Unpadded } from "../../../attention/unpadded.js";
import type { DecodingWeights } from "../../../nn/decoding-weights.js";
import { Embedding, Linear } from "../../../nn/layers.js";
import { Module } from "../../../nn/module.js";
import { mul } from "../../../tensor/ops/elementwise.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { Rng } from "../../../util/rng.js";
import type { ForwardOptions, Seq2SeqBatch } from "../../encoder-decoder.js";
import type { CrossProjections } from "../../incremental.js";
import type { DecodingStep } from "../../model-step.js";
import { seq2seqForward } from "../../seq2seq-forward.js";
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
    const tied = config.tie_word_embeddings ? this.shared : null;
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
  decodingStep(copies: DecodingWeights | null): DecodingStep {
    return new T5Step(this, copies);
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
    return seq2seqForward(this, batch, options, "T5Model.forward");
  }

  /** The encoder on kept rows or all of them (seq2seq-forward.ts). */
  encodeRows(ids: Tensor, mask: Tensor, rows: Unpadded | null, rng: Rng | undefined): Tensor {
    return this.encoder.forward(ids, mask, { rng, rows });
  }

  /** The decoder on the encoder's output (seq2seq-forward.ts). */
  decodeRows(
    ids: Tensor,
    mask: Tensor,
    memory: Tensor,
    sourceMask: Tensor,
    rows: Unpadded | null,
    memoryRows: Unpadded | null,
    rng: Rng | undefined,
  ): Tensor {
    return this.decoder.forward(ids, mask, { rng, rows, memory, sourceMask, memoryRows });
  }
}
