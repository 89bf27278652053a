// The encoder-decoder Transformer (Vaswani et al.; BART/mBART layout and names):
//   model.encoder, model.decoder, lm_head [V, D], final_logits_bias [1, V].
// The decoder's cross-attention reads the encoder output; its self-attention is causal and masks
// decoder padding; its cross-attention masks source padding; the loss skips labels of -100.
import type { MultiHeadAttention } from "../attention/multi-head.js";
import { Unpadded } from "../attention/unpadded.js";
import type { Bf16Weights } from "../nn/bf16-weights.js";
import { Linear } from "../nn/layers.js";
import { Container, Module } from "../nn/module.js";
import { crossEntropy } from "../tensor/ops/nn.js";
import { type Tensor, zeros } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import type { Noise } from "./blocks.js";
import type { ModelConfig } from "./config.js";
import { project } from "./head.js";
import { defaultMask } from "./inputs.js";
import { lossOnLabelledRows } from "./labelled-rows.js";
import { type DecodingStep, ModelStep } from "./model-step.js";
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
    const tied = config.tie_word_embeddings ? this.decoder.embed_tokens.weight : null;
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
  decodingStep(bf16: Bf16Weights | null): DecodingStep {
    return new ModelStep(this, bf16);
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
    const cfg = this.config;
    const ids = batch.input_ids;
    const dec = batch.decoder_input_ids;
    if (ids.rank !== 2 || dec.rank !== 2 || ids.shape[0] !== dec.shape[0]) {
      throw new MaskwiseError(
        `input_ids ${fmtShape(ids.shape)} and decoder_input_ids ${fmtShape(dec.shape)} must be [B, S] and [B, T]`,
        {
          code: "E_SHAPE",
          where: "EncoderDecoderModel.forward",
        },
      );
    }
    const srcMask = batch.attention_mask ?? defaultMask(ids, cfg.pad_token_id, false);
    const tgtMask = batch.decoder_attention_mask ?? defaultMask(dec, cfg.pad_token_id, true);
    checkSame(srcMask, ids, "attention_mask", "input_ids");
    checkSame(tgtMask, dec, "decoder_attention_mask", "decoder_input_ids");
    const noise = options.rng && this.training ? { rng: options.rng } : undefined;
    if (batch.labels) checkSame(batch.labels, dec, "labels", "decoder_input_ids");
    const training = batch.labels !== undefined && this.training;
    // Training: the real positions only (a labelled one counts as real); null = all of them.
    const unpad = training && options.unpad !== false;
    const srcRows = unpad ? Unpadded.of(srcMask) : null;
    const tgtRows = unpad ? Unpadded.of(tgtMask, batch.labels) : null;
    const memory = this.encoder.forward(ids, srcMask, { noise, rows: srcRows });
    const hidden = this.decoder.forward(dec, tgtMask, {
      memory,
      sourceMask: srcMask,
      noise,
      rows: tgtRows,
      memoryRows: srcRows,
    });
    const ceOptions = { ignoreIndex: -100, labelSmoothing: options.labelSmoothing ?? 0 };
    if (batch.labels && training) {
      // Training: the loss needs the logits of labelled positions only (labelled-rows.ts).
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

/** Checks that a batch field has the shape of another and int32 values. */
export function checkSame(a: Tensor, b: Tensor, an: string, bn: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new MaskwiseError(
      `${an} ${fmtShape(a.shape)} does not match ${bn} ${fmtShape(b.shape)}`,
      { code: "E_SHAPE", where: "model inputs" },
    );
  }
  if (a.dtype !== "int32")
    throw new MaskwiseError(`${an} must be int32`, { code: "E_DTYPE", where: "model inputs" });
}
