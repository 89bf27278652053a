// The Transformer layers, pre-norm or post-norm, with Hugging Face BART/mBART parameter names:
//   encoder layer: self_attn, self_attn_layer_norm, fc1, fc2, final_layer_norm
//   decoder layer: self_attn, self_attn_layer_norm, encoder_attn, encoder_attn_layer_norm, fc1, fc2,
//                  final_layer_norm
// post-norm (Vaswani et al., BART): x = LN(x + sublayer(x))
// pre-norm  (mBART, GPT-2):         x = x + sublayer(LN(x)), plus a final LN after the stack.
import type { AttentionCache } from "../attention/cache.js";
import type { MaskSource } from "../attention/multi-head.js";
import { MultiHeadAttention } from "../attention/multi-head.js";
import type { Unpadded } from "../attention/unpadded.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { LayerNorm, Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { getBackend } from "../tensor/dispatch.js";
import { add } from "../tensor/ops/elementwise.js";
import { dropout } from "../tensor/ops/nn.js";
import { activation } from "../tensor/ops/unary.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Rng } from "../util/rng.js";
import type { ModelConfig } from "./config.js";
import type { StepMasks, StepView } from "./step-buffers.js";

/** Dropout randomness for one forward pass; absent in evaluation. */
export interface Noise {
  rng: Rng;
}

interface LayerSizes {
  heads: number;
  ffn: number;
}

/**
 * The feed-forward sublayer: fc2(act(fc1(x))), ReLU fused into fc1's product; with `residual`,
 * residual + that, the sum taken by fc2 as one op.
 */
function ffn(
  layer: { fc1: Linear; fc2: Linear; training: boolean },
  cfg: ModelConfig,
  x: Tensor,
  noise?: Noise,
  residual?: Tensor,
): Tensor {
  // ReLU is fused into fc1's product; the others are one element-wise op after it.
  let h =
    cfg.activation_function === "relu"
      ? layer.fc1.forward(x, { relu: true })
      : activation(cfg.activation_function, layer.fc1.forward(x));
  if (noise && layer.training) h = dropout(h, cfg.activation_dropout, noise.rng);
  return layer.fc2.forward(h, { residual });
}

/** The same on flat arrays: residual [R, D] += fc2(act(fc1(x))), the hidden in view.f [R, F]. */
function ffnInto(
  layer: { fc1: Linear; fc2: Linear },
  cfg: ModelConfig,
  x: Float32Array,
  residual: Float32Array,
  view: StepView,
  copies: DecodingWeights | null,
): void {
  const { R, f } = view;
  // ReLU runs in the product's epilogue; other activations as a pass of their own.
  const relu = cfg.activation_function === "relu";
  layer.fc1.into(x, f, R, false, copies, relu);
  if (!relu)
    getBackend().unary({ op: cfg.activation_function, x: f, out: f, n: R * layer.fc1.outFeatures });
  layer.fc2.into(f, residual, R, true, copies);
}

function residual(
  x: Tensor,
  y: Tensor,
  cfg: ModelConfig,
  training: boolean,
  noise?: Noise,
): Tensor {
  return add(x, noise && training ? dropout(y, cfg.dropout, noise.rng) : y);
}

/**
 * Where no dropout stands between a sublayer and its residual add, the sublayer's last product
 * takes the add (Linear.forward's `residual`: the same numbers, and the residual stream's
 * gradient is handed on instead of copied): `into(x)` is the residual to give the sublayer,
 * `plus(x, y)` the stream after it.
 */
function residuals(cfg: ModelConfig, training: boolean, noise?: Noise) {
  const fused = !(noise && training && cfg.dropout > 0);
  return {
    into: (x: Tensor) => (fused ? x : undefined),
    plus: (x: Tensor, y: Tensor) => (fused ? y : residual(x, y, cfg, training, noise)),
  };
}

export class EncoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;

  constructor(
    readonly cfg: ModelConfig,
    sizes: LayerSizes,
    rng: Rng,
  ) {
    super();
    const init = { rng, std: cfg.init_std };
    this.self_attn = this.child(
      "self_attn",
      new MultiHeadAttention(cfg.d_model, sizes.heads, init, cfg.attention_dropout),
    );
    this.self_attn_layer_norm = this.child(
      "self_attn_layer_norm",
      new LayerNorm(cfg.d_model, cfg.layer_norm_eps),
    );
    this.fc1 = this.child("fc1", new Linear(cfg.d_model, sizes.ffn, init));
    this.fc2 = this.child("fc2", new Linear(sizes.ffn, cfg.d_model, init));
    this.final_layer_norm = this.child(
      "final_layer_norm",
      new LayerNorm(cfg.d_model, cfg.layer_norm_eps),
    );
  }

  /**
   * x [B, S, D] -> [B, S, D]. With `weights`, its `self` receives the attention weights
   * [B, H, S, S]. With `rows`, x holds only those positions' rows [N, D] (unpadded.ts).
   */
  forward(
    x: Tensor,
    mask: MaskSource,
    options: {
      noise?: Noise;
      cache?: AttentionCache;
      weights?: { self?: Tensor };
      rows?: Unpadded | null;
    } = {},
  ): Tensor {
    const { noise, cache, weights, rows } = options;
    const { cfg } = this;
    const seed = noise?.rng.nextU32();
    const returnWeights = weights !== undefined;
    const { into, plus } = residuals(cfg, this.training, noise);
    const call = { mask, seed, cache, returnWeights, rows, residual: into(x) };
    if (cfg.normalize_before) {
      const sa = this.self_attn.forward(this.self_attn_layer_norm.forward(x), call);
      if (weights) weights.self = sa.weights;
      const h = plus(x, sa.out);
      return plus(h, ffn(this, cfg, this.final_layer_norm.forward(h), noise, into(h)));
    }
    const sa = this.self_attn.forward(x, call);
    if (weights) weights.self = sa.weights;
    const h = this.self_attn_layer_norm.forward(plus(x, sa.out));
    return this.final_layer_norm.forward(plus(h, ffn(this, cfg, h, noise, into(h))));
  }
}

/** The caches of one decoder layer during incremental decoding. */
export interface DecoderLayerCache {
  self: AttentionCache;
  cross: AttentionCache;
}

export class DecoderLayer extends Module {
  readonly self_attn: MultiHeadAttention;
  readonly self_attn_layer_norm: LayerNorm;
  readonly encoder_attn: MultiHeadAttention | null;
  readonly encoder_attn_layer_norm: LayerNorm | null;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly final_layer_norm: LayerNorm;

  constructor(
    readonly cfg: ModelConfig,
    sizes: LayerSizes,
    rng: Rng,
    withCrossAttention: boolean,
  ) {
    super();
    const init = { rng, std: cfg.init_std };
    this.self_attn = this.child(
      "self_attn",
      new MultiHeadAttention(cfg.d_model, sizes.heads, init, cfg.attention_dropout),
    );
    this.self_attn_layer_norm = this.child(
      "self_attn_layer_norm",
      new LayerNorm(cfg.d_model, cfg.layer_norm_eps),
    );
    this.encoder_attn = withCrossAttention
      ? this.child(
          "encoder_attn",
          new MultiHeadAttention(cfg.d_model, sizes.heads, init, cfg.attention_dropout),
        )
      : null;
    this.encoder_attn_layer_norm = withCrossAttention
      ? this.child("encoder_attn_layer_norm", new LayerNorm(cfg.d_model, cfg.layer_norm_eps))
      : null;
    this.fc1 = this.child("fc1", new Linear(cfg.d_model, sizes.ffn, init));
    this.fc2 = this.child("fc2", new Linear(sizes.ffn, cfg.d_model, init));
    this.final_layer_norm = this.child(
      "final_layer_norm",
      new LayerNorm(cfg.d_model, cfg.layer_norm_eps),
    );
  }

  /**
   * y [B, T, D] -> [B, T, D]. `selfMask` is causal and masks decoder padding; `crossMask` masks
   * source padding of `memory` [B, S, D] (absent: no cross-attention). With `cache`, y holds only
   * the new positions. With `rows`, y holds only those positions' rows [N, D], and with
   * `memoryRows` the memory only its kept rows [Ns, D] (unpadded.ts).
   */
  forward(
    y: Tensor,
    selfMask: MaskSource,
    options: {
      memory?: Tensor | null;
      crossMask?: MaskSource;
      noise?: Noise;
      cache?: DecoderLayerCache;
      weights?: { self?: Tensor; cross?: Tensor };
      rows?: Unpadded | null;
      memoryRows?: Unpadded | null;
    } = {},
  ): Tensor {
    const { memory, crossMask, noise, cache, weights, rows, memoryRows } = options;
    const { cfg } = this;
    const pre = cfg.normalize_before;
    const want = weights !== undefined;
    const { into, plus } = residuals(cfg, this.training, noise);
    const sa = this.self_attn.forward(pre ? this.self_attn_layer_norm.forward(y) : y, {
      mask: selfMask,
      seed: noise?.rng.nextU32(),
      cache: cache?.self,
      returnWeights: want,
      rows,
      residual: into(y),
    });
    if (weights) weights.self = sa.weights;
    let h = plus(y, sa.out);
    if (!pre) h = this.self_attn_layer_norm.forward(h);
    if (this.encoder_attn && this.encoder_attn_layer_norm && memory) {
      const ca = this.encoder_attn.forward(pre ? this.encoder_attn_layer_norm.forward(h) : h, {
        source: memory,
        mask: crossMask,
        seed: noise?.rng.nextU32(),
        cache: cache?.cross,
        returnWeights: want,
        rows,
        sourceRows: memoryRows,
        residual: into(h),
      });
      if (weights) weights.cross = ca.weights;
      h = plus(h, ca.out);
      if (!pre) h = this.encoder_attn_layer_norm.forward(h);
    }
    if (pre) return plus(h, ffn(this, cfg, this.final_layer_norm.forward(h), noise, into(h)));
    return this.final_layer_norm.forward(plus(h, ffn(this, cfg, h, noise, into(h))));
  }

  /**
   * One decoding step on flat arrays (one new token per row): view.x [R, D] goes through the
   * layer in place, as `forward` computes it with caches, without tensors, tape or dropout.
   *   pre-norm:  x += SA(LN1(x)); x += CA(LN2(x)); x += FFN(LN3(x))
   *   post-norm: x = LN1(x + SA(x)); x = LN2(x + CA(x)); x = LN3(x + FFN(x))
   */
  step(
    view: StepView,
    cache: DecoderLayerCache,
    masks: StepMasks,
    copies: DecodingWeights | null = null,
  ): void {
    const pre = this.cfg.normalize_before;
    const { R, x, h } = view;
    // Each sublayer reads LN(x) from h (pre-norm) or x itself and adds into x; post-norm then
    // normalises x in place.
    const sa = this.self_attn_layer_norm;
    this.self_attn.step(pre ? sa.into(x, h, R, view) : x, x, R, {
      cache: cache.self,
      self: true,
      keep: masks.self,
      buffers: view,
      copies,
    });
    if (!pre) sa.into(x, x, R, view);
    const ca = this.encoder_attn_layer_norm;
    if (this.encoder_attn && ca) {
      this.encoder_attn.step(pre ? ca.into(x, h, R, view) : x, x, R, {
        cache: cache.cross,
        self: false,
        keep: masks.cross,
        buffers: view,
        copies,
      });
      if (!pre) ca.into(x, x, R, view);
    }
    const fl = this.final_layer_norm;
    ffnInto(this, this.cfg, pre ? fl.into(x, h, R, view) : x, x, view, copies);
    if (!pre) fl.into(x, x, R, view);
  }
}
