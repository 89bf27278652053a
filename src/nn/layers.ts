// The basic layers: Linear (weight [out, in] as PyTorch stores it), Embedding, LayerNorm.
// `forward` computes on tensors (on the tape); `into` computes the same on flat arrays into a
// given buffer, for incremental decoding, where a step's few rows make tensors and the tape cost
// more than the arithmetic.
import { gemmBf16Reference } from "../backend/reference-decode.js";
import { getBackend } from "../tensor/dispatch.js";
import { linear } from "../tensor/ops/linear.js";
import { layerNorm } from "../tensor/ops/nn.js";
import { embedding } from "../tensor/ops/select.js";
import { relu } from "../tensor/ops/unary.js";
import { ones, randn, type Tensor, zeros } from "../tensor/tensor.js";
import type { Rng } from "../util/rng.js";
import type { Bf16Weights } from "./bf16-weights.js";
import type { LoraAdapter } from "./lora.js";
import { Module } from "./module.js";

export interface InitOptions {
  rng: Rng;
  /** Standard deviation of the normal initialisation (default 0.02, as BART and GPT-2). */
  std?: number;
}

/**
 * y = x W^T + b with x [..., in], W [out, in], b [out]. `tiedWeight` makes W an existing
 * parameter (an output projection tied to the token embedding).
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  /** A LoRA adapter (src/nn/lora.ts) whose update `forward` and `into` add; null = none. */
  adapter: LoraAdapter | null = null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: InitOptions,
    withBias = true,
    tiedWeight: Tensor | null = null,
  ) {
    super();
    this.weight = tiedWeight
      ? this.tie("weight", tiedWeight)
      : this.param("weight", randn([outFeatures, inFeatures], init.rng, init.std ?? 0.02));
    this.bias = withBias ? this.param("bias", zeros([outFeatures])) : null;
  }
  /** With `relu`, returns relu(x W^T + b) as one fused op (a ReLU feed-forward's first layer). */
  forward(x: Tensor, options: { relu?: boolean } = {}): Tensor {
    if (!this.adapter) return linear(x, this.weight, this.bias, options);
    // The adapter's update joins before the activation.
    const y = this.adapter.addTo(linear(x, this.weight, this.bias), x, this.training);
    return options.relu ? relu(y) : y;
  }

  /**
   * Puts `adapter` on this layer (its A and B become the children lora_A and lora_B, PEFT's
   * names), or takes the current one off with null.
   */
  setAdapter(adapter: LoraAdapter | null): void {
    if (this.adapter) {
      this.dropChild("lora_A");
      this.dropChild("lora_B");
    }
    this.adapter = adapter;
    if (adapter) {
      this.child("lora_A", adapter.lora_A).train(this.training);
      this.child("lora_B", adapter.lora_B).train(this.training);
    }
  }

  /**
   * out [R, out] = x [R, in] W^T + b on flat arrays; with `residual`, out += x W^T + b (out holds
   * the residual stream, so a sublayer's output is added without another pass). With `bf16`
   * holding a copy of W, the product reads it (inputs rounded to bfloat16, sums float32).
   */
  into(
    x: Float32Array,
    out: Float32Array,
    R: number,
    residual = false,
    bf16: Bf16Weights | null = null,
  ): void {
    const n = this.outFeatures;
    const k = this.inFeatures;
    const b = this.bias?.f32;
    // The bias goes into C first; the product then adds to it (beta = 1).
    // Positional flags, not an options object: a decoding step makes this call per Linear.
    if (residual) {
      if (b) for (let r = 0; r < R; r++) for (let j = 0; j < n; j++) out[r * n + j] += b[j];
    } else if (b) {
      for (let r = 0; r < R; r++) out.set(b, r * n);
    } else {
      out.fill(0, 0, R * n);
    }
    productInto(x, this.weight.f32, out, R, n, k, bf16);
    this.adapter?.into(x, out, R);
  }
}

/**
 * C [m, n] += A [m, k] W^T with W [n, k], or with W's bfloat16 copy when `bf16` has one. Every
 * row count takes the same product, so a decoded sentence does not depend on how many others
 * share its batch.
 */
export function productInto(
  a: Float32Array,
  w: Float32Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  bf16: Bf16Weights | null,
): void {
  const be = getBackend();
  const half = bf16?.of(w);
  if (half) {
    if (be.gemmBf16) be.gemmBf16({ m, n, k, a, w: half, c });
    else gemmBf16Reference(m, n, k, a, half, c);
    return;
  }
  be.gemm({
    batch: 1,
    m,
    n,
    k,
    transA: false,
    transB: true,
    alpha: 1,
    beta: 1,
    a,
    aOffset: 0,
    lda: k,
    strideA: 0,
    b: w,
    bOffset: 0,
    ldb: k,
    strideB: 0,
    c,
    cOffset: 0,
    ldc: n,
    strideC: 0,
  });
}

/** Rows of a [num, dim] table looked up by int32 ids. */
export class Embedding extends Module {
  readonly weight: Tensor;
  constructor(
    readonly num: number,
    readonly dim: number,
    init: InitOptions,
    paddingIdx: number | null = null,
  ) {
    super();
    const w = randn([num, dim], init.rng, init.std ?? 0.02);
    // The padding row starts at zero, as PyTorch's padding_idx does.
    if (paddingIdx !== null && paddingIdx >= 0 && paddingIdx < num)
      w.f32.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
    this.weight = this.param("weight", w);
  }
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  constructor(
    readonly dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.param("weight", ones([dim]));
    this.bias = this.param("bias", zeros([dim]));
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }

  /** out [R, dim] = the same normalisation of x [R, dim] on flat arrays (mean, rstd: [R] scratch). */
  into(
    x: Float32Array,
    out: Float32Array,
    R: number,
    scratch: { mean: Float32Array; rstd: Float32Array },
  ): Float32Array {
    const { weight, bias, dim, eps } = this;
    getBackend().layerNorm({
      x,
      gamma: weight.f32,
      beta: bias.f32,
      out,
      mean: scratch.mean,
      rstd: scratch.rstd,
      rows: R,
      cols: dim,
      eps,
    });
    return out;
  }
}
