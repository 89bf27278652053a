// The basic layers: Linear (weight [out, in] as PyTorch stores it), Embedding, LayerNorm.
import { linear } from "../tensor/ops/linear.js";
import { layerNorm } from "../tensor/ops/nn.js";
import { embedding } from "../tensor/ops/select.js";
import { ones, randn, type Tensor, zeros } from "../tensor/tensor.js";
import type { Rng } from "../util/rng.js";
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
    return linear(x, this.weight, this.bias, options);
  }
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
}
