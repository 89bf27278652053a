// What the affine layers share on the tape, whatever holds the weight (float32 parameter in
// linear.ts, frozen bfloat16 bits in linear-bf16.ts):
//   y = act(x W^T + b)      x [..., K], W [N, K] (PyTorch's layout), b [N], y [..., N]
// The bias and the ReLU are applied in place on the GEMM's output (or by the product itself,
// where it does them in its epilogue), and the backward works from the output gradient
// directly, all rows folded into one matrix R = ...:
//   g <- g * [y > 0]   (ReLU; in place: autograd hands a node its output gradient and drops it)
//   db (+)= sum_r g[r, :]      dx (+)= g W      dW (+)= g^T x   (only where W is a parameter;
//   where both are wanted, the two products are handed over together: Backend.gemmPair)
// The caller supplies the products with W; this file owns the rest, so both layers stay one
// formula.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { F32 } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { allocF32, releaseF32 } from "../pool.js";
import { Tensor } from "../tensor.js";

/** The products with W [N, K] that an affine layer needs, over R rows. */
export interface WeightProducts {
  /**
   * out [R, N] = x [R, K] W^T; true when it also added the bias [N] and applied the ReLU (a
   * product that does them in its epilogue), false to leave them to affine().
   */
  forward(x: F32, out: F32, R: number, bias: F32 | null, relu: boolean): boolean;
  /** dx [R, K] (+)= g [R, N] W */
  backwardX(g: F32, dx: F32, R: number, acc: boolean): void;
  /** The weight as a tape input with dW [N, K] (+)= g^T x, or null when it is no parameter. */
  parameter: {
    tensor: Tensor;
    /**
     * dW (+)= g^T x; with `db`, also db [N] = sum_r g[r, :] (written), which the product takes
     * as it reads g (GemmArgs.rowSums).
     */
    backwardW(g: F32, x: F32, dw: F32, R: number, acc: boolean, db?: F32 | null): void;
    /** Both gradients at once, when both are wanted (the backend may run them side by side). */
    backwardXW?(
      g: F32,
      x: F32,
      dx: F32,
      accX: boolean,
      dw: F32,
      accW: boolean,
      R: number,
      db?: F32 | null,
    ): void;
  } | null;
}

/**
 * x [..., K] -> [..., N] through the given products with W, an optional bias of N elements and
 * ReLU; the caller has checked the shapes. The tape op is `name`, or `name+relu`.
 *
 * `residual` (of the output's shape, no ReLU then): y = r + (x W^T + b), the same numbers as
 * add(r, linear(x)), as one op. The residual stream's gradient is the output's gradient
 * unchanged: as one op, the layer reads g for its products and then hands g itself on to r,
 * where add would have given r g and the layer a copy of it.
 */
export function affine(
  name: string,
  x: Tensor,
  N: number,
  products: WeightProducts,
  bias: Tensor | null,
  relu: boolean,
  residual: Tensor | null = null,
): Tensor {
  const rowShape = x.shape.slice(0, -1);
  const R = rowShape.reduce((p, s) => p * s, 1);
  const backend = getBackend();
  if (residual && (relu || residual.size !== R * N)) {
    throw new MaskwiseError(
      `${name} with a residual of ${fmtShape(residual.shape)} needs ${R * N} elements and no ReLU`,
      { code: "E_SHAPE", where: name },
    );
  }
  const out = allocF32(R * N, false);
  const fused = products.forward(x.f32, out, R, bias?.f32 ?? null, relu);
  if (!fused && bias && R * N > 0)
    backend.binary({
      op: "add",
      a: out,
      aStrides: [N, 1],
      b: bias.f32,
      bStrides: [0, 1],
      out,
      shape: [R, N],
    });
  if (!fused && relu) backend.unary({ op: "relu", x: out, out, n: R * N });
  // (x W^T + b) + r: add(r, y) computes r + y, the same number.
  if (residual)
    backend.binary({
      op: "add",
      a: out,
      aStrides: [N, 1],
      b: residual.f32,
      bStrides: [N, 1],
      out,
      shape: [R, N],
    });
  const y = new Tensor(out, [...rowShape, N]);
  const param = products.parameter;
  // Tape inputs: x, then the weight where it is a parameter, then the bias, then the residual.
  const inputs = [x];
  if (param) inputs.push(param.tensor);
  if (bias) inputs.push(bias);
  const biasIndex = param ? 2 : 1;
  const residualIndex = inputs.length;
  if (residual) inputs.push(residual);
  const op = residual ? `${name}+residual` : relu ? `${name}+relu` : name;
  return record(y, op, inputs, (g, sink, adopt) => {
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
    const sb = bias ? sink(biasIndex, true) : null;
    // db = sum_r g[r, :]: a fresh gradient takes the sums directly, an accumulating one adds
    // them. The weight's gradient product reads every row of g and sums them on the way where
    // there is one (the same sums as reduce); otherwise reduce does.
    const db = sb ? (sb.acc ? allocF32(N, false) : sb.g) : null;
    let summed = false;
    const sx = sink(0, true);
    const sw = param ? sink(1, true) : null;
    if (sx && sw && param?.backwardXW) {
      param.backwardXW(g, x.f32, sx.g, sx.acc, sw.g, sw.acc, R, db);
      summed = true;
    } else {
      if (sx) products.backwardX(g, sx.g, R, sx.acc);
      if (param && sw) {
        param.backwardW(g, x.f32, sw.g, R, sw.acc, db);
        summed = true;
      }
    }
    if (sb && db) {
      if (!summed) backend.reduce({ op: "sum", x: g, out: db, outer: 1, dim: R, inner: N });
      if (sb.acc) {
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
    }
    // Last, once the products have read g: the residual stream takes g itself, or a copy
    // where it already has a gradient or cannot take it over.
    if (residual && !adopt(residualIndex)) {
      const sr = sink(residualIndex, true);
      if (sr?.acc)
        backend.binary({
          op: "add",
          a: sr.g,
          aStrides: [1],
          b: g,
          bStrides: [1],
          out: sr.g,
          shape: [R * N],
        });
      else if (sr) sr.g.set(g);
    }
  });
}
