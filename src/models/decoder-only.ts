// The decoder-only Transformer (a causal language model) with BART's causal-LM names:
// model.decoder.* (no cross-attention), lm_head [V, D], final_logits_bias [1, V].
//
// Labels are aligned with positions: labels[t] is what position t must predict (the next token),
// -100 where nothing is predicted. The model does not shift them; the causal LM objective builds
// them (src/objectives), so what is predicted from what stays visible in the data.
import { Unpadded } from "../attention/unpadded.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { Linear } from "../nn/layers.js";
import { Container, Module } from "../nn/module.js";
import { crossEntropy } from "../tensor/ops/nn.js";
import { type Tensor, zeros } from "../tensor/tensor.js";
import { Rng } from "../util/rng.js";
import type { DecoderLayerCache } from "./blocks.js";
import type { ModelConfig } from "./config.js";
import { project } from "./head.js";
import type { DecoderOnlyDecodable } from "./incremental.js";
import { defaultMask } from "./inputs.js";
import { lossOnLabelledRows } from "./labelled-rows.js";
import { type DecodingStep, ModelStep } from "./model-step.js";
import { Decoder } from "./stacks.js";

export interface LMBatch {
  /** [B, T] int32; left padding is safe (positions come from the mask). */
  input_ids: Tensor;
  /** [B, T] int32, 1 = real; default: input_ids != pad */
  attention_mask?: Tensor;
  /** [B, T] int32, -100 = nothing to predict */
  labels?: Tensor;
  /** Prefix LM: per row, positions before this are bidirectional (causal | prefix); absent = causal. */
  prefix_lengths?: readonly number[];
  /** [B, T] int32 token types (segments) of a model that has them (BERT); default 0. */
  token_type_ids?: Tensor;
  /**
   * [B, T] int32 position of each token; default: counted over the real tokens of the mask.
   * Packed rows (several documents in one row) restart at 0 with each document.
   */
  position_ids?: Tensor;
  /**
   * [B, T] int32 packed document of each token: a query sees only the keys of its own document
   * (causal | prefix as ever within it), so a packed row computes what each document alone would.
   */
  document_ids?: Tensor;
}

export class DecoderOnlyModel extends Module implements DecoderOnlyDecodable {
  readonly model: Container;
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
    this.decoder = this.model.add("decoder", new Decoder(config, rng, null, false));
    const tied = config.tie_word_embeddings ? this.decoder.embed_tokens : null;
    this.lm_head = this.child(
      "lm_head",
      new Linear(config.d_model, config.vocab_size, { rng, std: config.init_std }, false, tied),
    );
    this.final_logits_bias = config.final_logits_bias
      ? this.param("final_logits_bias", zeros([1, config.vocab_size]))
      : null;
  }

  project(hidden: Tensor): Tensor {
    return project(this.lm_head, this.final_logits_bias, hidden);
  }

  /** Layers with a KV cache (DecoderOnlyDecodable). */
  get cachedLayers(): number {
    return this.decoder.layers.items.length;
  }

  /** ids [N, Tnew] on the caches, mask [N, Tall] -> logits [N, Tnew, V] (DecoderOnlyDecodable). */
  logitsOnCaches(
    ids: Tensor,
    mask: Tensor,
    caches: readonly DecoderLayerCache[],
    prefixLengths?: readonly number[],
  ): Tensor {
    return this.project(this.decoder.forward(ids, mask, { caches: [...caches], prefixLengths }));
  }

  /** A decoding step of the decoder and head (DecoderOnlyDecodable). */
  decodingStep(copies: DecodingWeights | null): DecodingStep {
    return new ModelStep(this, copies);
  }

  /** Every Linear a decoding step reads, and the head (their bfloat16 copies decode in bfloat16). */
  decodingLinears(): Linear[] {
    const layers = this.decoder.layers.items.flatMap((l) => [
      l.self_attn.q_proj,
      l.self_attn.k_proj,
      l.self_attn.v_proj,
      l.self_attn.out_proj,
      l.fc1,
      l.fc2,
    ]);
    return [...layers, this.lm_head];
  }

  forward(
    batch: LMBatch,
    options: { rng?: Rng; labelSmoothing?: number; unpad?: boolean } = {},
  ): { logits: Tensor; loss: Tensor | null } {
    const mask =
      batch.attention_mask ?? defaultMask(batch.input_ids, this.config.pad_token_id, false);
    const noise = options.rng && this.training ? { rng: options.rng } : undefined;
    // Training: the real positions only (src/attention/unpadded.ts); padding's logits are the
    // head's bias alone.
    const rows =
      batch.labels && this.training && options.unpad !== false
        ? Unpadded.of(mask, batch.labels)
        : null;
    const hidden = this.decoder.forward(batch.input_ids, mask, {
      noise,
      prefixLengths: batch.prefix_lengths,
      rows,
      positionIds: batch.position_ids,
      documentIds: batch.document_ids,
    });
    const ceOptions = { labelSmoothing: options.labelSmoothing ?? 0 };
    if (batch.labels && this.training) {
      // Training: the loss needs the logits of labelled positions only (labelled-rows.ts).
      const out = lossOnLabelledRows(
        hidden,
        batch.labels,
        (h) => this.project(h),
        (l, y) => crossEntropy(l, y, ceOptions),
        rows,
      );
      if (out) return out;
    }
    const logits = this.project(hidden);
    const loss = batch.labels ? crossEntropy(logits, batch.labels, ceOptions) : null;
    return { logits, loss };
  }
}
