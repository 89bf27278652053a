// The affine layer with a weight held only as bfloat16 bits (a frozen base layer under a LoRA
// adapter, src/nn/layers.ts), on the tape:
//   y = act(x W^T + b)      x [..., K], W [N, K] as bfloat16 bits, b [N], y [..., N]
// The products read the bfloat16 weight directly (Backend.gemmBf16Weight: the float32 product
// with the weight's exact float32 values); backward gives dx = g W and db, never dW: the weight
// is not a parameter, so nothing could receive its gradient. Activations and sums stay float32.
// Bias, ReLU and their gradients are affine.ts's, as for the float32 layer.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import type { F32 } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { matmulPrecision } from "../precision.js";
import type { Tensor } from "../tensor.js";
import { affine } from "./affine.js";

/** x [..., K] -> [..., N] through W [N, K] given as bfloat16 bits, and an optional bias [N]. */
export function linearBf16Weight(
  x: Tensor,
  weight: Uint16Array,
  N: number,
  bias: Tensor | null,
  options: { relu?: boolean; residual?: Tensor } = {},
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
  const backend = getBackend();
  const bf16 = matmulPrecision() === "bfloat16";
  // c [m, n] (+)= a [m, k] op(W)
  const gemmW = (a: F32, c: F32, m: number, n: number, k: number, transW: boolean, acc: boolean) =>
    backend.gemmBf16Weight({ m, n, k, a, w: weight, transW, c, beta: acc ? 1 : 0, bf16 });
  return affine(
    "linear_bf16",
    x,
    N,
    {
      forward: (xs, out, R) => {
        gemmW(xs, out, R, N, K, true, false);
        return false;
      },
      // dx [R, K] (+)= g [R, N] W [N, K]
      backwardX: (g, dx, R, acc) => gemmW(g, dx, R, K, N, false, acc),
      parameter: null,
    },
    bias,
    options.relu ?? false,
    options.residual ?? null,
  );
}
