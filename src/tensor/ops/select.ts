// Choosing elements: embedding lookup (gather rows by id) with its scatter-add gradient, and
// where / maskedFill, which pick between two values by a condition.
//
// Conditions are int32 tensors where non-zero = true. For masks the polarity is always
// true = may attend (see src/attention/masks.ts); maskedFill therefore fills where the mask is
// FALSE, and says so in its name: `fillWhereNot`.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { sizeOf, Tensor } from "../tensor.js";
import { broadcastShapes, broadcastStrides, sumToShape } from "./broadcast.js";

/** Rows of `table` [N, D] picked by `ids` (int32, any shape): output [...ids.shape, D]. */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  if (table.rank !== 2 || ids.dtype !== "int32") {
    throw new MaskwiseError(
      `embedding needs a [N, D] float32 table and int32 ids, got ${fmtShape(table.shape)} and ${ids.dtype} ${fmtShape(ids.shape)}`,
      { code: "E_SHAPE", where: "embedding" },
    );
  }
  const [numRows, cols] = table.shape;
  const rows = ids.size;
  const out = allocF32(rows * cols, false);
  getBackend().gather({ table: table.f32, ids: ids.i32, out, rows, cols, numRows });
  const y = new Tensor(out, [...ids.shape, cols]);
  return record(y, "embedding", [table, ids], (g, sink) => {
    const s = sink(0);
    if (s) getBackend().scatterAdd({ dout: g, ids: ids.i32, dtable: s.g, rows, cols, numRows });
  });
}

/** cond ? a : b element-wise, with broadcasting of all three. cond is int32 (non-zero = true). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  if (cond.dtype !== "int32") {
    throw new MaskwiseError("where() needs an int32 condition", {
      code: "E_DTYPE",
      where: "where",
    });
  }
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, "where"), b.shape, "where");
  const n = sizeOf(shape);
  const cs = broadcastStrides(cond.shape, shape);
  const as = broadcastStrides(a.shape, shape);
  const bs = broadcastStrides(b.shape, shape);
  // pick[o] = 1 where the output came from a; needed again by the backward pass.
  const pick = new Uint8Array(n);
  const out = new Float32Array(n);
  const c = cond.i32;
  const av = a.f32;
  const bv = b.f32;
  const idx = new Array<number>(shape.length).fill(0);
  let ci = 0;
  let ai = 0;
  let bi = 0;
  for (let o = 0; o < n; o++) {
    if (c[ci] !== 0) {
      pick[o] = 1;
      out[o] = av[ai];
    } else {
      out[o] = bv[bi];
    }
    for (let k = shape.length - 1; k >= 0; k--) {
      idx[k]++;
      ci += cs[k];
      ai += as[k];
      bi += bs[k];
      if (idx[k] < shape[k]) break;
      ci -= cs[k] * shape[k];
      ai -= as[k] * shape[k];
      bi -= bs[k] * shape[k];
      idx[k] = 0;
    }
  }
  const y = new Tensor(out, shape);
  return record(y, "where", [a, b], (g, sink) => {
    const ga = new Float32Array(n);
    const gb = new Float32Array(n);
    for (let o = 0; o < n; o++) {
      if (pick[o]) ga[o] = g[o];
      else gb[o] = g[o];
    }
    const sa = sink(0);
    if (sa) sumToShape(ga, shape, a.shape, sa.g, sa.acc);
    const sb = sink(1);
    if (sb) sumToShape(gb, shape, b.shape, sb.g, sb.acc);
  });
}

/** x where `keep` is true, `value` where it is false (e.g. -Infinity where attention is not allowed). */
export function fillWhereNot(x: Tensor, keep: Tensor, value: number): Tensor {
  return where(keep, x, new Tensor(Float32Array.of(value), []));
}
