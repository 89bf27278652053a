// The GemmArgs of one product on whole row-major matrices: C [m, n] = beta C + op(A) op(B),
// op(A) [m, k] and op(B) [k, n], with no batch and no offsets, each leading dimension the
// stored matrix's width. A linear layer's products and its gradients, and a decoding step's
// products, are all of this kind.
import type { F32, GemmArgs } from "../backend.js";

export interface PlainProductOptions {
  /** 0 overwrites C, 1 adds to it (default 0). */
  beta?: 0 | 1;
  /** Operands rounded to bfloat16 (GemmArgs.bf16; default false). */
  bf16?: boolean;
  /** The epilogue: a bias of n floats added to every row, then ReLU (GemmArgs.bias, relu). */
  bias?: F32 | null;
  relu?: boolean;
  /** Also the sums of op(A)'s m rows into these (GemmArgs.rowSums). */
  rowSums?: F32 | null;
}

export function plainProduct(
  a: F32,
  transA: boolean,
  b: F32,
  transB: boolean,
  c: F32,
  m: number,
  n: number,
  k: number,
  options: PlainProductOptions = {},
): GemmArgs {
  return {
    batch: 1,
    m,
    n,
    k,
    transA,
    transB,
    alpha: 1,
    beta: options.beta ?? 0,
    a,
    aOffset: 0,
    lda: transA ? m : k,
    strideA: 0,
    b,
    bOffset: 0,
    ldb: transB ? k : n,
    strideB: 0,
    c,
    cOffset: 0,
    ldc: n,
    strideC: 0,
    bf16: options.bf16 ?? false,
    bias: options.bias ?? null,
    relu: options.relu ?? false,
    rowSums: options.rowSums ?? null,
  };
}
