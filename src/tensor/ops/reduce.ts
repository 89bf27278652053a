// Reductions over axes: sum, mean, max. Each reduces one axis at a time through the backend's
// [outer, dim, inner] kernel; the gradient broadcasts the output gradient back over the reduced
// axes (max sends it only to the first maximal element).
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { sizeOf, Tensor } from "../tensor.js";
import { broadcastStrides, contiguousStrides } from "./broadcast.js";

export interface ReduceOptions {
  /** Keep reduced axes with size 1 (default false). */
  keepDims?: boolean;
}

/** Normalises axis arguments (negative counts from the end); undefined = all axes. */
export function normAxes(
  shape: readonly number[],
  axes: number | number[] | undefined,
  op: string,
): number[] {
  const list = axes === undefined ? shape.map((_, i) => i) : Array.isArray(axes) ? axes : [axes];
  const out = list.map((ax) => {
    const a = ax < 0 ? ax + shape.length : ax;
    if (!Number.isInteger(a) || a < 0 || a >= shape.length) {
      throw new MaskwiseError(`axis ${ax} is out of range for shape ${fmtShape(shape)}`, {
        code: "E_SHAPE",
        where: op,
      });
    }
    return a;
  });
  return [...new Set(out)].sort((p, q) => p - q);
}

function reducedShape(shape: readonly number[], axes: number[], keepDims: boolean): number[] {
  return keepDims
    ? shape.map((s, i) => (axes.includes(i) ? 1 : s))
    : shape.filter((_, i) => !axes.includes(i));
}

/** Adds (or writes) g, of the keep-dims reduced shape, broadcast to `shape`, into dst. */
function broadcastInto(
  g: Float32Array,
  kept: number[],
  shape: readonly number[],
  dst: Float32Array,
  acc: boolean,
): void {
  const strides = contiguousStrides(shape);
  const gStrides = broadcastStrides(kept, shape);
  if (acc) {
    getBackend().binary({
      op: "add",
      a: dst,
      aStrides: strides,
      b: g,
      bStrides: gStrides,
      out: dst,
      shape,
    });
  } else {
    getBackend().binary({
      op: "add",
      a: new Float32Array(1),
      aStrides: new Array(shape.length).fill(0),
      b: g,
      bStrides: gStrides,
      out: dst,
      shape,
    });
  }
}

export function sum(x: Tensor, axes?: number | number[], options: ReduceOptions = {}): Tensor {
  const ax = normAxes(x.shape, axes, "sum");
  const kept = reducedShape(x.shape, ax, true);
  let cur = x.f32;
  const curShape = [...x.shape];
  for (let i = ax.length - 1; i >= 0; i--) {
    const d = ax[i];
    const outer = sizeOf(curShape.slice(0, d));
    const inner = sizeOf(curShape.slice(d + 1));
    const next = new Float32Array(outer * inner);
    getBackend().reduce({ op: "sum", x: cur, out: next, outer, dim: curShape[d], inner });
    cur = next;
    curShape[d] = 1;
  }
  const out = new Tensor(
    cur === x.f32 ? new Float32Array(cur) : cur,
    reducedShape(x.shape, ax, options.keepDims ?? false),
  );
  return record(out, "sum", [x], (g, sink) => {
    const s = sink(0);
    if (s) broadcastInto(g, kept, x.shape, s.g, s.acc);
  });
}

export function mean(x: Tensor, axes?: number | number[], options: ReduceOptions = {}): Tensor {
  const ax = normAxes(x.shape, axes, "mean");
  const count = ax.reduce((p, a) => p * x.shape[a], 1);
  const s = sum(x, ax, options);
  // Scale in place before recording the scale, so mean stays one tape entry per primitive.
  const out = new Float32Array(s.size);
  const inv = 1 / count;
  for (let i = 0; i < out.length; i++) out[i] = s.f32[i] * inv;
  const y = new Tensor(out, s.shape);
  return record(y, "mean", [s], (g, sink) => {
    const t = sink(0);
    if (!t) return;
    for (let i = 0; i < g.length; i++) t.g[i] = t.acc ? t.g[i] + g[i] * inv : g[i] * inv;
  });
}

/** Maximum over one axis (default: the last). */
export function max(x: Tensor, axis = -1, options: ReduceOptions = {}): Tensor {
  const [d] = normAxes(x.shape, axis, "max");
  const outer = sizeOf(x.shape.slice(0, d));
  const inner = sizeOf(x.shape.slice(d + 1));
  const dim = x.shape[d];
  const out = new Float32Array(outer * inner);
  getBackend().reduce({ op: "max", x: x.f32, out, outer, dim, inner });
  const y = new Tensor(out, reducedShape(x.shape, [d], options.keepDims ?? false));
  return record(y, "max", [x], (g, sink) => {
    const s = sink(0);
    if (!s) return;
    if (!s.acc) s.g.fill(0);
    getBackend().reduceMaxBackward({ x: x.f32, y: out, dy: g, dx: s.g, outer, dim, inner });
  });
}
