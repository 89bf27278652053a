// Matrix-product precision, as PyTorch's torch.set_float32_matmul_precision: "float32" (the
// default) multiplies in float32; "bfloat16" lets matmul and linear round their operands to
// bfloat16 while the sums, the parameters, their gradients and the optimizer stay float32
// (mixed-precision training). On a CPU with a bfloat16 dot product (AVX512_BF16) the products
// of training then take about half the time; elsewhere the native backend keeps float32.
// What rounding means exactly: GemmArgs.bf16 in src/tensor/backend.ts.
import { MaskwiseError } from "../util/errors.js";

export type MatmulPrecision = "float32" | "bfloat16";

let current: MatmulPrecision = "float32";

export function matmulPrecision(): MatmulPrecision {
  return current;
}

export function setMatmulPrecision(p: MatmulPrecision): void {
  if (p !== "float32" && p !== "bfloat16") {
    throw new MaskwiseError(`matmul precision must be "float32" or "bfloat16", got ${String(p)}`, {
      code: "E_ARG",
      where: "setMatmulPrecision",
    });
  }
  current = p;
}

/** Runs f with the given precision, restoring the previous one after (also on a throw). */
export function withMatmulPrecision<T>(p: MatmulPrecision, f: () => T): T {
  const before = current;
  setMatmulPrecision(p);
  try {
    return f();
  } finally {
    current = before;
  }
}
