// Low-precision copies of the weights a decoding step multiplies by (`--precision bfloat16`:
// src/nn/bf16-weights.ts; `--precision int8`: src/nn/int8-weights.ts), keyed by the float32
// weight they copy. A step's Linear layers ask the holder first and multiply in float32 only
// where it holds no copy.
import type { ProductEpilogue } from "./product-epilogue.js";

export interface DecodingWeights {
  /** "bfloat16" or "int8": what the copies hold (benchmark and log lines). */
  readonly precision: string;
  /** Whether this holder has a copy of weight `w`. */
  has(w: Float32Array): boolean;
  /**
   * c [m, n] = beta c + a [m, k] w^T (+ bias) (ReLU) with this holder's copy of w [n, k] (the
   * epilogue's defaults: beta 1, nothing more); false (c untouched) when it holds none.
   */
  productInto(
    a: Float32Array,
    w: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    epilogue?: ProductEpilogue,
  ): boolean;
  /** Bytes of the copies. */
  readonly bytes: number;
}
