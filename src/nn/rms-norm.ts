// RMS norm (Zhang & Sennrich; Llama's LlamaRMSNorm): a scale only, no bias and no mean
// subtraction,
//   y = w * x / sqrt(mean(x^2) + eps)    over the last axis.
// `forward` on the tape (one kernel each way, src/tensor/ops/nn.ts), `into` on flat arrays for a
// decoding step.
import { rmsNorm } from "../tensor/ops/nn.js";
import { ones, type Tensor } from "../tensor/tensor.js";
import { Module } from "./module.js";

export class RMSNorm extends Module {
  readonly weight: Tensor;

  constructor(
    readonly dim: number,
    readonly eps: number,
  ) {
    super();
    this.weight = this.param("weight", ones([dim]));
  }

  /** x [..., D] -> [..., D] */
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }

  /** out [R, D] = the same of x [R, D] (out may be x). */
  into(x: Float32Array, out: Float32Array, R: number): Float32Array {
    const D = this.dim;
    const w = this.weight.f32;
    for (let r = 0; r < R; r++) {
      const o = r * D;
      let s = 0;
      for (let j = 0; j < D; j++) s += x[o + j] * x[o + j];
      const inv = 1 / Math.sqrt(s / D + this.eps);
      for (let j = 0; j < D; j++) out[o + j] = w[j] * (x[o + j] * inv);
    }
    return out;
  }
}
