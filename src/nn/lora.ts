// LoRA (Hu et al., 2021): a frozen Linear layer W [out, in] learns a low-rank update instead of
// its weights,
//   y = x W^T + b + scaling * dropout(x) A^T B^T      A [r, in], B [out, r], scaling = alpha / r
// (alpha / sqrt(r) with rsLoRA). A starts as PEFT's (kaiming-uniform with a = sqrt(5), i.e.
// U(-1/sqrt(in), 1/sqrt(in))) and B at zero, so a fresh adapter leaves the model unchanged.
//
// The adapter hangs on the Linear itself (`Linear.adapter`), whose `forward` (training, a prompt)
// and `into` (a decoding step) both add the update: one definition, so incremental decoding needs
// no merged copy of the weights, the frozen base stays bit-identical while an adapter trains and
// is evaluated, and a bfloat16 copy of the base (src/nn/bf16-weights.ts) serves a step with the
// adapter added in float32. A and B are registered as the Linear's children `lora_A` and
// `lora_B`, so their parameters are named `<module>.lora_A.weight` as PEFT saves them.
import { add, mul } from "../tensor/ops/elementwise.js";
import { dropout } from "../tensor/ops/nn.js";
import type { Tensor } from "../tensor/tensor.js";
import { uniform, zeros } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import { Linear, productInto } from "./layers.js";
import { skippingInit } from "./load-build.js";
import type { Module } from "./module.js";

export interface LoraSpec {
  /** Rank of the update. */
  r: number;
  /** lora_alpha: the update is scaled by alpha / r (alpha / sqrt(r) with rsLoRA). */
  alpha: number;
  /** Dropout on the adapter's input while training (lora_dropout). */
  dropout: number;
  /** use_rslora: scale by alpha / sqrt(r). */
  rslora?: boolean;
}

/** The scale of B A in the layer's output. */
export function loraScaling(spec: LoraSpec): number {
  return spec.rslora ? spec.alpha / Math.sqrt(spec.r) : spec.alpha / spec.r;
}

export class LoraAdapter {
  /** A [r, in]. */
  readonly lora_A: Linear;
  /** B [out, r]. */
  readonly lora_B: Linear;
  readonly scaling: number;
  readonly dropout: number;
  /**
   * Where dropout's masks come from while the layer trains: the training step sets it (the
   * step's generator, so a resumed run draws the same masks); without one, no dropout.
   */
  noise: Rng | null = null;
  /** [R, r] of a decoding step (grown to the largest R seen; reused, not reallocated). */
  private hidden = new Float32Array(0);

  constructor(
    readonly layer: Linear,
    spec: LoraSpec,
    rng: Rng,
  ) {
    const { inFeatures: k, outFeatures: n } = layer;
    if (!(Number.isInteger(spec.r) && spec.r > 0)) {
      throw new MaskwiseError(`LoRA rank r must be a positive integer, got ${spec.r}`, {
        code: "E_ARG",
        where: "LoRA r",
      });
    }
    if (!(spec.dropout >= 0 && spec.dropout < 1)) {
      throw new MaskwiseError(`LoRA dropout must be in [0, 1), got ${spec.dropout}`, {
        code: "E_ARG",
        where: "LoRA dropout",
      });
    }
    const bound = 1 / Math.sqrt(k);
    this.lora_A = new Linear(k, spec.r, { rng }, false);
    // Built for loading (nn/load-build.ts), A and B stay as the load will find them.
    if (!skippingInit()) this.lora_A.weight.f32.set(uniform([spec.r, k], rng, -bound, bound).f32);
    this.lora_B = new Linear(spec.r, n, { rng }, false);
    if (!skippingInit()) this.lora_B.weight.f32.set(zeros([n, spec.r]).f32);
    this.scaling = loraScaling(spec);
    this.dropout = spec.dropout;
  }

  /** base [..., out] + scaling * B(A(dropout(x))) for x [..., in], on the tape. */
  addTo(base: Tensor, x: Tensor, training: boolean): Tensor {
    const input =
      training && this.noise && this.dropout > 0 ? dropout(x, this.dropout, this.noise) : x;
    // The scale goes on the r-wide hidden rather than the out-wide result: the same product,
    // r / out of the work.
    const h = mul(this.lora_A.forward(input), this.scaling); // [..., r]
    return add(base, this.lora_B.forward(h)); // [..., out]
  }

  /** out [R, out] += scaling * (x A^T) B^T on flat arrays (a decoding step; no dropout). */
  into(x: Float32Array, out: Float32Array, R: number): void {
    const r = this.lora_A.outFeatures;
    if (this.hidden.length < R * r) this.hidden = new Float32Array(R * r);
    const h = this.hidden;
    h.fill(0, 0, R * r);
    productInto(x, this.lora_A.weight.f32, h, R, r, this.layer.inFeatures, null);
    for (let i = 0; i < R * r; i++) h[i] *= this.scaling;
    productInto(h, this.lora_B.weight.f32, out, R, this.layer.outFeatures, r, null);
  }

  /** w [out, in] += scaling * B A, each element summed in float64 and rounded once. */
  addDeltaTo(w: Float32Array): void {
    const n = this.layer.outFeatures;
    const k = this.layer.inFeatures;
    const r = this.lora_A.outFeatures;
    const A = this.lora_A.weight.f32;
    const B = this.lora_B.weight.f32;
    const row = new Float64Array(k);
    for (let o = 0; o < n; o++) {
      row.fill(0);
      for (let j = 0; j < r; j++) {
        const b = B[o * r + j];
        if (b === 0) continue;
        for (let i = 0; i < k; i++) row[i] += b * A[j * k + i];
      }
      for (let i = 0; i < k; i++) w[o * k + i] += row[i] * this.scaling;
    }
  }
}

/** The Linear layers of `model` that carry an adapter, by module path. */
export function loraLayers(model: Module): [string, Linear][] {
  const out: [string, Linear][] = [];
  for (const [name, m] of model.namedModules())
    if (m instanceof Linear && m.adapter) out.push([name, m]);
  return out;
}

/** Whether a parameter name is an adapter's (`….lora_A.weight`, `….lora_B.weight`). */
export function isLoraParameter(name: string): boolean {
  return /(^|\.)lora_[AB]\.weight$/.test(name);
}

/**
 * Puts a fresh adapter on every Linear whose module path `target` accepts and freezes the rest
 * of the model: every parameter but the adapters' stops requiring gradients (the tape skips its
 * gradient, the optimizer never sees it). Returns the adapted layers. Throws when nothing matches.
 */
export function addLora(
  model: Module,
  spec: LoraSpec,
  target: (path: string, layer: Linear) => boolean,
  rng: Rng,
): [string, Linear][] {
  const picked: [string, Linear][] = [];
  for (const [name, m] of model.namedModules()) {
    if (!(m instanceof Linear) || !target(name, m)) continue;
    if (m.adapter) {
      throw new MaskwiseError(`${name} already has a LoRA adapter`, {
        code: "E_ARG",
        where: name,
        hint: "merge the first adapter (maskwise lora merge) before adding another",
      });
    }
    picked.push([name, m]);
  }
  if (picked.length === 0) {
    throw new MaskwiseError("no Linear layer matches the LoRA target modules", {
      code: "E_ARG",
      where: "target_modules",
      hint: "name modules of the model, e.g. q_proj,v_proj",
    });
  }
  for (const p of model.parameters()) {
    p.requiresGrad = false;
    p.grad = null;
  }
  for (const [, layer] of picked) layer.setAdapter(new LoraAdapter(layer, spec, rng));
  return picked;
}

/** Sets the dropout generator of every adapter of `model` (the training step's). */
export function setLoraNoise(layers: readonly [string, Linear][], rng: Rng | null): void {
  for (const [, l] of layers) if (l.adapter) l.adapter.noise = rng;
}

/**
 * Folds every adapter into its layer (W <- W + scaling * B A, each element summed in float64
 * and rounded once) and takes it off: the model then computes what it computed with the adapters, at the
 * base's cost. A layer holding its base weight in bfloat16 gets a float32 weight again, of the
 * bfloat16 values plus the update (for a merge onto the base as stored, load it afresh, as
 * `maskwise lora merge` does). Returns the merged layers' paths.
 */
export function mergeLora(model: Module): string[] {
  const merged: string[] = [];
  for (const [name, layer] of loraLayers(model)) {
    // A base held in bfloat16 is widened first: the merged weight carries its rounding.
    (layer.adapter as LoraAdapter).addDeltaTo(layer.widenWeight().f32);
    layer.setAdapter(null);
    merged.push(name);
  }
  return merged;
}
