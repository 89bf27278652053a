// The output head and the cross-entropy as one op that never holds all the logits:
//   loss = mean over labelled rows r of CE(h_r W^T, y_r)    h [N, D], W [V, D], y [N]
// A causal LM's logits are [N, V]: 512 tokens of a 151936-word vocabulary are 311 MB in
// float32, and their gradient as much again. Here rows go through in chunks of a few MB:
// forward keeps each row's log-sum-exp only; backward recomputes a chunk's logits, turns them
// into their gradient, and multiplies it out into dh (and dW when W trains) before the next
// chunk. The price is one more product with W (the forward's, again in backward). Per row the
// arithmetic is the same as linear + crossEntropy, whose definitions (src/tensor/ops/linear.ts,
// src/tensor/ops/nn.ts) this follows; W may be a float32 tensor or bfloat16 bits (a frozen
// head held in bfloat16, src/tensor/ops/linear-bf16.ts), never trained then.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { matmulPrecision } from "../precision.js";
import { Tensor } from "../tensor.js";
import { plainProduct } from "./plain-product.js";

/** Elements of one chunk's logits (16 MB in float32). */
export const CHUNK_ELEMENTS = 1 << 22;

export interface LinearCrossEntropyOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
  /** Rows per chunk (default: as many as fit CHUNK_ELEMENTS logits, at least 1). */
  chunkRows?: number;
}

/** The mean cross-entropy of h [N, D] W^T against int32 labels [N] (-100: not counted). */
export function linearCrossEntropy(
  hidden: Tensor,
  weight: Tensor | Uint16Array,
  V: number,
  labels: Tensor,
  options: LinearCrossEntropyOptions = {},
): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const eps = options.labelSmoothing ?? 0;
  const D = hidden.shape[hidden.rank - 1];
  const N = labels.size;
  const wSize = weight instanceof Uint16Array ? weight.length : weight.size;
  if (
    hidden.size !== N * D ||
    labels.dtype !== "int32" ||
    wSize !== V * D ||
    (weight instanceof Tensor && weight.shape[0] !== V)
  ) {
    throw new MaskwiseError(
      `linearCrossEntropy needs h [N, D], W [V, D] and int32 labels [N], got h ${fmtShape(hidden.shape)}, W of ${wSize} elements for V ${V}, labels ${labels.dtype} ${fmtShape(labels.shape)}`,
      { code: "E_SHAPE", where: "linearCrossEntropy" },
    );
  }
  if (!(eps >= 0 && eps < 1)) {
    throw new MaskwiseError(`label smoothing ${eps} is outside [0, 1)`, {
      code: "E_ARG",
      where: "linearCrossEntropy",
    });
  }
  const be = getBackend();
  const bf16 = matmulPrecision() === "bfloat16";
  const chunk = Math.max(1, Math.min(N, options.chunkRows ?? Math.floor(CHUNK_ELEMENTS / V)));
  const h = hidden.f32;
  const t = labels.i32;
  const half = weight instanceof Uint16Array ? weight : null;
  const wf = weight instanceof Tensor ? weight.f32 : null;

  /** out [c, V] = h[r0 : r0 + c] W^T */
  const logitsOf = (r0: number, c: number, out: Float32Array) => {
    const a = h.subarray(r0 * D, (r0 + c) * D);
    if (half)
      be.gemmBf16Weight({ m: c, n: V, k: D, a, w: half, transW: true, c: out, beta: 0, bf16 });
    else be.gemm(plainProduct(a, false, wf as Float32Array, true, out, c, V, D, { bf16 }));
  };

  const losses = new Float32Array(N);
  const lse = new Float32Array(N);
  // One chunk's logits; backward does not reach it, so it goes once forward is done.
  const logits = new Float32Array(chunk * V);
  for (let r0 = 0; r0 < N; r0 += chunk) {
    const c = Math.min(chunk, N - r0);
    logitsOf(r0, c, logits);
    be.crossEntropy({
      logits,
      targets: t.subarray(r0, r0 + c),
      loss: losses.subarray(r0, r0 + c),
      lse: lse.subarray(r0, r0 + c),
      rows: c,
      V,
      ignoreIndex,
      smoothing: eps,
    });
  }
  let count = 0;
  let total = 0;
  for (let r = 0; r < N; r++) {
    if (t[r] !== ignoreIndex) count++;
    total += losses[r];
  }
  const scale = count > 0 ? 1 / count : 0;
  const y = new Tensor(Float32Array.of(total * scale), []);
  const inputs = weight instanceof Tensor ? [hidden, weight] : [hidden];
  return record(y, "linearCrossEntropy", inputs, (g, sink) => {
    // hidden and W are distinct tensors, so both gradients may be written chunk by chunk.
    const sh = sink(0, true);
    const sw = weight instanceof Tensor ? sink(1, true) : null;
    if (!sh && !sw) return;
    const z = new Float32Array(chunk * V);
    const dz = new Float32Array(chunk * V);
    const rowWeights = new Float32Array(chunk).fill(g[0] * scale);
    for (let r0 = 0; r0 < N; r0 += chunk) {
      const c = Math.min(chunk, N - r0);
      logitsOf(r0, c, z);
      const tc = t.subarray(r0, r0 + c);
      be.crossEntropyBackward({
        logits: z,
        targets: tc,
        lse: lse.subarray(r0, r0 + c),
        dloss: rowWeights,
        dlogits: dz,
        rows: c,
        V,
        ignoreIndex,
        smoothing: eps,
        accumulate: false,
      });
      if (sh) {
        // dh [c, D] (+)= dz [c, V] W [V, D]
        const dh = sh.g.subarray(r0 * D, (r0 + c) * D);
        if (half)
          be.gemmBf16Weight({
            m: c,
            n: D,
            k: V,
            a: dz,
            w: half,
            transW: false,
            c: dh,
            beta: sh.acc ? 1 : 0,
            bf16,
          });
        else
          be.gemm(
            plainProduct(dz, false, wf as Float32Array, false, dh, c, D, V, {
              beta: sh.acc ? 1 : 0,
              bf16,
            }),
          );
      }
      if (sw) {
        // dW [V, D] (+)= dz^T [V, c] h [c, D]
        be.gemm(
          plainProduct(dz, true, h.subarray(r0 * D, (r0 + c) * D), false, sw.g, V, D, c, {
            beta: sw.acc || r0 > 0 ? 1 : 0,
            bf16,
          }),
        );
      }
    }
  });
}
