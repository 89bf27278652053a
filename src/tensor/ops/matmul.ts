// Matrix products: C = op(A) @ op(B), with op = transpose when asked, batched over leading axes.
//
// Shapes: a [..., M, K] (or [..., K, M] with transA), b [..., K, N] (or [..., N, K] with transB).
// Batch axes must be equal, or one side has none (a weight shared by the batch). When b is a
// plain matrix and a is not transposed, the batch folds into M: [B*T, K] @ [K, N] is one large
// GEMM, which is both the common case (every Linear layer) and the fastest one.
//
// Gradients, with dC the output gradient:
//   d op(A) = dC @ op(B)^T      d op(B) = op(A)^T @ dC
// and a transposed operand's gradient is the transpose of that, which is again one GEMM with the
// flags swapped (never an explicit transpose).
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { F32 } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { matmulPrecision } from "../precision.js";
import { sizeOf, Tensor } from "../tensor.js";

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
}

/** A view of one operand as `batch` matrices of rows x cols (as stored). */
interface Operand {
  data: F32;
  batch: number; // 1 when shared across the batch
  rows: number;
  cols: number;
}

/** Y[b] = op(X)[b] @ op(W)[b] (+ Y when acc), with batch strides 0 for shared operands. */
function gemm(
  x: Operand,
  tx: boolean,
  w: Operand,
  tw: boolean,
  y: F32,
  batch: number,
  acc: boolean,
): void {
  const m = tx ? x.cols : x.rows;
  const k = tx ? x.rows : x.cols;
  const n = tw ? w.rows : w.cols;
  getBackend().gemm({
    batch,
    m,
    n,
    k,
    transA: tx,
    transB: tw,
    alpha: 1,
    beta: acc ? 1 : 0,
    a: x.data,
    aOffset: 0,
    lda: x.cols,
    strideA: x.batch === 1 ? 0 : x.rows * x.cols,
    b: w.data,
    bOffset: 0,
    ldb: w.cols,
    strideB: w.batch === 1 ? 0 : w.rows * w.cols,
    c: y,
    cOffset: 0,
    ldc: n,
    strideC: m * n,
    bf16: matmulPrecision() === "bfloat16",
  });
}

/**
 * Sums `batch` products into one matrix: out = sum_b op(X_b) @ op(W_b) (+ out when acc). Used for
 * the gradient of an operand that was shared by the whole batch.
 */
function gemmSum(
  x: Operand,
  tx: boolean,
  w: Operand,
  tw: boolean,
  out: F32,
  batch: number,
  acc: boolean,
): void {
  const m = tx ? x.cols : x.rows;
  const k = tx ? x.rows : x.cols;
  const n = tw ? w.rows : w.cols;
  for (let b = 0; b < batch; b++) {
    getBackend().gemm({
      batch: 1,
      m,
      n,
      k,
      transA: tx,
      transB: tw,
      alpha: 1,
      beta: acc || b > 0 ? 1 : 0,
      a: x.data,
      aOffset: x.batch === 1 ? 0 : b * x.rows * x.cols,
      lda: x.cols,
      strideA: 0,
      b: w.data,
      bOffset: w.batch === 1 ? 0 : b * w.rows * w.cols,
      ldb: w.cols,
      strideB: 0,
      c: out,
      cOffset: 0,
      ldc: n,
      strideC: 0,
      bf16: matmulPrecision() === "bfloat16",
    });
  }
  if (batch === 0 && !acc) out.fill(0);
}

export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  const transA = options.transA ?? false;
  const transB = options.transB ?? false;
  const fail = (why: string): never => {
    throw new MaskwiseError(
      `cannot multiply ${fmtShape(a.shape)}${transA ? "^T" : ""} by ${fmtShape(b.shape)}${transB ? "^T" : ""}: ${why}`,
      { code: "E_SHAPE", where: "matmul" },
    );
  };
  if (a.rank < 2 || b.rank < 2) fail("both operands need at least 2 axes");
  const aBatchShape = a.shape.slice(0, -2);
  const bBatchShape = b.shape.slice(0, -2);
  const [ar, ac] = a.shape.slice(-2);
  const [br, bc] = b.shape.slice(-2);
  const m = transA ? ac : ar;
  const k = transA ? ar : ac;
  const kb = transB ? bc : br;
  const n = transB ? br : bc;
  if (k !== kb) fail(`inner sizes ${k} and ${kb} differ`);
  const sameBatch =
    aBatchShape.length === bBatchShape.length && aBatchShape.every((s, i) => s === bBatchShape[i]);
  if (!sameBatch && aBatchShape.length > 0 && bBatchShape.length > 0) {
    fail("batch axes must be equal, or one operand must be a plain matrix");
  }
  const batchShape = aBatchShape.length > 0 ? aBatchShape : bBatchShape;
  const batch = sizeOf(batchShape);
  let A: Operand = { data: a.f32, batch: sizeOf(aBatchShape), rows: ar, cols: ac };
  const B: Operand = { data: b.f32, batch: sizeOf(bBatchShape), rows: br, cols: bc };
  if (aBatchShape.length === 0) A.batch = 1;
  if (bBatchShape.length === 0) B.batch = 1;

  // Fold a batched, untransposed A against a shared B into one tall matrix.
  let gemmBatch = batch;
  if (!transA && bBatchShape.length === 0 && aBatchShape.length > 0) {
    A = { data: a.f32, batch: 1, rows: batch * ar, cols: ac };
    gemmBatch = 1;
  }
  const out = allocF32(batch * m * n, false);
  gemm(A, transA, B, transB, out, gemmBatch, false);
  const y = new Tensor(out, [...batchShape, m, n]);

  return record(y, "matmul", [a, b], (g, sink) => {
    // Every branch below writes all of dA and dB with beta 0, except a sum over an empty batch.
    const whole = batch > 0;
    const G: Operand = {
      data: g,
      batch: gemmBatch === 1 ? 1 : batch,
      rows: gemmBatch === 1 ? batch * m : m,
      cols: n,
    };
    const sa = sink(0, whole);
    if (sa) {
      const Bs: Operand = B;
      if (gemmBatch === 1 && A.batch === 1 && A.rows !== ar) {
        // Folded: dA [B*M, K] = dC [B*M, N] @ op(B)^T, one GEMM.
        gemm(G, false, Bs, !transB, sa.g, 1, sa.acc);
      } else if (aBatchShape.length === 0 && batch > 1) {
        // A shared by a batched B: sum the per-item gradients.
        const Gb: Operand = { data: g, batch, rows: m, cols: n };
        if (transA) gemmSum(Bs, transB, Gb, true, sa.g, batch, sa.acc);
        else gemmSum(Gb, false, Bs, !transB, sa.g, batch, sa.acc);
      } else if (transA) {
        // dA [K, M] = op(B) @ dC^T
        gemm(Bs, transB, G, true, sa.g, batch, sa.acc);
      } else {
        gemm(G, false, Bs, !transB, sa.g, batch, sa.acc);
      }
    }
    const sb = sink(1, whole);
    if (sb) {
      const As: Operand = {
        data: a.f32,
        batch: A.batch === 1 && aBatchShape.length === 0 ? 1 : batch,
        rows: ar,
        cols: ac,
      };
      if (gemmBatch === 1 && A.rows !== ar) {
        // Folded shared B: dB = op(A_folded)^T @ dC_folded, one GEMM with k = B*M.
        if (transB) gemm(G, true, A, false, sb.g, 1, sb.acc);
        else gemm(A, true, G, false, sb.g, 1, sb.acc);
      } else if (bBatchShape.length === 0 && batch > 1) {
        const Gb: Operand = { data: g, batch, rows: m, cols: n };
        if (transB) gemmSum(Gb, true, As, transA, sb.g, batch, sb.acc);
        else gemmSum(As, !transA, Gb, false, sb.g, batch, sb.acc);
      } else if (transB) {
        // dB [N, K] = dC^T @ op(A)
        gemm(G, true, As, transA, sb.g, batch, sb.acc);
      } else {
        gemm(As, !transA, G, false, sb.g, batch, sb.acc);
      }
    }
  });
}
