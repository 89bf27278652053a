// The affine layer as one primitive on the tape, with its bias and an optional ReLU fused:
//   y = act(x W^T + b)      x [..., K], W [N, K] (PyTorch's layout), b [N], y [..., N]
// Composed from matmul, add and relu, a layer costs three output-sized allocations forward
// and, backward, a copy of the output gradient for each of add's inputs plus the bias's
// reduction buffers. affine.ts owns the tape and works backward from the output gradient; this
// file gives it the float32 products, the bias and the ReLU run in the forward GEMM's epilogue
// (GemmArgs.bias and relu) on each block of the output while it is in cache:
//   y = x W^T      dx (+)= g W      dW (+)= g^T x
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import type { F32 } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { matmulPrecision } from "../precision.js";
import type { Tensor } from "../tensor.js";
import { affine } from "./affine.js";
import { type PlainProductOptions, plainProduct } from "./plain-product.js";

export interface LinearOptions {
  /** Apply ReLU to the result (the first layer of a ReLU feed-forward block). */
  relu?: boolean;
  /** Add this (of the result's shape) to the result: add(residual, linear(x)) as one op. */
  residual?: Tensor;
}

/** A product's options: in the precision of matmulPrecision(), adding to C with `acc`. */
function opts(acc: boolean, bias: F32 | null = null, relu = false): PlainProductOptions {
  return { beta: acc ? 1 : 0, bf16: matmulPrecision() === "bfloat16", bias, relu };
}

/** x [..., K] -> [..., N] through W [N, K] and an optional bias of N elements (any shape). */
export function linear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  options: LinearOptions = {},
): Tensor {
  const K = x.shape[x.rank - 1];
  if (x.rank < 1 || weight.rank !== 2 || weight.shape[1] !== K) {
    throw new MaskwiseError(
      `linear of x ${fmtShape(x.shape)} needs a weight [N, ${K}], got ${fmtShape(weight.shape)}`,
      { code: "E_SHAPE", where: "linear" },
    );
  }
  const N = weight.shape[0];
  if (bias && bias.size !== N) {
    throw new MaskwiseError(
      `linear with weight ${fmtShape(weight.shape)} needs a bias of ${N} elements, got ${fmtShape(bias.shape)}`,
      { code: "E_SHAPE", where: "linear" },
    );
  }
  const W = weight.f32;
  return affine(
    "linear",
    x,
    N,
    {
      forward: (xs, out, R, b, relu) => {
        getBackend().gemm(plainProduct(xs, false, W, true, out, R, N, K, opts(false, b, relu)));
        return true;
      },
      backwardX: (g, dx, R, acc) =>
        getBackend().gemm(plainProduct(g, false, W, false, dx, R, K, N, opts(acc))),
      parameter: {
        tensor: weight,
        // dW = g^T x reads g transposed: op(A)'s rows are g's columns, and their sums db.
        backwardW: (g, xs, dw, R, acc, db) =>
          getBackend().gemm(
            plainProduct(g, true, xs, false, dw, N, K, R, { ...opts(acc), rowSums: db }),
          ),
        // The two products take the same work and neither reads the other's output.
        backwardXW: (g, xs, dx, accX, dw, accW, R, db) =>
          getBackend().gemmPair(
            plainProduct(g, false, W, false, dx, R, K, N, opts(accX)),
            plainProduct(g, true, xs, false, dw, N, K, R, { ...opts(accW), rowSums: db }),
          ),
      },
    },
    bias,
    options.relu ?? false,
    options.residual ?? null,
  );
}
