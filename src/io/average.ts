// Checkpoint averaging (Vaswani et al. average the last checkpoints; fairseq's
// average_checkpoints.py): the element-wise mean of the same tensors from N checkpoints. The sum
// runs in float64 so the order of the checkpoints does not change the result.
import { fmtShape, MaskwiseError } from "../util/errors.js";
import type { SafeTensor } from "./safetensors.js";

export function averageCheckpoints(
  checkpoints: Map<string, SafeTensor>[],
  names: string[] = [],
): Map<string, SafeTensor> {
  if (checkpoints.length === 0) {
    throw new MaskwiseError("no checkpoints to average", {
      code: "E_ARG",
      where: "averageCheckpoints",
    });
  }
  const label = (i: number) => names[i] ?? `checkpoint ${i}`;
  const first = checkpoints[0];
  const out = new Map<string, SafeTensor>();
  for (const [name, t] of first) {
    const sum = new Float64Array(t.data.length);
    checkpoints.forEach((c, i) => {
      const u = c.get(name);
      if (!u)
        throw new MaskwiseError(`tensor '${name}' is missing`, {
          code: "E_CHECKPOINT",
          where: label(i),
          hint: "average checkpoints of one model only",
        });
      if (u.shape.length !== t.shape.length || u.shape.some((s, k) => s !== t.shape[k])) {
        throw new MaskwiseError(
          `tensor '${name}' has shape ${fmtShape(u.shape)}, ${label(0)} has ${fmtShape(t.shape)}`,
          { code: "E_CHECKPOINT", where: label(i) },
        );
      }
      for (let k = 0; k < sum.length; k++) sum[k] += u.data[k];
    });
    if (t.data instanceof Int32Array) {
      // Integer tensors (step counters, ids) are not averaged: they must agree, and are kept.
      out.set(name, t);
      continue;
    }
    const avg = new Float32Array(sum.length);
    for (let k = 0; k < avg.length; k++) avg[k] = sum[k] / checkpoints.length;
    out.set(name, { dtype: "F32", shape: [...t.shape], data: avg });
  }
  checkpoints.forEach((c, i) => {
    for (const name of c.keys()) {
      if (!first.has(name))
        throw new MaskwiseError(`tensor '${name}' is not in ${label(0)}`, {
          code: "E_CHECKPOINT",
          where: label(i),
        });
    }
  });
  return out;
}
