// Broadcasting as NumPy and PyTorch define it: shapes align at the right, and an axis of size 1
// (or a missing one) stretches to the other's size.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { getBackend } from "../dispatch.js";
import { sizeOf } from "../tensor.js";

export function broadcastShapes(a: readonly number[], b: readonly number[], op: string): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new MaskwiseError(`shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast`, {
        code: "E_SHAPE",
        where: op,
        hint: `axis ${i - rank} has sizes ${da} and ${db}; they must match or one must be 1`,
      });
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a contiguous tensor of `shape` as if it had `outShape` (0 = broadcast). */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = rank - shape.length + i;
    strides[d] = shape[i] === 1 ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

/**
 * The gradient of broadcasting: sums g (of `outShape`) over the axes that `shape` stretched, and
 * adds the result into `dst` (of `shape`), or overwrites it when `acc` is false.
 */
export function sumToShape(
  g: Float32Array,
  outShape: readonly number[],
  shape: readonly number[],
  dst: Float32Array,
  acc: boolean,
): void {
  const backend = getBackend();
  const rank = outShape.length;
  const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
  let cur = g;
  let curShape = [...outShape];
  // Reduce one stretched axis at a time, from the innermost out.
  for (let d = rank - 1; d >= 0; d--) {
    if (padded[d] === 1 && curShape[d] !== 1) {
      const outer = sizeOf(curShape.slice(0, d));
      const inner = sizeOf(curShape.slice(d + 1));
      const next = new Float32Array(outer * inner);
      backend.reduce({ op: "sum", x: cur, out: next, outer, dim: curShape[d], inner });
      cur = next;
      curShape[d] = 1;
    }
  }
  curShape = padded;
  if (!acc) {
    dst.set(cur);
  } else {
    const strides = contiguousStrides(curShape);
    backend.binary({
      op: "add",
      a: dst,
      aStrides: strides,
      b: cur,
      bStrides: strides,
      out: dst,
      shape: curShape,
    });
  }
}
