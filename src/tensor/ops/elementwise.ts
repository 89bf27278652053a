// Element-wise arithmetic of two tensors with broadcasting, and its gradients.
//   add: da = g,      db = g
//   sub: da = g,      db = -g
//   mul: da = g * b,  db = g * a
//   div: da = g / b,  db = -g * a / b^2 = -g * out / b
// Each gradient is summed back over the axes its input was stretched along.

import { MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import type { BinaryOp } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { sizeOf, Tensor } from "../tensor.js";
import { broadcastShapes, broadcastStrides, contiguousStrides, sumToShape } from "./broadcast.js";

export type Operand = Tensor | number;

function asTensor(x: Operand): Tensor {
  return typeof x === "number" ? new Tensor(Float32Array.of(x), []) : x;
}

function rawBinary(op: BinaryOp, a: Tensor, b: Tensor, name: string): Tensor {
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new MaskwiseError("arithmetic needs float32 tensors", { code: "E_DTYPE", where: name });
  }
  const shape = broadcastShapes(a.shape, b.shape, name);
  const out = allocF32(sizeOf(shape), false);
  getBackend().binary({
    op,
    a: a.f32,
    aStrides: broadcastStrides(a.shape, shape),
    b: b.f32,
    bStrides: broadcastStrides(b.shape, shape),
    out,
    shape,
  });
  return new Tensor(out, shape);
}

/** g (outShape) combined element-wise with t broadcast to outShape. */
function combine(
  op: BinaryOp,
  g: Float32Array,
  outShape: readonly number[],
  t: Tensor,
): Float32Array {
  const out = new Float32Array(g.length);
  getBackend().binary({
    op,
    a: g,
    aStrides: contiguousStrides(outShape),
    b: t.f32,
    bStrides: broadcastStrides(t.shape, outShape),
    out,
    shape: outShape,
  });
  return out;
}

function negated(g: Float32Array): Float32Array {
  const out = new Float32Array(g.length);
  getBackend().unary({ op: "neg", x: g, out, n: g.length });
  return out;
}

export function add(x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const out = rawBinary("add", a, b, "add");
  return record(out, "add", [a, b], (g, sink, adopt) => {
    // d(a + b)/da is the identity: an operand of the output's size takes g itself (the residual
    // stream), the other one a copy.
    if (a.size === out.size && adopt(0)) {
      const sb = sink(1, true);
      if (sb) sumToShape(g, out.shape, b.shape, sb.g, sb.acc);
      return;
    }
    const sa = sink(0, true);
    if (sa) sumToShape(g, out.shape, a.shape, sa.g, sa.acc);
    const sb = sink(1, true);
    if (sb) sumToShape(g, out.shape, b.shape, sb.g, sb.acc);
  });
}

export function sub(x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const out = rawBinary("sub", a, b, "sub");
  return record(out, "sub", [a, b], (g, sink) => {
    const sa = sink(0, true);
    if (sa) sumToShape(g, out.shape, a.shape, sa.g, sa.acc);
    const sb = sink(1, true);
    if (sb) sumToShape(negated(g), out.shape, b.shape, sb.g, sb.acc);
  });
}

export function mul(x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const out = rawBinary("mul", a, b, "mul");
  return record(out, "mul", [a, b], (g, sink) => {
    const sa = sink(0, true);
    if (sa) sumToShape(combine("mul", g, out.shape, b), out.shape, a.shape, sa.g, sa.acc);
    const sb = sink(1, true);
    if (sb) sumToShape(combine("mul", g, out.shape, a), out.shape, b.shape, sb.g, sb.acc);
  });
}

export function div(x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const out = rawBinary("div", a, b, "div");
  return record(out, "div", [a, b], (g, sink) => {
    const sa = sink(0, true);
    if (sa) sumToShape(combine("div", g, out.shape, b), out.shape, a.shape, sa.g, sa.acc);
    const sb = sink(1);
    if (sb) {
      // -g * out / b
      const t = combine("mul", g, out.shape, out);
      const u = combine("div", t, out.shape, b);
      sumToShape(negated(u), out.shape, b.shape, sb.g, sb.acc);
    }
  });
}

/** max(a, b) element-wise; the gradient goes to a where a >= b, else to b. */
export function maximum(x: Operand, y: Operand): Tensor {
  const a = asTensor(x);
  const b = asTensor(y);
  const out = rawBinary("max", a, b, "maximum");
  return record(out, "maximum", [a, b], (g, sink) => {
    // Which side won, as 1/0 per output element: (out == a) in a's broadcast.
    const fromA = combine("sub", new Float32Array(out.f32), out.shape, a);
    const pickA = new Float32Array(g.length);
    const pickB = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) {
      if (fromA[i] === 0) pickA[i] = g[i];
      else pickB[i] = g[i];
    }
    const sa = sink(0, true);
    if (sa) sumToShape(pickA, out.shape, a.shape, sa.g, sa.acc);
    const sb = sink(1, true);
    if (sb) sumToShape(pickB, out.shape, b.shape, sb.g, sb.acc);
  });
}
