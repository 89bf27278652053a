// The basic layers: Linear (weight [out, in] as PyTorch stores it), Embedding, LayerNorm.
// `forward` computes on tensors (on the tape); `into` computes the same on flat arrays into a
// given buffer, for incremental decoding, where a step's few rows make tensors and the tape cost
// more than the arithmetic.
import { bf16Bits, fromBf16, toBf16 } from "../tensor/bf16.js";
import { getBackend } from "../tensor/dispatch.js";
import { add } from "../tensor/ops/elementwise.js";
import { embeddingBf16 } from "../tensor/ops/embedding-bf16.js";
import { linear } from "../tensor/ops/linear.js";
import { linearBf16Weight } from "../tensor/ops/linear-bf16.js";
import { layerNorm } from "../tensor/ops/nn.js";
import { plainProduct } from "../tensor/ops/plain-product.js";
import { embedding } from "../tensor/ops/select.js";
import { relu } from "../tensor/ops/unary.js";
import { ones, randn, Tensor, zeros } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import type { DecodingWeights } from "./decoding-weights.js";
import { awaitingLoad, skippingInit } from "./load-build.js";
import type { LoraAdapter } from "./lora.js";
import { Module } from "./module.js";
import { epilogueInPasses, type ProductEpilogue } from "./product-epilogue.js";

/** Whether Linear and Embedding weights are being made as bfloat16 bits (buildHeldBf16). */
let buildingBf16 = false;

/**
 * Runs `build` (a model's constructor) with every Linear's own weight and every embedding table
 * made as bfloat16 bits directly, never as float32: a frozen base that will be held in bfloat16
 * (--base-precision bfloat16) never has its float32 copy. The random values are those a
 * float32 build draws, rounded (the same generator, in the same order). Heads tied to a held
 * table take its bits.
 */
export function buildHeldBf16<T>(build: () => T): T {
  const before = buildingBf16;
  buildingBf16 = true;
  try {
    return build();
  } finally {
    buildingBf16 = before;
  }
}

/** n normal values times std as bfloat16 bits, drawn as randn draws them. */
function randomBf16(n: number, rng: Rng, std: number): Uint16Array {
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = bf16Bits(rng.normal() * std);
  return out;
}

export interface InitOptions {
  rng: Rng;
  /** Standard deviation of the normal initialisation (default 0.02, as BART and GPT-2). */
  std?: number;
}

/**
 * y = x W^T + b with x [..., in], W [out, in], b [out]. `tiedWeight` makes W an existing
 * parameter, or an embedding's table (an output projection tied to the token embedding; a table
 * held in bfloat16 lends its bits).
 *
 * A frozen layer can hold W as bfloat16 only (`holdWeightBf16`): half the bytes, no float32
 * copy; its products then read the bfloat16 weight (forward and dx, never dW) while a LoRA
 * adapter on it stays float32 and trains.
 */
export class Linear extends Module {
  /** The float32 weight; null while the layer holds it as bfloat16. */
  private w: Tensor | null;
  /** W [out, in] as bfloat16 bits while the layer holds it so, else null. */
  weightBf16: Uint16Array | null = null;
  readonly bias: Tensor | null;
  /** Whether W is another module's parameter (a head tied to the embedding). */
  readonly tied: boolean;
  /** A LoRA adapter (src/nn/lora.ts) whose update `forward` and `into` add; null = none. */
  adapter: LoraAdapter | null = null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    init: InitOptions,
    withBias = true,
    tiedWeight: Tensor | Embedding | null = null,
  ) {
    super();
    this.tied = tiedWeight !== null;
    const std = init.std ?? 0.02;
    if (tiedWeight instanceof Embedding && tiedWeight.weightBf16) {
      this.w = null;
      this.weightBf16 = tiedWeight.weightBf16;
    } else if (tiedWeight) {
      this.w = this.tie("weight", tiedWeight instanceof Embedding ? tiedWeight.weight : tiedWeight);
    } else if (buildingBf16) {
      this.w = null;
      const n = outFeatures * inFeatures;
      // Built for loading (nn/load-build.ts): allocated, not drawn.
      this.weightBf16 = skippingInit()
        ? awaitingLoad(new Uint16Array(n))
        : randomBf16(n, init.rng, std);
    } else {
      const shape = [outFeatures, inFeatures];
      const w = skippingInit()
        ? new Tensor(awaitingLoad(new Float32Array(outFeatures * inFeatures)), shape)
        : randn(shape, init.rng, std);
      this.w = this.param("weight", w);
    }
    this.bias = withBias ? this.param("bias", zeros([outFeatures])) : null;
  }

  /** W [out, in] in float32; throws while the layer holds it as bfloat16 only. */
  get weight(): Tensor {
    if (!this.w) {
      throw new MaskwiseError("this layer holds its frozen weight in bfloat16 only", {
        code: "E_DTYPE",
        where: `Linear ${this.outFeatures}x${this.inFeatures}`,
        hint: "read weightBf16, or call widenWeight() for a float32 weight",
      });
    }
    return this.w;
  }

  /**
   * Keeps W as bfloat16 bits only (rounded to nearest, ties to even) and lets the float32 array
   * go: W stops being a parameter (not saved, counted or optimised). Only for a frozen weight
   * of the layer's own; returns the bytes freed (0 when already held so).
   */
  holdWeightBf16(): number {
    if (this.weightBf16) return 0;
    const w = this.weight;
    if (this.tied || w.requiresGrad) {
      throw new MaskwiseError(
        this.tied
          ? "a tied weight cannot be held in bfloat16 by one of its layers"
          : "only a frozen weight can be held in bfloat16",
        {
          code: "E_ARG",
          where: w.name ?? "Linear.weight",
          hint: this.tied ? "leave tied layers in float32" : "freeze the weight first",
        },
      );
    }
    this.weightBf16 = toBf16(w.f32);
    this.w = null;
    this.dropParam("weight");
    return w.f32.byteLength - this.weightBf16.byteLength;
  }

  /**
   * A head tied to a table now held in bfloat16 (Embedding.holdWeightBf16): the layer takes the
   * same bits as its weight, so the tie holds and the float32 table can go. Only for a tied
   * layer; its products then read the bits as a held layer's do.
   */
  tieBf16(bits: Uint16Array): void {
    if (!this.tied || bits.length !== this.outFeatures * this.inFeatures) {
      throw new MaskwiseError(
        this.tied
          ? `a ${this.outFeatures}x${this.inFeatures} layer cannot tie to ${bits.length} values`
          : "only a tied layer takes its table's bfloat16 bits",
        { code: "E_ARG", where: "Linear.tieBf16", hint: "hold an untied layer's own weight" },
      );
    }
    if (this.weightBf16 === bits) return;
    if (this.w) this.dropParam("weight");
    this.weightBf16 = bits;
    this.w = null;
  }

  /**
   * Gives a layer held in bfloat16 a float32 weight again, of the bfloat16 values (the rounding
   * stays), frozen, registered where it was. No-op for a float32 layer.
   */
  widenWeight(): Tensor {
    if (!this.weightBf16) return this.weight;
    if (this.tied) {
      throw new MaskwiseError("a tied layer shares its table's bfloat16 bits", {
        code: "E_ARG",
        where: "Linear.widenWeight",
        hint: "merge into the float32 model: load the base without --base-precision bfloat16",
      });
    }
    // Re-registered ahead of the bias so the parameters keep their order (weight, bias).
    if (this.bias) this.dropParam("bias");
    const w = this.param(
      "weight",
      new Tensor(fromBf16(this.weightBf16), [this.outFeatures, this.inFeatures]),
    );
    w.requiresGrad = false;
    if (this.bias) this.tie("bias", this.bias);
    this.w = w;
    this.weightBf16 = null;
    return w;
  }

  /** The weight's data as the layer holds it: float32, or bfloat16 bits. */
  get weightData(): Float32Array | Uint16Array {
    return this.weightBf16 ?? this.weight.f32;
  }

  /** With `relu`, returns relu(x W^T + b) as one fused op (a ReLU feed-forward's first layer). */
  /**
   * x [..., in] -> [..., out]; with `relu`, ReLU of it; with `residual` (of the result's shape),
   * add(residual, result) as one op (no ReLU then).
   */
  forward(x: Tensor, options: { relu?: boolean; residual?: Tensor } = {}): Tensor {
    const half = this.weightBf16;
    const base = (o: { relu?: boolean; residual?: Tensor }) =>
      half
        ? linearBf16Weight(x, half, this.outFeatures, this.bias, o)
        : linear(x, this.weight, this.bias, o);
    if (!this.adapter) return base(options);
    // The adapter's update joins before the activation, and the residual after both.
    const y = this.adapter.addTo(base({}), x, this.training);
    const z = options.relu ? relu(y) : y;
    return options.residual ? add(options.residual, z) : z;
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
   * the residual stream, so a sublayer's output is added without another pass); with `relu`,
   * max(0, .) of that (a ReLU feed-forward's first layer). With `copies` holding a copy of W
   * (bfloat16 or int8, src/nn/decoding-weights.ts), the product reads it; W held as bfloat16 is
   * read as it is (inputs rounded to bfloat16, as Backend.gemmBf16 does). The bias and the ReLU
   * run in the product's epilogue on the float32 path, so every precision rounds the same sums:
   * (residual + x W^T) + b.
   */
  into(
    x: Float32Array,
    out: Float32Array,
    R: number,
    residual = false,
    copies: DecodingWeights | null = null,
    relu = false,
  ): void {
    // Positional flags, not an options object: a decoding step makes this call per Linear.
    const b = this.bias?.f32 ?? null;
    const adapter = this.adapter;
    // An adapter's update joins before the activation.
    productInto(x, this.weightData, out, R, this.outFeatures, this.inFeatures, copies, {
      beta: residual ? 1 : 0,
      bias: b,
      relu: relu && !adapter,
    });
    if (adapter) {
      adapter.into(x, out, R);
      if (relu) getBackend().unary({ op: "relu", x: out, out, n: R * this.outFeatures });
    }
  }
}

/**
 * C [m, n] = beta C + A [m, k] W^T (+ bias) (ReLU) with W [n, k] (float32, or bfloat16 bits:
 * Backend.gemmBf16), or with W's copy when `copies` has one. Every row count takes the same
 * call; on the native backend the float32 product of up to 8 rows sums along k in another order
 * than that of 9 rows or more (native/gemm_skinny.cc against the packed kernels), so there a
 * decoded sentence can differ in its last bits with the number of rows that share its step.
 */
export function productInto(
  a: Float32Array,
  w: Float32Array | Uint16Array,
  c: Float32Array,
  m: number,
  n: number,
  k: number,
  copies: DecodingWeights | null,
  epilogue: ProductEpilogue = {},
): void {
  const backend = getBackend();
  if (w instanceof Float32Array && copies?.productInto(a, w, c, m, n, k, epilogue)) return;
  if (w instanceof Float32Array) {
    const beta = epilogue.beta ?? 1;
    const bias = epilogue.bias ?? null;
    const relu = epilogue.relu ?? false;
    backend.gemm(plainProduct(a, false, w, true, c, m, n, k, { beta, bias, relu }));
    return;
  }
  // A weight held as bfloat16: the product accumulates into C, the epilogue around it.
  epilogueInPasses(c, m, n, epilogue, () => backend.gemmBf16({ m, n, k, a, w, c }));
}

/**
 * Rows of a [num, dim] table looked up by int32 ids.
 *
 * A frozen table can be held as bfloat16 only (`holdWeightBf16`: half the bytes, no float32
 * copy): lookups then widen the rows they gather to float32 (exact), and a head tied to the
 * table multiplies by the same bits (`Linear.tieBf16`).
 */
export class Embedding extends Module {
  /** The float32 table; null while it is held as bfloat16. */
  private w: Tensor | null;
  /** The table [num, dim] as bfloat16 bits while it is held so, else null. */
  weightBf16: Uint16Array | null = null;
  constructor(
    readonly num: number,
    readonly dim: number,
    init: InitOptions,
    paddingIdx: number | null = null,
  ) {
    super();
    const pad = paddingIdx !== null && paddingIdx >= 0 && paddingIdx < num;
    if (skippingInit()) {
      // Built for loading (nn/load-build.ts): allocated, not drawn; the load writes the padding
      // row too.
      if (buildingBf16) {
        this.w = null;
        this.weightBf16 = awaitingLoad(new Uint16Array(num * dim));
      } else {
        this.w = this.param(
          "weight",
          new Tensor(awaitingLoad(new Float32Array(num * dim)), [num, dim]),
        );
      }
      return;
    }
    if (buildingBf16) {
      this.w = null;
      this.weightBf16 = randomBf16(num * dim, init.rng, init.std ?? 0.02);
      // bfloat16 0 is bits 0, as float32's.
      if (pad) this.weightBf16.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
      return;
    }
    const w = randn([num, dim], init.rng, init.std ?? 0.02);
    // The padding row starts at zero, as PyTorch's padding_idx does.
    if (pad) w.f32.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
    this.w = this.param("weight", w);
  }

  /** The float32 table [num, dim]; throws while it is held as bfloat16 only. */
  get weight(): Tensor {
    if (!this.w) {
      throw new MaskwiseError("this embedding holds its frozen table in bfloat16 only", {
        code: "E_DTYPE",
        where: `Embedding ${this.num}x${this.dim}`,
        hint: "read weightBf16, gather with forward/rowsInto, or take floatTable()",
      });
    }
    return this.w;
  }

  /** The table's float32 values: the table itself, or a widened copy of the bfloat16 bits. */
  floatTable(): Tensor {
    return this.weightBf16
      ? new Tensor(fromBf16(this.weightBf16), [this.num, this.dim])
      : this.weight;
  }

  /**
   * Keeps the table as bfloat16 bits only (rounded to nearest, ties to even) and lets the
   * float32 array go: it stops being a parameter (not saved, counted or optimised). Only for a
   * frozen table; returns the bytes freed (0 when already held so).
   */
  holdWeightBf16(): number {
    if (this.weightBf16) return 0;
    const w = this.weight;
    if (w.requiresGrad) {
      throw new MaskwiseError("only a frozen table can be held in bfloat16", {
        code: "E_ARG",
        where: w.name ?? "Embedding.weight",
        hint: "freeze the weight first",
      });
    }
    this.weightBf16 = toBf16(w.f32);
    this.w = null;
    this.dropParam("weight");
    return w.f32.byteLength - this.weightBf16.byteLength;
  }

  forward(ids: Tensor): Tensor {
    return this.weightBf16
      ? embeddingBf16(this.weightBf16, this.num, this.dim, ids)
      : embedding(this.weight, ids);
  }

  /**
   * out [R, dim] = the rows of `ids` [R] on flat arrays (a decoding step's tokens), widened
   * from bfloat16 where the table is held so; an id outside the table is an error.
   */
  rowsInto(ids: Int32Array, out: Float32Array): void {
    const D = this.dim;
    const half = this.weightBf16;
    const table = half ? null : this.weight.f32;
    const bits = half ? new Uint32Array(out.buffer, out.byteOffset, ids.length * D) : null;
    for (let r = 0; r < ids.length; r++) {
      const t = ids[r];
      if (!Number.isInteger(t) || t < 0 || t >= this.num) {
        throw new MaskwiseError(`token id ${t} is outside the vocabulary of ${this.num}`, {
          code: "E_INDEX",
          where: "decoding step",
        });
      }
      if (table) out.set(table.subarray(t * D, (t + 1) * D), r * D);
      else if (half && bits) for (let d = 0; d < D; d++) bits[r * D + d] = half[t * D + d] << 16;
    }
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
