// Llama, Qwen2 and Mistral (transformers' LlamaForCausalLM, Qwen2ForCausalLM,
// MistralForCausalLM) under their tensor names:
//   model.embed_tokens [V, D]
//   model.layers.{i}.input_layernorm            RMS norm before attention
//   model.layers.{i}.self_attn.{q,k,v,o}_proj   H query heads, Hkv key/value heads of Dh, RoPE on
//                                              q and k; biases on q, k, v in Qwen2
//   model.layers.{i}.post_attention_layernorm   RMS norm before the MLP
//   model.layers.{i}.mlp.{gate,up,down}_proj    SwiGLU: down(act(gate(x)) * up(x))
//   model.norm                                  the final RMS norm
//   lm_head [V, D]                              or model.embed_tokens itself (tied)
// Each layer is pre-norm: x += attn(norm1(x)); x += mlp(norm2(x)). No position table: positions
// (from the attention mask, so left padding is safe) only turn q and k. Mistral's layers (and
// Qwen2's sliding ones) see a causal window of W keys.
// Keeps the decoder-only structure's contract (forward(LMBatch)) and its decoding contract
// (DecoderOnlyDecodable of src/models/incremental.ts).

import type { AttentionCache } from "../../../attention/cache.js";
import {
  type AttendMask,
  and,
  causal,
  documents,
  keyPaddingFromAttentionMask,
  prefixLM,
  slidingWindow,
} from "../../../attention/masks.js";
import { type MaskSource, MultiHeadAttention } from "../../../attention/multi-head.js";
import { Rope } from "../../../attention/rope.js";
import { Unpadded } from "../../../attention/unpadded.js";
import type { DecodingWeights } from "../../../nn/decoding-weights.js";
import { Embedding, Linear } from "../../../nn/layers.js";
import { Module, ModuleList } from "../../../nn/module.js";
import { RMSNorm } from "../../../nn/rms-norm.js";
import { getBackend } from "../../../tensor/dispatch.js";
import { mul } from "../../../tensor/ops/elementwise.js";
import { crossEntropy } from "../../../tensor/ops/nn.js";
import { swiglu } from "../../../tensor/ops/swiglu.js";
import { activation } from "../../../tensor/ops/unary.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { MaskwiseError } from "../../../util/errors.js";
import { Rng } from "../../../util/rng.js";
import type { DecoderLayerCache } from "../../blocks.js";
import type { LMBatch } from "../../decoder-only.js";
import { chunkedHeadLoss } from "../../head-loss.js";
import type { DecoderOnlyDecodable } from "../../incremental.js";
import { defaultMask, documentRows, inputPositions } from "../../inputs.js";
import { lossOnLabelledRows } from "../../labelled-rows.js";
import type { DecodingStep } from "../../model-step.js";
import type { StepView } from "../../step-buffers.js";
import type { LlamaConfig } from "./config.js";
import { LlamaStep } from "./step.js";

type Init = { rng: Rng; std?: number };

/** SwiGLU (Shazeer, "GLU Variants"): down_proj(act(gate_proj(x)) * up_proj(x)), act = SiLU. */
export class LlamaMLP extends Module {
  readonly gate_proj: Linear;
  readonly up_proj: Linear;
  readonly down_proj: Linear;

  constructor(
    readonly cfg: LlamaConfig,
    init: Init,
  ) {
    super();
    const { d_model: D, decoder_ffn_dim: F, mlp_bias: bias } = cfg;
    this.gate_proj = this.child("gate_proj", new Linear(D, F, init, bias));
    this.up_proj = this.child("up_proj", new Linear(D, F, init, bias));
    this.down_proj = this.child("down_proj", new Linear(F, D, init, bias));
  }

  /** x [..., D] -> [..., D]; with `residual`, residual + that, the sum taken by down_proj. */
  forward(x: Tensor, residual?: Tensor): Tensor {
    const act = this.cfg.activation_function;
    const gate = this.gate_proj.forward(x);
    const up = this.up_proj.forward(x);
    // SiLU's gate as one op (the same numbers as activation, then mul).
    const hidden = act === "silu" ? swiglu(gate, up) : mul(activation(act, gate), up);
    return this.down_proj.forward(hidden, { residual });
  }

  /** residual [R, D] += the same of x [R, D]; hidden and up hold [R, F]. */
  into(
    x: Float32Array,
    residual: Float32Array,
    R: number,
    hidden: Float32Array,
    up: Float32Array,
    copies: DecodingWeights | null,
  ): void {
    const n = R * this.cfg.decoder_ffn_dim;
    this.gate_proj.into(x, hidden, R, false, copies);
    getBackend().unary({ op: this.cfg.activation_function, x: hidden, out: hidden, n });
    this.up_proj.into(x, up, R, false, copies);
    for (let i = 0; i < n; i++) hidden[i] *= up[i];
    this.down_proj.into(hidden, residual, R, true, copies);
  }
}

/** What a layer's pass takes beyond its input. */
export interface LlamaLayerCall {
  /** The layer's self-attention mask (built from the cache length). */
  mask: MaskSource;
  /** The positions of x's tokens [B, T] (or [N] with `rows`). */
  positions: Tensor;
  cache?: AttentionCache;
  rows?: Unpadded | null;
  /** Seed of the attention dropout (training only). */
  seed?: number;
}

export class LlamaDecoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly mlp: LlamaMLP;
  readonly input_layernorm: RMSNorm;
  readonly post_attention_layernorm: RMSNorm;

  constructor(
    readonly cfg: LlamaConfig,
    init: Init,
    rope: Rope,
    /** The sliding window W of this layer, or null (full causal attention). */
    readonly window: number | null,
  ) {
    super();
    this.self_attn = this.child(
      "self_attn",
      new MultiHeadAttention(
        cfg.d_model,
        cfg.decoder_attention_heads,
        init,
        cfg.attention_dropout,
        {
          headDim: cfg.head_dim,
          kvHeads: cfg.num_key_value_heads,
          bias: cfg.attention_biases,
          names: ["q_proj", "k_proj", "v_proj", "o_proj"],
          rope,
        },
      ),
    );
    this.mlp = this.child("mlp", new LlamaMLP(cfg, init));
    this.input_layernorm = this.child(
      "input_layernorm",
      new RMSNorm(cfg.d_model, cfg.layer_norm_eps),
    );
    this.post_attention_layernorm = this.child(
      "post_attention_layernorm",
      new RMSNorm(cfg.d_model, cfg.layer_norm_eps),
    );
  }

  /** x [B, T, D] (or kept rows [N, D]) -> the same shape. */
  forward(x: Tensor, call: LlamaLayerCall): Tensor {
    const sa = this.self_attn.forward(this.input_layernorm.forward(x), {
      mask: call.mask,
      positions: call.positions,
      cache: call.cache,
      rows: call.rows,
      seed: call.seed,
      // x + attention and h + MLP taken by o_proj and down_proj (no dropout between).
      residual: x,
    });
    const h = sa.out;
    return this.mlp.forward(this.post_attention_layernorm.forward(h), h);
  }

  /**
   * One decoding step on flat arrays: view.x [R, D] goes through the layer in place,
   *   x += attn(norm1(x)) on the cache; x += mlp(norm2(x))
   * `keep` says which cached positions each row sees (padding, and the window); `up` is the
   * MLP's second hidden [R, F].
   */
  step(
    view: StepView,
    cache: AttentionCache,
    keep: { keep: Uint8Array; stride: number } | null,
    positions: Int32Array,
    up: Float32Array,
    copies: DecodingWeights | null,
  ): void {
    const { R, x, h } = view;
    this.self_attn.step(this.input_layernorm.into(x, h, R), x, R, {
      cache,
      self: true,
      keep,
      buffers: view,
      copies,
      positions,
    });
    this.mlp.into(this.post_attention_layernorm.into(x, h, R), x, R, view.f, up, copies);
  }
}

/** What a pass of the layers may take beyond ids and mask. */
export interface LlamaStackCall {
  /** One per layer: the KV caches of incremental decoding (ids then hold the new positions). */
  caches?: readonly DecoderLayerCache[];
  /** Compute only these positions (no caches): hidden [N, D] holds their rows. */
  rows?: Unpadded | null;
  /** Prefix LM: per row, keys before this are seen by every query (full-attention layers). */
  prefixLengths?: readonly number[];
  /** Attention dropout randomness (training). */
  rng?: Rng;
  /** Position of each new token [B, Tnew] (packed rows restart at 0); default: from the mask. */
  positionIds?: Tensor;
  /** Packed document of every position so far [B, Tall]: attention stays within a document. */
  documentIds?: Tensor;
}

/** LlamaModel: the token embedding, the layers and the final norm. */
export class LlamaStack extends Module {
  readonly embed_tokens: Embedding;
  readonly layers: ModuleList<LlamaDecoderLayer>;
  readonly norm: RMSNorm;
  readonly rope: Rope;

  constructor(
    readonly cfg: LlamaConfig,
    init: Init,
  ) {
    super();
    const pad = cfg.source_config?.pad_token_id;
    this.embed_tokens = this.child(
      "embed_tokens",
      new Embedding(cfg.vocab_size, cfg.d_model, init, typeof pad === "number" ? pad : null),
    );
    this.rope = new Rope(cfg.head_dim, cfg.rope);
    this.layers = this.child(
      "layers",
      new ModuleList(
        cfg.sliding_windows.map((w) => new LlamaDecoderLayer(cfg, init, this.rope, w)),
      ),
    );
    this.norm = this.child("norm", new RMSNorm(cfg.d_model, cfg.layer_norm_eps));
  }

  /**
   * ids [B, Tnew] -> hidden [B, Tnew, D] (or [N, D] with `rows`), after the final norm.
   * `attentionMask` [B, Tpast + Tnew] covers every position so far: it gives the positions
   * (the number of real tokens before each, as transformers' generate counts them) and the key
   * padding.
   */
  forward(ids: Tensor, attentionMask: Tensor, call: LlamaStackCall = {}): Tensor {
    const { caches, rows, prefixLengths, rng, positionIds, documentIds } = call;
    const Tnew = ids.shape[1];
    const Tall = attentionMask.shape[1];
    if (rows && (caches || Tnew !== Tall)) {
      throw new MaskwiseError("layers on kept rows only compute every position, uncached", {
        code: "E_ARG",
        where: "LlamaStack.forward",
      });
    }
    const keyPad = keyPaddingFromAttentionMask(attentionMask);
    const positions = inputPositions(ids, attentionMask, positionIds);
    const docs = documentIds ? documentRows(documentIds, attentionMask) : null;
    // Packed rows: every layer's mask (window, prefix or causal) also keeps to the document.
    const pad = (past: number) => (docs ? and(documents(docs, past), keyPad) : keyPad);
    let x = this.embed_tokens.forward(rows ? rows.pick(ids) : ids);
    const pos = rows ? rows.pick(positions) : positions;
    const dropout = rng && this.training && this.cfg.attention_dropout > 0;
    // One mask object per (window, past length) for all layers: the attention caches a mask's
    // grid and block map (and the unpadded layout its kept-queries mask) per object, so a new
    // object per layer would rebuild them in every layer.
    const masks = new Map<string, AttendMask>();
    const maskFor = (w: number | null, past: number): AttendMask => {
      const key = `${w}:${past}`;
      let mask = masks.get(key);
      if (!mask) {
        const order =
          w !== null
            ? slidingWindow(w, past)
            : prefixLengths
              ? prefixLM(prefixLengths, past)
              : causal(past);
        mask = and(order, pad(past));
        masks.set(key, mask);
      }
      return mask;
    };
    this.layers.items.forEach((layer, i) => {
      const w = layer.window;
      const mask: MaskSource = (past) => maskFor(w, past);
      x = layer.forward(x, {
        mask,
        positions: pos,
        cache: caches?.[i].self,
        rows,
        seed: dropout ? rng.nextU32() : undefined,
      });
    });
    return this.norm.forward(x);
  }
}

export class LlamaForCausalLM extends Module implements DecoderOnlyDecodable {
  readonly model: LlamaStack;
  readonly lm_head: Linear;

  constructor(
    readonly config: LlamaConfig,
    seed = 0,
  ) {
    super();
    const rng = new Rng(seed);
    const init = { rng, std: config.init_std };
    this.model = this.child("model", new LlamaStack(config, init));
    const tied = config.tie_word_embeddings ? this.model.embed_tokens : null;
    this.lm_head = this.child(
      "lm_head",
      new Linear(config.d_model, config.vocab_size, init, false, tied),
    );
  }

  /** hidden [.., D] -> logits [.., V] */
  project(hidden: Tensor): Tensor {
    return this.lm_head.forward(hidden);
  }

  /**
   * Logits [B, T, V], and the mean cross-entropy over labels that are not -100 when labels are
   * given (labels aligned with positions: labels[t] is what position t predicts). In training
   * with labels, padding positions are not computed (src/attention/unpadded.ts).
   */
  forward(
    batch: LMBatch,
    options: { rng?: Rng; labelSmoothing?: number; unpad?: boolean } = {},
  ): { logits: Tensor; loss: Tensor | null } {
    const mask =
      batch.attention_mask ?? defaultMask(batch.input_ids, this.config.pad_token_id, false);
    const rows =
      batch.labels && this.training && options.unpad !== false
        ? Unpadded.of(mask, batch.labels)
        : null;
    const hidden = this.model.forward(batch.input_ids, mask, {
      rows,
      prefixLengths: batch.prefix_lengths,
      rng: options.rng,
      positionIds: batch.position_ids,
      documentIds: batch.document_ids,
    });
    const ceOptions = { labelSmoothing: options.labelSmoothing ?? 0 };
    if (batch.labels && this.training) {
      const out = lossOnLabelledRows(
        hidden,
        batch.labels,
        (h) => this.project(h),
        (l, y) => crossEntropy(l, y, ceOptions),
        rows,
        (h, y) => chunkedHeadLoss(this.lm_head, h, y, ceOptions),
      );
      if (out) return out;
    }
    const logits = this.project(hidden);
    const loss = batch.labels ? crossEntropy(logits, batch.labels, ceOptions) : null;
    return { logits, loss };
  }

  /** Layers with a KV cache (DecoderOnlyDecodable). */
  get cachedLayers(): number {
    return this.model.layers.items.length;
  }

  /** ids [N, Tnew] on the caches, mask [N, Tall] -> logits [N, Tnew, V] (DecoderOnlyDecodable). */
  logitsOnCaches(
    ids: Tensor,
    mask: Tensor,
    caches: readonly DecoderLayerCache[],
    prefixLengths?: readonly number[],
  ): Tensor {
    return this.project(this.model.forward(ids, mask, { caches, prefixLengths }));
  }

  /** A decoding step of the layers and head (DecoderOnlyDecodable). */
  decodingStep(copies: DecodingWeights | null): DecodingStep {
    return new LlamaStep(this, copies);
  }

  /** Every Linear a step multiplies by, and the head. */
  decodingLinears(): Linear[] {
    return [
      ...this.model.layers.items.flatMap((l) => [
        l.self_attn.q_proj,
        l.self_attn.k_proj,
        l.self_attn.v_proj,
        l.self_attn.out_proj,
        l.mlp.gate_proj,
        l.mlp.up_proj,
        l.mlp.down_proj,
      ]),
      this.lm_head,
    ];
  }
}
