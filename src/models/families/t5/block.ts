// One T5 block, pre-norm with T5's layer norm, under transformers' names:
//   block.{i}.layer.0  T5LayerSelfAttention   {SelfAttention, layer_norm}
//   block.{i}.layer.1  T5LayerCrossAttention  {EncDecAttention, layer_norm}   (decoder only)
//   block.{i}.layer.-1 T5LayerFF              {DenseReluDense, layer_norm}
// Each sublayer is x = x + dropout(sublayer(layer_norm(x))). Self-attention adds the stack's
// position bias; cross-attention has none.
import type { AttentionCache } from "../../../attention/cache.js";
import type { BiasSource, MaskSource } from "../../../attention/multi-head.js";
import type { Unpadded } from "../../../attention/unpadded.js";
import type { DecodingWeights } from "../../../nn/decoding-weights.js";
import { Module, ModuleList } from "../../../nn/module.js";
import { RMSNorm } from "../../../nn/rms-norm.js";
import { add } from "../../../tensor/ops/elementwise.js";
import { dropout } from "../../../tensor/ops/nn.js";
import type { Tensor } from "../../../tensor/tensor.js";
import type { Rng } from "../../../util/rng.js";
import type { StepMasks, StepView } from "../../step-buffers.js";
import { T5Attention } from "./attention.js";
import type { T5Config } from "./config.js";
import { T5DenseReluDense } from "./feed-forward.js";

class T5LayerSelfAttention extends Module {
  readonly SelfAttention: T5Attention;
  readonly layer_norm: RMSNorm;
  constructor(cfg: T5Config, init: { rng: Rng; std?: number }, withBiasTable: boolean) {
    super();
    this.SelfAttention = this.child("SelfAttention", new T5Attention(cfg, init, withBiasTable));
    this.layer_norm = this.child("layer_norm", new RMSNorm(cfg.d_model, cfg.layer_norm_eps));
  }
}

class T5LayerCrossAttention extends Module {
  readonly EncDecAttention: T5Attention;
  readonly layer_norm: RMSNorm;
  constructor(cfg: T5Config, init: { rng: Rng; std?: number }) {
    super();
    this.EncDecAttention = this.child("EncDecAttention", new T5Attention(cfg, init, false));
    this.layer_norm = this.child("layer_norm", new RMSNorm(cfg.d_model, cfg.layer_norm_eps));
  }
}

class T5LayerFF extends Module {
  readonly DenseReluDense: T5DenseReluDense;
  readonly layer_norm: RMSNorm;
  constructor(cfg: T5Config, init: { rng: Rng; std?: number }) {
    super();
    this.DenseReluDense = this.child(
      "DenseReluDense",
      new T5DenseReluDense(
        cfg.d_model,
        cfg.encoder_ffn_dim,
        cfg.dense_act_fn,
        cfg.is_gated_act,
        init,
      ),
    );
    this.layer_norm = this.child("layer_norm", new RMSNorm(cfg.d_model, cfg.layer_norm_eps));
  }
}

/** The caches of one decoder block during incremental decoding. */
export interface T5BlockCache {
  self: AttentionCache;
  cross: AttentionCache;
}

/** What one block's pass takes beyond its input. */
export interface T5BlockCall {
  /** Self-attention mask and the stack's position bias [H, Tq, Tk]. */
  mask: MaskSource;
  bias: BiasSource;
  /** The encoder output [B, S, D] (or its kept rows) and its key padding (decoder). */
  memory?: Tensor | null;
  crossMask?: MaskSource;
  rng?: Rng;
  rows?: Unpadded | null;
  memoryRows?: Unpadded | null;
}

export class T5Block extends Module {
  readonly self: T5LayerSelfAttention;
  readonly cross: T5LayerCrossAttention | null;
  readonly ff: T5LayerFF;

  constructor(
    readonly cfg: T5Config,
    init: { rng: Rng; std?: number },
    first: boolean,
    decoder: boolean,
  ) {
    super();
    this.self = new T5LayerSelfAttention(cfg, init, first);
    this.cross = decoder ? new T5LayerCrossAttention(cfg, init) : null;
    this.ff = new T5LayerFF(cfg, init);
    const sublayers: Module[] = this.cross
      ? [this.self, this.cross, this.ff]
      : [this.self, this.ff];
    this.child("layer", new ModuleList(sublayers));
  }

  /** x [B, T, D] (or kept rows [N, D]) -> the same shape. */
  forward(x: Tensor, call: T5BlockCall): Tensor {
    const { rng, rows } = call;
    const p = this.cfg.dropout;
    const drop = (y: Tensor) => (rng && this.training ? dropout(y, p, rng) : y);
    const sa = this.self.SelfAttention.forward(this.self.layer_norm.forward(x), {
      mask: call.mask,
      bias: call.bias,
      seed: rng?.nextU32(),
      rows,
    });
    let h = add(x, drop(sa.out));
    if (this.cross && call.memory) {
      const ca = this.cross.EncDecAttention.forward(this.cross.layer_norm.forward(h), {
        source: call.memory,
        mask: call.crossMask,
        seed: rng?.nextU32(),
        rows,
        sourceRows: call.memoryRows,
      });
      h = add(h, drop(ca.out));
    }
    const noise = rng && this.training ? { rng, p } : undefined;
    return add(h, drop(this.ff.DenseReluDense.forward(this.ff.layer_norm.forward(h), noise)));
  }

  /**
   * One decoding step on flat arrays: view.x [R, D] goes through the block in place,
   *   x += SA(LN0(x)) (with the bias row of this step's position); x += CA(LN1(x)); x += FF(LN2(x))
   * `gate` is the gated feed-forward's second hidden [R, F].
   */
  step(
    view: StepView,
    cache: T5BlockCache,
    masks: StepMasks,
    bias: { bias: Float32Array; offset: number; headStride: number },
    gate: Float32Array,
    copies: DecodingWeights | null,
  ): void {
    const { R, x, h } = view;
    this.self.SelfAttention.step(this.self.layer_norm.into(x, h, R), x, R, {
      cache: cache.self,
      self: true,
      keep: masks.self,
      buffers: view,
      copies,
      bias,
    });
    if (this.cross) {
      this.cross.EncDecAttention.step(this.cross.layer_norm.into(x, h, R), x, R, {
        cache: cache.cross,
        self: false,
        keep: masks.cross,
        buffers: view,
        copies,
      });
    }
    this.ff.DenseReluDense.into(this.ff.layer_norm.into(x, h, R), x, R, view.f, gate, copies);
  }
}
