// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"): Adam's update plus a
// weight decay applied to the parameters directly rather than through the gradient. The update
// itself is one backend kernel per parameter (fused in the native backend).
import { getBackend } from "../tensor/dispatch.js";
import { releaseF32 } from "../tensor/pool.js";
import type { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";

export interface AdamWOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface ParamGroup {
  params: Tensor[];
  /** Overrides the optimizer's weight decay for this group (norms and biases usually get 0). */
  weightDecay?: number;
}

interface State {
  m: Float32Array;
  v: Float32Array;
}

export class AdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly groups: ParamGroup[];
  /** Steps taken so far; the bias corrections use it. */
  step = 0;
  private readonly state = new Map<Tensor, State>();

  constructor(params: Tensor[] | ParamGroup[], options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0.01;
    const isGroups = params.length > 0 && !("data" in (params[0] as object));
    this.groups = isGroups ? (params as ParamGroup[]) : [{ params: params as Tensor[] }];
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.requiresGrad) {
          throw new MaskwiseError(
            `parameter ${p.name ?? p.toString()} does not require gradients`,
            {
              code: "E_ARG",
              where: "AdamW",
            },
          );
        }
      }
    }
  }

  /** Applies one update from the parameters' accumulated gradients (parameters without one are skipped). */
  update(): void {
    this.step++;
    const backend = getBackend();
    for (const group of this.groups) {
      const wd = group.weightDecay ?? this.weightDecay;
      for (const p of group.params) {
        if (p.grad === null) continue;
        let s = this.state.get(p);
        if (!s) {
          s = { m: new Float32Array(p.size), v: new Float32Array(p.size) };
          this.state.set(p, s);
        }
        backend.adamw({
          p: p.f32,
          g: p.grad.f32,
          m: s.m,
          v: s.v,
          n: p.size,
          lr: this.lr,
          beta1: this.beta1,
          beta2: this.beta2,
          eps: this.eps,
          weightDecay: wd,
          step: this.step,
        });
      }
    }
  }

  /**
   * Clears every parameter's gradient before the next accumulation. With `reuse`, the gradient
   * arrays go back to the buffer pool (src/tensor/pool.ts) and the next backward() writes into
   * them instead of allocating tens of megabytes afresh: only for a caller that keeps no
   * reference to a `.grad` across this call (a training loop), since the memory is rewritten.
   */
  zeroGrad(options: { reuse?: boolean } = {}): void {
    for (const group of this.groups) {
      for (const p of group.params) {
        if (options.reuse && p.grad !== null) releaseF32(p.grad.f32);
        p.grad = null;
      }
    }
  }

  /** Restores the moment estimates of one parameter (resuming from a checkpoint). */
  setState(p: Tensor, m: Float32Array, v: Float32Array): void {
    if (m.length !== p.size || v.length !== p.size) {
      throw new MaskwiseError(
        `optimizer state of ${m.length} values for a parameter of ${p.size}`,
        { code: "E_CHECKPOINT", where: p.name ?? "AdamW" },
      );
    }
    this.state.set(p, { m, v });
  }

  /** The moment estimates of one parameter (for checkpoints). */
  stateOf(p: Tensor): State | undefined {
    return this.state.get(p);
  }
}
