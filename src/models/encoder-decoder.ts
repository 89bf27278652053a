// The encoder-decoder Transformer (Vaswani et al.; BART/mBART layout and names):
//   model.encoder, model.decoder, lm_head [V, D], final_logits_bias [1, V].
// The decoder's cross-attention reads the encoder output; its self-attention is causal and masks
// decoder padding; its cross-attention masks source padding; the loss skips labels of -100.
import type { MultiHeadAttention } from "../attention/multi-head.js";
import type { Unpadded } from "../attention/unpadded.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { Linear } from "../nn/layers.js";
import { Container, Module } from "../nn/module.js";
import { type Tensor, zeros } from "../tensor/tensor.js";
import { Rng } from "../util/rng.js";
import type { Noise } from "./blocks.js";
import type { ModelConfig } from "./config.js";
import { project } from "./head.js";
import { type DecodingStep, ModelStep } from "./model-step.js";
import { seq2seqForward } from "./seq2seq-forward.js";
import { Decoder, Encoder } from "./stacks.js";

export interface Seq2SeqBatch {
  /** [B, S] int32 */
  input_ids: Tensor;
  /** [B, S] int32, 1 = real; default: input_ids != pad */
  attention_mask?: Tensor;
  /** [B, T] int32 */
  decoder_input_ids: Tensor;
  /** [B, T] int32, 1 = real; default: decoder_input_ids != pad, the start token always real */
  decoder_attention_mask?: Tensor;
  /** [B, T] int32, -100 = nothing to predict */
  labels?: Tensor;
}

export interface ForwardOptions {
  /** Dropout randomness (training); absent = deterministic. */
  rng?: Rng;
  labelSmoothing?: number;
  /**
   * In training with labels, compute the real positions only (src/attention/unpadded.ts);
   * default true. The loss and gradients are those of the padded computation.
   */
  unpad?: boolean;
}

export class EncoderDecoderModel extends Module {
  readonly model: Container;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly lm_head: Linear;
  /** [1, V], absent where the config has none (GPT-2). */
  readonly final_logits_bias: Tensor | null;

  constructor(
    readonly config: ModelConfig,
    seed = 0,
  ) {
    super();
    const rng = new Rng(seed);
    this.model = this.child("model", new Container());
    this.encoder = this.model.add("encoder", new Encoder(config, rng));
    this.decoder = this.model.add(
      "decoder",
      new Decoder(config, rng, config.share_embeddings ? this.encoder.embed_tokens : null, true),
    );
    const tied = config.tie_word_embeddings ? this.decoder.embed_tokens : null;
    this.lm_head = this.child(
      "lm_head",
      new Linear(config.d_model, config.vocab_size, { rng, std: config.init_std }, false, tied),
    );
    this.final_logits_bias = config.final_logits_bias
      ? this.param("final_logits_bias", zeros([1, config.vocab_size]))
      : null;
  }

  /** hidden [B, T, D] -> logits [B, T, V] */
  project(hidden: Tensor): Tensor {
    return project(this.lm_head, this.final_logits_bias, hidden);
  }

  encode(inputIds: Tensor, attentionMask: Tensor, noise?: Noise): Tensor {
    return this.encoder.forward(inputIds, attentionMask, { noise });
  }

  /** Each decoder layer's cross-attention (Seq2SeqDecodable, src/models/incremental.ts). */
  crossAttentions(): (MultiHeadAttention | null)[] {
    return this.decoder.layers.items.map((l) => l.encoder_attn);
  }

  /** A decoding step of the decoder and head (Seq2SeqDecodable). */
  decodingStep(copies: DecodingWeights | null): DecodingStep {
    return new ModelStep(this, copies);
  }

  /** Every decoder Linear a step reads, and the head (Seq2SeqDecodable). */
  decodingLinears(): (Linear | null | undefined)[] {
    const layers = this.decoder.layers.items.flatMap((l) => [
      l.self_attn.q_proj,
      l.self_attn.k_proj,
      l.self_attn.v_proj,
      l.self_attn.out_proj,
      l.encoder_attn?.q_proj,
      l.encoder_attn?.out_proj,
      l.fc1,
      l.fc2,
    ]);
    return [...layers, this.lm_head];
  }

  /**
   * Logits [B, T, V], and the mean cross-entropy over labels that are not -100 when labels are
   * given. In training mode with labels, `logits` is computed when first read (the loss does
   * not need the padded rows' logits), and padding positions are not computed at all: their
   * logits are the head's bias alone.
   */
  forward(
    batch: Seq2SeqBatch,
    options: ForwardOptions = {},
  ): { logits: Tensor; loss: Tensor | null } {
    return seq2seqForward(this, batch, options, "EncoderDecoderModel.forward");
  }

  /** The encoder on kept rows or all of them (seq2seq-forward.ts). */
  encodeRows(ids: Tensor, mask: Tensor, rows: Unpadded | null, rng: Rng | undefined): Tensor {
    return this.encoder.forward(ids, mask, { noise: rng ? { rng } : undefined, rows });
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
    return this.decoder.forward(ids, mask, {
      memory,
      sourceMask,
      noise: rng ? { rng } : undefined,
      rows,
      memoryRows,
    });
  }
}
