// T5's feed-forward (DenseReluDense), without biases:
//   v1.0:  wo(act(wi x))
//   v1.1:  wo(act(wi_0 x) * wi_1 x)    gated, act = gelu_new (Shazeer, "GLU Variants")
// `forward` on the tape, `into` for a decoding step's rows on flat arrays.
import type { DecodingWeights } from "../../../nn/decoding-weights.js";
import { Linear } from "../../../nn/layers.js";
import { Module } from "../../../nn/module.js";
import { getBackend } from "../../../tensor/dispatch.js";
import { mul } from "../../../tensor/ops/elementwise.js";
import { dropout } from "../../../tensor/ops/nn.js";
import { gelu, geluNew } from "../../../tensor/ops/unary.js";
import type { Tensor } from "../../../tensor/tensor.js";
import type { Rng } from "../../../util/rng.js";
import type { T5Activation } from "./config.js";

export class T5DenseReluDense extends Module {
  /** wi (plain) or wi_0 (gated): the activation's input. */
  readonly wi: Linear;
  /** wi_1 (gated): the linear half the activation multiplies; null when plain. */
  readonly wiLinear: Linear | null;
  readonly wo: Linear;

  constructor(
    D: number,
    readonly F: number,
    readonly act: T5Activation,
    gated: boolean,
    init: { rng: Rng; std?: number },
  ) {
    super();
    this.wi = this.child(gated ? "wi_0" : "wi", new Linear(D, F, init, false));
    this.wiLinear = gated ? this.child("wi_1", new Linear(D, F, init, false)) : null;
    this.wo = this.child("wo", new Linear(F, D, init, false));
  }

  /** x [..., D] -> [..., D]; dropout on the hidden when `noise` is given. */
  forward(x: Tensor, noise?: { rng: Rng; p: number }): Tensor {
    let h =
      this.act === "relu"
        ? this.wi.forward(x, { relu: true })
        : (this.act === "gelu" ? gelu : geluNew)(this.wi.forward(x));
    if (this.wiLinear) h = mul(h, this.wiLinear.forward(x));
    if (noise) h = dropout(h, noise.p, noise.rng);
    return this.wo.forward(h);
  }

  /**
   * residual [R, D] += the same of x [R, D]; `hidden` holds [R, F] (and, gated, `gate` another
   * [R, F]).
   */
  into(
    x: Float32Array,
    residual: Float32Array,
    R: number,
    hidden: Float32Array,
    gate: Float32Array,
    copies: DecodingWeights | null,
  ): void {
    const n = R * this.F;
    this.wi.into(x, hidden, R, false, copies);
    getBackend().unary({ op: this.act, x: hidden, out: hidden, n });
    if (this.wiLinear) {
      this.wiLinear.into(x, gate, R, false, copies);
      for (let i = 0; i < n; i++) hidden[i] *= gate[i];
    }
    this.wo.into(hidden, residual, R, true, copies);
  }
}
