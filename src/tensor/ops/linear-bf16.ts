// The affine layer with a weight held only as bfloat16 bits (a frozen base layer under a LoRA
// adapter, src/nn/layers.ts), on the tape:
//   y = act(x W^T + b)      x [..., K], W [N, K] as bfloat16 bits, b [N], y [..., N]
// The products read the bfloat16 weight directly (Backend.gemmBf16Weight: the float32 product
// with the weight's exact float32 values); backward gives dx = g W and db, never dW: the weight
// is not a parameter, so nothing could receive its gradient. Activations and sums stay float32.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { allocF32 } from "../pool.js";
import { matmulPrecision } from "../precision.js";
import { Tensor } from "../tensor.js";

/** x [..., K] -> [..., N] through W [N, K] given as bfloat16 bits, and an optional bias [N]. */
export function linearBf16Weight(
  x: Tensor,
  weight: Uint16Array,
  N: number,
  bias: Tensor | null,
  options: { relu?: boolean } = {},
): Tensor {
  const K = x.shape[x.rank - 1];
  if (x.rank < 1 || weight.length !== N * K) {
    throw new MaskwiseError(
      `linear of x ${fmtShape(x.shape)} needs a bfloat16 weight of ${N} x ${K} elements, got ${weight.length}`,
      { code: "E_SHAPE", where: "linearBf16Weight" },
    );
  }
  if (bias && bias.size !== N) {
    throw new MaskwiseError(
      `linear with ${N} outputs needs a bias of ${N} elements, got ${fmtShape(bias.shape)}`,
      { code: "E_SHAPE", where: "linearBf16Weight" },
    );
  }
  const rowShape = x.shape.slice(0, -1);
  const R = rowShape.reduce((p, s) => p * s, 1);
  const relu = options.relu ?? false;
  const backend = getBackend();
  const bf16 = matmulPrecision() === "bfloat16";
  const out = allocF32(R * N, false);
  backend.gemmBf16Weight({
    m: R,
    n: N,
    k: K,
    a: x.f32,
    w: weight,
    transW: true,
    c: out,
    beta: 0,
    bf16,
  });
  if (bias && R * N > 0)
    backend.binary({
      op: "add",
      a: out,
      aStrides: [N, 1],
      b: bias.f32,
      bStrides: [0, 1],
      out,
      shape: [R, N],
    });
  if (relu) backend.unary({ op: "relu", x: out, out, n: R * N });
  const y = new Tensor(out, [...rowShape, N]);
  const inputs = bias ? [x, bias] : [x];
  return record(y, relu ? "linear_bf16+relu" : "linear_bf16", inputs, (g, sink) => {
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
    const sb = bias ? sink(1, true) : null;
    if (sb) {
      const db = new Float32Array(N);
      backend.reduce({ op: "sum", x: g, out: db, outer: 1, dim: R, inner: N });
      if (sb.acc)
        backend.binary({
          op: "add",
          a: sb.g,
          aStrides: [1],
          b: db,
          bStrides: [1],
          out: sb.g,
          shape: [N],
        });
      else sb.g.set(db);
    }
    // dx [R, K] (+)= g [R, N] W [N, K]
    const sx = sink(0, true);
    if (sx)
      backend.gemmBf16Weight({
        m: R,
        n: K,
        k: N,
        a: g,
        w: weight,
        transW: false,
        c: sx.g,
        beta: sx.acc ? 1 : 0,
        bf16,
      });
  });
}
