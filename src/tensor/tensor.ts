// The Tensor: a flat typed array in row-major order with a shape, a dtype, and (for float32
// tensors that need it) a place on the autograd tape.
//
// Tensors are always contiguous. Views are used only where they are free: `reshape` shares the
// data array. Everything else (transpose, slice, concat) copies once, which keeps every kernel a
// plain loop over contiguous memory; matmul takes transpose flags so the common transposes never
// copy at all.
import { fmtShape, MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import type { TapeNode } from "./autograd.js";

export type DType = "float32" | "int32";
export type TypedData = Float32Array | Int32Array;

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

function checkShape(shape: readonly number[], op: string): void {
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) {
      throw new MaskwiseError(`invalid shape ${fmtShape(shape)}`, {
        code: "E_SHAPE",
        where: op,
        hint: "dimensions must be non-negative integers",
      });
    }
  }
}

export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: TypedData;
  /** True for parameters and for every result computed from one while gradients are on. */
  requiresGrad: boolean;
  /** The accumulated gradient of a leaf tensor (a parameter) after `backward()`. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, while the tape holds it; null for leaves. */
  node: TapeNode | null = null;
  /** An optional name for error messages and checkpoints. */
  name: string | undefined;

  constructor(data: TypedData, shape: readonly number[], requiresGrad = false) {
    checkShape(shape, "Tensor");
    if (data.length !== sizeOf(shape)) {
      throw new MaskwiseError(
        `data of length ${data.length} does not fill shape ${fmtShape(shape)} (${sizeOf(shape)} elements)`,
        { code: "E_SHAPE", where: "Tensor" },
      );
    }
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.dtype = data instanceof Int32Array ? "int32" : "float32";
    if (requiresGrad && this.dtype !== "float32") {
      throw new MaskwiseError("only float32 tensors can require gradients", {
        code: "E_DTYPE",
        where: "Tensor",
      });
    }
    this.requiresGrad = requiresGrad;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The float32 data; throws for an int32 tensor. */
  get f32(): Float32Array {
    if (!(this.data instanceof Float32Array)) {
      throw new MaskwiseError("expected a float32 tensor, got int32", { code: "E_DTYPE" });
    }
    return this.data;
  }

  /** The int32 data; throws for a float32 tensor. */
  get i32(): Int32Array {
    if (!(this.data instanceof Int32Array)) {
      throw new MaskwiseError("expected an int32 tensor, got float32", { code: "E_DTYPE" });
    }
    return this.data;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) {
      throw new MaskwiseError(
        `item() needs one element, tensor has shape ${fmtShape(this.shape)}`,
        {
          code: "E_SHAPE",
          where: "item",
        },
      );
    }
    return this.data[0];
  }

  /** A nested array of the values, for printing and tests. */
  toArray(): unknown {
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return this.data[offset];
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** The same data, cut from the tape (no gradient flows through). */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${fmtShape(this.shape)}${this.requiresGrad ? ", grad" : ""})`;
  }
}

// ---- Creation -------------------------------------------------------------------------------

export function tensor(values: ArrayLike<number> | number, shape?: readonly number[]): Tensor {
  const data = typeof values === "number" ? Float32Array.of(values) : Float32Array.from(values);
  return new Tensor(data, shape ?? (typeof values === "number" ? [] : [data.length]));
}

export function intTensor(values: ArrayLike<number>, shape?: readonly number[]): Tensor {
  const data = Int32Array.from(values);
  return new Tensor(data, shape ?? [data.length]);
}

export function zeros(shape: readonly number[], dtype: DType = "float32"): Tensor {
  checkShape(shape, "zeros");
  const n = sizeOf(shape);
  return new Tensor(dtype === "float32" ? new Float32Array(n) : new Int32Array(n), shape);
}

export function full(shape: readonly number[], value: number): Tensor {
  checkShape(shape, "full");
  return new Tensor(new Float32Array(sizeOf(shape)).fill(value), shape);
}

export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}

/** Normal(0, std^2) values from a seeded generator. */
export function randn(shape: readonly number[], rng: Rng, std = 1): Tensor {
  checkShape(shape, "randn");
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return new Tensor(data, shape);
}

/** Uniform values in [low, high) from a seeded generator. */
export function uniform(shape: readonly number[], rng: Rng, low = 0, high = 1): Tensor {
  checkShape(shape, "uniform");
  const data = new Float32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * rng.uniform();
  return new Tensor(data, shape);
}

/** A trainable leaf: a float32 tensor that requires gradients, with a name. */
export function parameter(t: Tensor, name?: string): Tensor {
  const p = new Tensor(t.f32, t.shape, true);
  p.name = name;
  return p;
}
