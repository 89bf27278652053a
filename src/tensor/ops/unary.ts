// Element-wise functions of one tensor. The derivative of each lives in the backend
// (unaryBackward), next to the function itself, so the two cannot drift apart.

import { record } from "../autograd.js";
import type { UnaryOp } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { Tensor } from "../tensor.js";

function unary(op: UnaryOp, x: Tensor): Tensor {
  const out = allocF32(x.size, false);
  getBackend().unary({ op, x: x.f32, out, n: x.size });
  const y = new Tensor(out, x.shape);
  return record(y, op, [x], (g, sink) => {
    const s = sink(0, true);
    if (s)
      getBackend().unaryBackward({
        op,
        x: x.f32,
        y: out,
        dy: g,
        dx: s.g,
        n: x.size,
        accumulate: s.acc,
      });
  });
}

export const neg = (x: Tensor) => unary("neg", x);
export const exp = (x: Tensor) => unary("exp", x);
export const log = (x: Tensor) => unary("log", x);
export const sqrt = (x: Tensor) => unary("sqrt", x);
export const rsqrt = (x: Tensor) => unary("rsqrt", x);
export const tanh = (x: Tensor) => unary("tanh", x);
export const erf = (x: Tensor) => unary("erf", x);
export const relu = (x: Tensor) => unary("relu", x);
/** GELU in its exact form, x * Phi(x) with the normal CDF (Hendrycks & Gimpel). */
export const gelu = (x: Tensor) => unary("gelu", x);
/** GELU's tanh approximation (transformers' gelu_new: T5 v1.1, GPT-2). */
export const geluNew = (x: Tensor) => unary("gelu_new", x);
export const sigmoid = (x: Tensor) => unary("sigmoid", x);
/** SiLU, x * sigmoid(x) (Hendrycks & Gimpel; Ramachandran et al.'s swish; transformers' silu). */
export const silu = (x: Tensor) => unary("silu", x);
/** An activation by its unary op's name (a config's activation_function). */
export const activation = (name: UnaryOp, x: Tensor) => unary(name, x);
export const abs = (x: Tensor) => unary("abs", x);
