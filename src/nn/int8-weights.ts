// int8 copies of the weights a decoding step multiplies by (`--precision int8`), keyed by the
// float32 weight they copy: each weight W [out, in] quantized per output row (scale = max |w| /
// 127, symmetric), and each row of a step's input quantized to bytes over its own range with a
// zero point per call (a ReLU's output gets all 256 levels); the integer dot products are exact
// and are scaled back to float32 (src/backend/reference-int8.ts defines
// the numbers, native/gemm_int8.cc computes them with VPDPBUSD where the CPU has AVX512_VNNI,
// with VPMADDWD on bytes widened to int16 on AVX2). A step then streams a quarter of float32's
// weight bytes (half on AVX2, whose copy in the pair layout holds int16). A snapshot: build it
// after the weights are final.
import {
  type Int8Matrix,
  packInt8Pairs,
  packInt8Vnni,
  quantizeRowsInt8,
} from "../backend/reference-int8.js";
import { getBackend } from "../tensor/dispatch.js";
import type { DecodingWeights } from "./decoding-weights.js";
import type { Linear } from "./layers.js";
import type { ProductEpilogue } from "./product-epilogue.js";

/**
 * The kernel the active backend multiplies int8 weights with: the native addon's
 * ("avx512-vnni", "avx2" or "portable") or "reference" (TypeScript).
 */
export function int8Kernel(): string {
  const none = new Float32Array(0);
  const w = new Int8Array(0);
  return getBackend().gemmInt8({
    m: 0,
    n: 0,
    k: 0,
    a: none,
    w,
    scales: none,
    sums: new Int32Array(0),
    c: none,
  });
}

export class Int8Weights implements DecodingWeights {
  readonly precision = "int8";
  private readonly byWeight = new Map<
    Float32Array,
    Int8Matrix & { packed: Int8Array | Int16Array | null }
  >();

  /**
   * Quantizes the weights of the given Linear layers (absent ones skipped, shared ones once).
   * Where the backend multiplies with VPDPBUSD (or, on AVX2, VPMADDWD), each also gets its copy
   * in that instruction's layout (packInt8Vnni, packInt8Pairs), which products of many rows read
   * (a beam step's 160).
   */
  constructor(layers: Iterable<Linear | null | undefined>) {
    const kernel = int8Kernel();
    for (const lin of layers) {
      // A layer holding its weight as bfloat16 (a frozen LoRA base) keeps that product.
      if (lin && !lin.weightBf16 && !this.byWeight.has(lin.weight.f32)) {
        const n = lin.outFeatures;
        const k = lin.inFeatures;
        const q = quantizeRowsInt8(lin.weight.f32, n, k);
        const packed =
          kernel === "avx512-vnni" && k % 4 === 0
            ? packInt8Vnni(q.q, n, k)
            : kernel === "avx2" && k % 2 === 0
              ? packInt8Pairs(q.q, n, k)
              : null;
        this.byWeight.set(lin.weight.f32, { ...q, packed });
      }
    }
  }

  /** The int8 copy of weight `w`, or undefined when it has none. */
  of(w: Float32Array): Int8Matrix | undefined {
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
    const q = this.byWeight.get(w);
    if (!q) return false;
    // The epilogue in the kernel, as it stores C (no passes over C before or after).
    getBackend().gemmInt8({
      m,
      n,
      k,
      a,
      w: q.q,
      scales: q.scales,
      sums: q.sums,
      c,
      packed: q.packed,
      beta: epilogue.beta ?? 1,
      bias: epilogue.bias ?? null,
      relu: epilogue.relu ?? false,
    });
    return true;
  }

  /** Bytes of the copies (values, scales and row sums). */
  get bytes(): number {
    let n = 0;
    for (const m of this.byWeight.values())
      n += m.q.byteLength + m.scales.byteLength + m.sums.byteLength + (m.packed?.byteLength ?? 0);
    return n;
  }
}
