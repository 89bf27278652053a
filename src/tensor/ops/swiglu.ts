// SwiGLU's gated activation as one op (Shazeer, "GLU Variants Improve Transformer"): the
// feed-forward of Llama, Qwen2 and Mistral computes silu(gate) * up on [N, F] before down_proj.
// As unary silu and binary mul it is two passes forward and three backward (mul's two gradients,
// then silu's); as one op, one pass forward and one per gradient, with the same bits
// (Backend.swiglu, Backend.swigluBackward).
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { Tensor } from "../tensor.js";

/** silu(gate) * up, element by element: gate and up of one shape (e.g. [N, F]). */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  if (
    gate.size !== up.size ||
    gate.rank !== up.rank ||
    gate.shape.some((d, i) => d !== up.shape[i])
  ) {
    throw new MaskwiseError(
      `swiglu needs gate and up of one shape, got ${fmtShape(gate.shape)} and ${fmtShape(up.shape)}`,
      { code: "E_SHAPE", where: "swiglu" },
    );
  }
  const n = gate.size;
  const out = allocF32(n, false);
  getBackend().swiglu({ gate: gate.f32, up: up.f32, out, n });
  const y = new Tensor(out, gate.shape);
  return record(y, "swiglu", [gate, up], (g, sink) => {
    // One gradient at a time, up's first as mul's backward writes it before silu's runs: gate
    // and up may be one tensor, whose second contribution then adds in the same order.
    const su = sink(1, true);
    if (su)
      getBackend().swigluBackward({
        gate: gate.f32,
        up: up.f32,
        dy: g,
        dgate: null,
        dup: su.g,
        n,
        accumulateGate: false,
        accumulateUp: su.acc,
      });
    const sg = sink(0, true);
    if (sg)
      getBackend().swigluBackward({
        gate: gate.f32,
        up: up.f32,
        dy: g,
        dgate: sg.g,
        dup: null,
        n,
        accumulateGate: sg.acc,
        accumulateUp: false,
      });
  });
}
