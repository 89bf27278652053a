// bfloat16 copies of the weights a decoding step multiplies by, keyed by the float32 weight they
// copy: a step's Linear layers then read half the bytes a token streams and take their inputs
// rounded to bfloat16 (products exact, so a CPU's bfloat16 dot-product instruction can compute
// them; see src/tensor/bf16.ts); activations, caches and sums stay float32. A snapshot: build it
// after the weights are final (training changes the float32 weights, not these).
import { toBf16 } from "../tensor/bf16.js";
import { getBackend } from "../tensor/dispatch.js";
import type { DecodingWeights } from "./decoding-weights.js";
import type { Linear } from "./layers.js";
import { epilogueInPasses, type ProductEpilogue } from "./product-epilogue.js";

export class Bf16Weights implements DecodingWeights {
  readonly precision = "bfloat16";
  private readonly byWeight = new Map<Float32Array, Uint16Array>();

  /**
   * Copies the weights of the given Linear layers (absent ones skipped, shared ones once; a layer
   * that holds its weight as bfloat16 already needs no copy and is read as it is).
   */
  constructor(layers: Iterable<Linear | null | undefined>) {
    for (const lin of layers) {
      if (lin && !lin.weightBf16 && !this.byWeight.has(lin.weight.f32))
        this.byWeight.set(lin.weight.f32, toBf16(lin.weight.f32));
    }
  }

  /** The bfloat16 copy of weight `w`, or undefined when it has none. */
  of(w: Float32Array): Uint16Array | undefined {
    return this.byWeight.get(w);
  }

  has(w: Float32Array): boolean {
    return this.byWeight.has(w);
  }

  productInto(
    a: Float32Array,
    w: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    epilogue: ProductEpilogue = {},
  ): boolean {
    const half = this.byWeight.get(w);
    if (!half) return false;
    // gemmBf16 accumulates: the epilogue as passes around it.
    epilogueInPasses(c, m, n, epilogue, () => getBackend().gemmBf16({ m, n, k, a, w: half, c }));
    return true;
  }

  /** Bytes of the copies. */
  get bytes(): number {
    let n = 0;
    for (const u of this.byWeight.values()) n += u.byteLength;
    return n;
  }
}
