// Moving data around without arithmetic: reshape (a free view), permute and transpose, concat,
// slice, and broadcastTo. Each gradient is the inverse movement. These work on int32 tensors
// too (without gradients), since ids and masks get reshaped and concatenated like anything else.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { sizeOf, Tensor } from "../tensor.js";
import { broadcastShapes, broadcastStrides, sumToShape } from "./broadcast.js";
import { normAxes } from "./reduce.js";

/** An output array the caller fills completely (so a pooled one need not be zeroed). */
function alloc(t: Tensor, n: number): Float32Array | Int32Array {
  return t.dtype === "int32" ? new Int32Array(n) : allocF32(n, false);
}

/** The same data with a new shape; one axis may be -1 (inferred). Shares the data array. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const inferred = shape.indexOf(-1);
  let target = [...shape];
  if (inferred >= 0) {
    const known = sizeOf(shape.filter((_, i) => i !== inferred));
    if (known === 0 || x.size % known !== 0) {
      throw new MaskwiseError(`cannot reshape ${fmtShape(x.shape)} to ${fmtShape(shape)}`, {
        code: "E_SHAPE",
        where: "reshape",
      });
    }
    target[inferred] = x.size / known;
  }
  if (sizeOf(target) !== x.size || target.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new MaskwiseError(
      `cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`,
      { code: "E_SHAPE", where: "reshape" },
    );
  }
  target = target.map(Number);
  const y = new Tensor(x.data, target);
  return record(y, "reshape", [x], (g, sink, adopt) => {
    if (adopt(0)) return; // the same values in another shape
    const s = sink(0, true);
    if (!s) return;
    if (s.acc) for (let i = 0; i < g.length; i++) s.g[i] += g[i];
    else s.g.set(g);
  });
}

/** Reorders axes: output axis d is input axis perm[d]. Copies. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const p = perm.map((a) => (a < 0 ? a + x.rank : a));
  if (p.length !== x.rank || [...p].sort((a, b) => a - b).some((a, i) => a !== i)) {
    throw new MaskwiseError(
      `[${perm.join(", ")}] is not a permutation of the axes of ${fmtShape(x.shape)}`,
      {
        code: "E_SHAPE",
        where: "permute",
      },
    );
  }
  const outShape = p.map((a) => x.shape[a]);
  const out = alloc(x, x.size);
  getBackend().permute({ x: x.data, out, shape: x.shape, perm: p });
  const y = new Tensor(out, outShape);
  return record(y, "permute", [x], (g, sink) => {
    const s = sink(0, true);
    if (!s) return;
    const inverse = new Array<number>(p.length);
    p.forEach((a, i) => {
      inverse[a] = i;
    });
    if (!s.acc) {
      getBackend().permute({ x: g, out: s.g, shape: outShape, perm: inverse });
    } else {
      const tmp = new Float32Array(g.length);
      getBackend().permute({ x: g, out: tmp, shape: outShape, perm: inverse });
      for (let i = 0; i < tmp.length; i++) s.g[i] += tmp[i];
    }
  });
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const [i, j] = [a < 0 ? a + x.rank : a, b < 0 ? b + x.rank : b];
  const perm = x.shape.map((_, k) => k);
  perm[i] = j;
  perm[j] = i;
  return permute(x, perm);
}

/** Joins tensors along an axis; all other axes must match. */
export function concat(xs: Tensor[], axis = 0): Tensor {
  if (xs.length === 0)
    throw new MaskwiseError("concat of no tensors", { code: "E_SHAPE", where: "concat" });
  const first = xs[0];
  const [d] = normAxes(first.shape, axis, "concat");
  for (const t of xs) {
    const ok =
      t.rank === first.rank &&
      t.dtype === first.dtype &&
      t.shape.every((s, i) => i === d || s === first.shape[i]);
    if (!ok) {
      throw new MaskwiseError(
        `cannot concat ${fmtShape(first.shape)} (${first.dtype}) with ${fmtShape(t.shape)} (${t.dtype}) on axis ${d}`,
        { code: "E_SHAPE", where: "concat" },
      );
    }
  }
  const outer = sizeOf(first.shape.slice(0, d));
  const inner = sizeOf(first.shape.slice(d + 1));
  const total = xs.reduce((p, t) => p + t.shape[d], 0);
  const outShape = [...first.shape];
  outShape[d] = total;
  const out = alloc(first, outer * total * inner);
  let offset = 0;
  for (const t of xs) {
    const w = t.shape[d] * inner;
    for (let o = 0; o < outer; o++)
      out.set(t.data.subarray(o * w, (o + 1) * w), o * total * inner + offset);
    offset += w;
  }
  const y = new Tensor(out, outShape);
  return record(y, "concat", xs, (g, sink) => {
    let off = 0;
    xs.forEach((t, i) => {
      const w = t.shape[d] * inner;
      const s = sink(i, true);
      if (s) {
        for (let o = 0; o < outer; o++) {
          const src = o * total * inner + off;
          for (let j = 0; j < w; j++) s.g[o * w + j] = (s.acc ? s.g[o * w + j] : 0) + g[src + j];
        }
      }
      off += w;
    });
  });
}

/** Elements start..end-1 along one axis (negative indices count from the end). Copies. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const [d] = normAxes(x.shape, axis, "slice");
  const n = x.shape[d];
  const lo = start < 0 ? Math.max(0, start + n) : Math.min(start, n);
  const hiRaw = end === undefined ? n : end < 0 ? end + n : end;
  const hi = Math.max(lo, Math.min(hiRaw, n));
  const outer = sizeOf(x.shape.slice(0, d));
  const inner = sizeOf(x.shape.slice(d + 1));
  const outShape = [...x.shape];
  outShape[d] = hi - lo;
  const w = (hi - lo) * inner;
  const out = alloc(x, outer * w);
  for (let o = 0; o < outer; o++) {
    const src = (o * n + lo) * inner;
    out.set(x.data.subarray(src, src + w), o * w);
  }
  const y = new Tensor(out, outShape);
  return record(y, "slice", [x], (g, sink) => {
    const s = sink(0);
    if (!s) return;
    if (!s.acc) s.g.fill(0);
    for (let o = 0; o < outer; o++) {
      const dst = (o * n + lo) * inner;
      for (let j = 0; j < w; j++) s.g[dst + j] += g[o * w + j];
    }
  });
}

/** Stretches size-1 (or missing leading) axes to `shape`. Copies. */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  const outShape = broadcastShapes(x.shape, shape, "broadcastTo");
  if (outShape.some((s, i) => s !== shape[i]) || outShape.length !== shape.length) {
    throw new MaskwiseError(`cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`, {
      code: "E_SHAPE",
      where: "broadcastTo",
    });
  }
  const n = sizeOf(shape);
  if (x.dtype === "int32") {
    const out = new Int32Array(n);
    const st = broadcastStrides(x.shape, shape);
    const idx = new Array<number>(shape.length).fill(0);
    let xi = 0;
    for (let o = 0; o < n; o++) {
      out[o] = x.data[xi];
      for (let k = shape.length - 1; k >= 0; k--) {
        idx[k]++;
        xi += st[k];
        if (idx[k] < shape[k]) break;
        xi -= st[k] * shape[k];
        idx[k] = 0;
      }
    }
    return new Tensor(out, shape);
  }
  const out = allocF32(n, false);
  getBackend().binary({
    op: "add",
    a: x.f32,
    aStrides: broadcastStrides(x.shape, shape),
    b: new Float32Array(1),
    bStrides: new Array(shape.length).fill(0),
    out,
    shape,
  });
  const y = new Tensor(out, shape);
  return record(y, "broadcastTo", [x], (g, sink) => {
    const s = sink(0);
    if (s) sumToShape(g, shape, x.shape, s.g, s.acc);
  });
}
