// The encoder-decoder Transformer (Vaswani et al.; BART/mBART layout and names):
//   model.encoder, model.decoder, lm_head [V, D], final_logits_bias [1, V].
// The decoder's cross-attention reads the encoder output; its self-attention is causal and masks
// decoder padding; its cross-attention masks source padding; the loss skips labels of -100.
import { Linear } from "../nn/layers.js";
import { Container, Module } from "../nn/module.js";
import { add } from "../tensor/ops/elementwise.js";
import { linear } from "../tensor/ops/linear.js";
import { crossEntropy } from "../tensor/ops/nn.js";
import { embedding } from "../tensor/ops/select.js";
import { reshape } from "../tensor/ops/shape.js";
import { Tensor, zeros } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import type { Noise } from "./blocks.js";
import type { ModelConfig } from "./config.js";
import { defaultMask } from "./inputs.js";
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
}

export class EncoderDecoderModel extends Module {
  readonly model: Container;
  readonly encoder: Encoder;
  readonly decoder: Decoder;
  readonly lm_head: Linear;
  readonly final_logits_bias: Tensor;

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
    this.final_logits_bias = this.param("final_logits_bias", zeros([1, config.vocab_size]));
  }

  /** hidden [B, T, D] -> logits [B, T, V] */
  project(hidden: Tensor): Tensor {
    // The bias-free head and final_logits_bias as one fused op: no [B, T, V]-sized temporaries.
    const head = this.lm_head;
    return head.bias
      ? add(head.forward(hidden), this.final_logits_bias)
      : linear(hidden, head.weight, this.final_logits_bias);
  }

  encode(inputIds: Tensor, attentionMask: Tensor, noise?: Noise): Tensor {
    return this.encoder.forward(inputIds, attentionMask, noise);
  }

  /**
   * Logits [B, T, V], and the mean cross-entropy over labels that are not -100 when labels are
   * given. In training mode with labels, `logits` is computed when first read (the loss does
   * not need the padded rows' logits).
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
    const memory = this.encode(ids, srcMask, noise);
    const hidden = this.decoder.forward(dec, tgtMask, memory, srcMask, noise);
    const ceOptions = { ignoreIndex: -100, labelSmoothing: options.labelSmoothing ?? 0 };
    if (batch.labels) checkSame(batch.labels, dec, "labels", "decoder_input_ids");
    const picked = batch.labels && this.training ? labelledRows(batch.labels) : null;
    if (batch.labels && picked) {
      // Training: only positions with a label need logits for the loss, so the V-wide
      // projection (the largest GEMM of a step, forward and backward) runs on those rows
      // alone: hidden [B, T, D] -> [N, D] -> logits [N, V]. The full [B, T, V] logits are
      // computed only if a caller reads them.
      const D = hidden.shape[hidden.rank - 1];
      const rows = embedding(reshape(hidden, [-1, D]), picked.index);
      const loss = crossEntropy(this.project(rows), picked.labels, ceOptions);
      const full = () => this.project(hidden);
      let logits: Tensor | null = null;
      return {
        get logits(): Tensor {
          logits ??= full();
          return logits;
        },
        loss,
      };
    }
    const logits = this.project(hidden);
    const loss = batch.labels ? crossEntropy(logits, batch.labels, ceOptions) : null;
    return { logits, loss };
  }
}

/**
 * Positions of `labels` [B, T] that are not -100, as indices into the flattened [B * T] rows and
 * their labels [N]; null when all or none have a label (then the full logits serve as well).
 */
function labelledRows(labels: Tensor): { index: Tensor; labels: Tensor } | null {
  const all = labels.i32;
  let n = 0;
  for (let i = 0; i < all.length; i++) if (all[i] !== -100) n++;
  if (n === 0 || n === all.length) return null;
  const index = new Int32Array(n);
  const picked = new Int32Array(n);
  for (let i = 0, j = 0; i < all.length; i++) {
    if (all[i] === -100) continue;
    index[j] = i;
    picked[j++] = all[i];
  }
  return { index: new Tensor(index, [n]), labels: new Tensor(picked, [n]) };
}

function checkSame(a: Tensor, b: Tensor, an: string, bn: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new MaskwiseError(
      `${an} ${fmtShape(a.shape)} does not match ${bn} ${fmtShape(b.shape)}`,
      { code: "E_SHAPE", where: "model inputs" },
    );
  }
  if (a.dtype !== "int32")
    throw new MaskwiseError(`${an} must be int32`, { code: "E_DTYPE", where: "model inputs" });
}
