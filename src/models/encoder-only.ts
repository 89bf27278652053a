// The encoder-only Transformer with a masked-LM head (BERT/RoBERTa): model.encoder.* and
//   lm_head.dense [D, D] -> GELU -> lm_head.layer_norm -> lm_head.decoder [V, D] + lm_head.bias [V]
// where lm_head.decoder is the token embedding when tie_word_embeddings is set.

import { Unpadded } from "../attention/unpadded.js";
import { type Embedding, LayerNorm, Linear } from "../nn/layers.js";
import { Container, Module } from "../nn/module.js";
import { add } from "../tensor/ops/elementwise.js";
import { crossEntropy } from "../tensor/ops/nn.js";
import { gelu } from "../tensor/ops/unary.js";
import { type Tensor, zeros } from "../tensor/tensor.js";
import { Rng } from "../util/rng.js";
import type { ModelConfig } from "./config.js";
import type { LMBatch } from "./decoder-only.js";
import { defaultMask } from "./inputs.js";
import { lossOnLabelledRows } from "./labelled-rows.js";
import { Encoder } from "./stacks.js";

class MaskedLMHead extends Module {
  readonly dense: Linear;
  readonly layer_norm: LayerNorm;
  readonly decoder: Linear;
  readonly bias: Tensor;
  constructor(cfg: ModelConfig, rng: Rng, tied: Embedding | null) {
    super();
    const init = { rng, std: cfg.init_std };
    this.dense = this.child("dense", new Linear(cfg.d_model, cfg.d_model, init));
    this.layer_norm = this.child("layer_norm", new LayerNorm(cfg.d_model, cfg.layer_norm_eps));
    this.decoder = this.child(
      "decoder",
      new Linear(cfg.d_model, cfg.vocab_size, init, false, tied),
    );
    this.bias = this.param("bias", zeros([cfg.vocab_size]));
  }
  forward(h: Tensor): Tensor {
    return add(
      this.decoder.forward(this.layer_norm.forward(gelu(this.dense.forward(h)))),
      this.bias,
    );
  }
}

export class EncoderOnlyModel extends Module {
  readonly model: Container;
  readonly encoder: Encoder;
  readonly lm_head: MaskedLMHead;

  constructor(
    readonly config: ModelConfig,
    seed = 0,
  ) {
    super();
    const rng = new Rng(seed);
    this.model = this.child("model", new Container());
    this.encoder = this.model.add("encoder", new Encoder(config, rng));
    this.lm_head = this.child(
      "lm_head",
      new MaskedLMHead(config, rng, config.tie_word_embeddings ? this.encoder.embed_tokens : null),
    );
  }

  /** Hidden states [B, T, D] (what a downstream model reuses as its encoder). */
  encode(ids: Tensor, mask: Tensor, rng?: Rng): Tensor {
    return this.encoder.forward(ids, mask, { noise: rng && this.training ? { rng } : undefined });
  }

  /**
   * Masked-LM logits [B, T, V]; labels hold the original token at masked positions, -100
   * elsewhere. In training with labels, padding positions are not computed (their logits are
   * the head of a zero state) unless `unpad` is false.
   */
  forward(
    batch: LMBatch,
    options: { rng?: Rng; unpad?: boolean } = {},
  ): { logits: Tensor; loss: Tensor | null } {
    const mask =
      batch.attention_mask ?? defaultMask(batch.input_ids, this.config.pad_token_id, false);
    const rows =
      batch.labels && this.training && options.unpad !== false
        ? Unpadded.of(mask, batch.labels)
        : null;
    const noise = options.rng && this.training ? { rng: options.rng } : undefined;
    const hidden = this.encoder.forward(batch.input_ids, mask, {
      noise,
      rows,
      tokenTypes: batch.token_type_ids,
    });
    if (batch.labels && this.training) {
      // Training: only the masked positions (about 15%) need the head and its V-wide logits
      // for the loss (labelled-rows.ts).
      const out = lossOnLabelledRows(
        hidden,
        batch.labels,
        (h) => this.lm_head.forward(h),
        (l, y) => crossEntropy(l, y),
        rows,
      );
      if (out) return out;
    }
    const logits = this.lm_head.forward(hidden);
    const loss = batch.labels ? crossEntropy(logits, batch.labels) : null;
    return { logits, loss };
  }
}
