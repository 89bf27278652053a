// Softmax and log-softmax over the last axis, each one fused kernel forward and backward
// (the max-subtracted form, so large logits do not overflow).
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { Tensor } from "../tensor.js";

function softmaxOp(x: Tensor, axis: number, log: boolean): Tensor {
  const op = log ? "logSoftmax" : "softmax";
  if (x.rank === 0 || (axis !== -1 && axis !== x.rank - 1)) {
    throw new MaskwiseError(
      `${op} works over the last axis; got axis ${axis} of ${fmtShape(x.shape)}`,
      {
        code: "E_SHAPE",
        where: op,
        hint: "transpose the axis to the end first",
      },
    );
  }
  const cols = x.shape[x.rank - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const out = allocF32(x.size, false);
  getBackend().softmax({ x: x.f32, out, rows, cols, log });
  const y = new Tensor(out, x.shape);
  return record(y, op, [x], (g, sink) => {
    const s = sink(0, true);
    if (s)
      getBackend().softmaxBackward({ y: out, dy: g, dx: s.g, rows, cols, log, accumulate: s.acc });
  });
}

export const softmax = (x: Tensor, axis = -1) => softmaxOp(x, axis, false);
export const logSoftmax = (x: Tensor, axis = -1) => softmaxOp(x, axis, true);
