// The affine layer as one primitive on the tape, with its bias and an optional ReLU fused:
//   y = act(x W^T + b)      x [..., K], W [N, K] (PyTorch's layout), b [N], y [..., N]
// Composed from matmul, add and relu, a layer costs three output-sized allocations forward
// and, backward, a copy of the output gradient for each of add's inputs plus the bias's
// reduction buffers. Here the bias and the ReLU run in the GEMM's epilogue (GemmArgs.bias and
// relu), and the backward works from the output gradient directly, all rows folded into one
// matrix R = ...:
//   g <- g * [y > 0]   (ReLU; in place: autograd hands a node its output gradient and drops it)
//   db (+)= sum_r g[r, :]      dx (+)= g W      dW (+)= g^T x
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { F32 } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { allocF32, releaseF32 } from "../pool.js";
import { matmulPrecision } from "../precision.js";
import { Tensor } from "../tensor.js";

export interface LinearOptions {
  /** Apply ReLU to the result (the first layer of a ReLU feed-forward block). */
  relu?: boolean;
}

/** C [m, n] (+)= op(A) @ op(B) on row-major operands without batch. */
function gemm2(
  a: F32,
  transA: boolean,
  b: F32,
  transB: boolean,
  c: F32,
  m: number,
  n: number,
  k: number,
  acc: boolean,
  bias: F32 | null = null,
  relu = false,
): void {
  getBackend().gemm({
    batch: 1,
    m,
    n,
    k,
    transA,
    transB,
    alpha: 1,
    beta: acc ? 1 : 0,
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
    bf16: matmulPrecision() === "bfloat16",
    bias,
    relu,
  });
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
  const rowShape = x.shape.slice(0, -1);
  const R = rowShape.reduce((p, s) => p * s, 1);
  const relu = options.relu ?? false;
  const backend = getBackend();
  const out = allocF32(R * N, false);
  // The bias and the ReLU run in the product's epilogue, on each block of the output while it
  // is in cache, rather than as two more passes over [R, N].
  gemm2(x.f32, false, weight.f32, true, out, R, N, K, false, bias?.f32 ?? null, relu);
  const y = new Tensor(out, [...rowShape, N]);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(y, relu ? "linear+relu" : "linear", inputs, (g, sink) => {
    // y > 0 exactly where the pre-activation was, so the output serves as the ReLU's mask.
    if (relu)
      backend.unaryBackward({
        op: "relu",
        x: out,
        y: out,
        dy: g,
        dx: g,
        n: R * N,
        accumulate: false,
      });
    const sb = bias ? sink(2, true) : null;
    if (sb && !sb.acc) {
      // A fresh gradient takes the column sums directly.
      backend.reduce({ op: "sum", x: g, out: sb.g, outer: 1, dim: R, inner: N });
    } else if (sb) {
      const db = allocF32(N, false);
      backend.reduce({ op: "sum", x: g, out: db, outer: 1, dim: R, inner: N });
      backend.binary({
        op: "add",
        a: sb.g,
        aStrides: [1],
        b: db,
        bStrides: [1],
        out: sb.g,
        shape: [N],
      });
      releaseF32(db);
    }
    const sx = sink(0, true);
    if (sx) gemm2(g, false, weight.f32, false, sx.g, R, K, N, sx.acc);
    const sw = sink(1, true);
    if (sw) gemm2(g, true, x.f32, false, sw.g, N, K, R, sw.acc);
  });
}
