// What a decoding step's product does with C besides adding A W^T (GemmArgs' epilogue): beta,
// a bias on every row, a ReLU. The float32 GEMM and the int8 product apply it as they store C;
// a product that only accumulates (the bfloat16 ones) gets it as separate passes, the same
// float32 operations in the same order: C zeroed for beta 0, the product, the bias, the ReLU.
import { getBackend } from "../tensor/dispatch.js";

/** C = beta * C + A W^T, then + bias[j] on every row, then max(0, .) with `relu`. */
export interface ProductEpilogue {
  /** Default 1. */
  beta?: 0 | 1;
  bias?: Float32Array | null;
  relu?: boolean;
}

/** c [m, n] += bias [n] on every row, on the backend. */
export function addRowBias(c: Float32Array, bias: Float32Array, m: number, n: number): void {
  getBackend().binary({
    op: "add",
    a: c,
    aStrides: [n, 1],
    b: bias,
    bStrides: [0, 1],
    out: c,
    shape: [m, n],
  });
}

/** The epilogue around `accumulate` (c [m, n] += A W^T) as separate passes over c. */
export function epilogueInPasses(
  c: Float32Array,
  m: number,
  n: number,
  epilogue: ProductEpilogue,
  accumulate: () => void,
): void {
  if ((epilogue.beta ?? 1) === 0) c.fill(0, 0, m * n);
  accumulate();
  if (epilogue.bias) addRowBias(c, epilogue.bias, m, n);
  if (epilogue.relu) getBackend().unary({ op: "relu", x: c, out: c, n: m * n });
}
