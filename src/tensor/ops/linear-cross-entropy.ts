// The output head and the cross-entropy as one op that never holds all the logits:
//   loss = mean over labelled rows r of CE(h_r W^T, y_r)    h [N, D], W [V, D], y [N]
// A causal LM's logits are [N, V]: 512 tokens of a 151936-word vocabulary are 311 MB in
// float32, and their gradient as much again. Here the vocabulary goes through in blocks of
// words, all rows at once, each block's logits [N, Vb] a few MB: forward keeps each row's
// running log-sum-exp (the blocks' combined as an online softmax does) and its target's logit;
// backward recomputes a block's logits, turns them into their gradient with the whole row's
// log-sum-exp, and multiplies it out into dh (and that block's rows of dW when W trains) before
// the next block. Every product has all N rows and reads its block of W once, so W is read once
// a pass (blocks of rows would pack all of W again for every block). The price is one more
// product with W (the forward's, again in backward). The smoothing term's sum of a row's logits
// is h_r . sum_v W_v. W may be a float32 tensor or bfloat16 bits (a frozen head held in
// bfloat16, src/tensor/ops/linear-bf16.ts), never trained then.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { record } from "../autograd.js";
import { getBackend } from "../dispatch.js";
import { matmulPrecision } from "../precision.js";
import { Tensor } from "../tensor.js";
import { plainProduct } from "./plain-product.js";

/** Elements of one block's logits (16 MB in float32). */
export const BLOCK_ELEMENTS = 1 << 22;

/** The fewest words in a block, however many rows: narrower products run below their rate. */
const MIN_BLOCK_WORDS = 256;

export interface LinearCrossEntropyOptions {
  ignoreIndex?: number;
  labelSmoothing?: number;
  /** Words per block (default: as many as fit BLOCK_ELEMENTS logits of N rows, at least 256). */
  blockWords?: number;
}

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
  for (let r = 0; r < N; r++) {
    const y = labels.i32[r];
    if (y !== ignoreIndex && !(y >= 0 && y < V)) {
      throw new MaskwiseError(`target ${y} at row ${r} is outside [0, ${V})`, {
        code: "E_INDEX",
        where: "linearCrossEntropy",
        hint: `use ${ignoreIndex} for positions that have nothing to predict`,
      });
    }
  }
  const be = getBackend();
  const bf16 = matmulPrecision() === "bfloat16";
  const Vb = Math.max(
    1,
    Math.min(
      V,
      options.blockWords ?? Math.max(MIN_BLOCK_WORDS, Math.floor(BLOCK_ELEMENTS / Math.max(1, N))),
    ),
  );
  const h = hidden.f32;
  const t = labels.i32;
  const half = weight instanceof Uint16Array ? weight : null;
  const wf = weight instanceof Tensor ? weight.f32 : null;
  // W's rows v0 .. v0 + c - 1 [c, D].
  const rowsOfW = (v0: number, c: number) =>
    half
      ? half.subarray(v0 * D, (v0 + c) * D)
      : (wf as Float32Array).subarray(v0 * D, (v0 + c) * D);

  /** out [N, c] = h W[v0 : v0 + c]^T */
  const logitsOf = (v0: number, c: number, out: Float32Array) => {
    const w = rowsOfW(v0, c);
    if (w instanceof Uint16Array)
      be.gemmBf16Weight({ m: N, n: c, k: D, a: h, w, transW: true, c: out, beta: 0, bf16 });
    else be.gemm(plainProduct(h, false, w, true, out, N, c, D, { bf16 }));
  };

  // Each row's log-sum-exp as the running maximum m and sum s of exp(block lse - m), and the
  // target's logit, block by block.
  const m = new Float64Array(N).fill(Number.NEGATIVE_INFINITY);
  const sum = new Float64Array(N);
  const zTarget = new Float64Array(N);
  const noTargets = new Int32Array(N).fill(ignoreIndex);
  const blockLse = new Float32Array(N);
  const unused = new Float32Array(N);
  // One block's logits; backward does not reach it, so it goes once forward is done.
  const logits = new Float32Array(N * Vb);
  for (let v0 = 0; v0 < V; v0 += Vb) {
    const c = Math.min(Vb, V - v0);
    const z = logits.subarray(0, N * c);
    logitsOf(v0, c, z);
    // The block's log-sum-exp of each row (every target ignored: lse alone).
    be.crossEntropy({
      logits: z,
      targets: noTargets,
      loss: unused,
      lse: blockLse,
      rows: N,
      V: c,
      ignoreIndex,
      smoothing: 0,
    });
    for (let r = 0; r < N; r++) {
      const l = blockLse[r];
      if (l > m[r]) {
        sum[r] = sum[r] * Math.exp(m[r] - l) + 1;
        m[r] = l;
      } else if (l !== Number.NEGATIVE_INFINITY || Number.isNaN(l)) sum[r] += Math.exp(l - m[r]);
      const y = t[r];
      if (y >= v0 && y < v0 + c) zTarget[r] = z[r * c + y - v0];
    }
  }
  // The smoothing term's sum of each row's logits, h_r . (sum over v of W_v).
  const zSum = eps > 0 ? rowSums() : null;
  function rowSums(): Float64Array {
    const ones = new Float32Array(V).fill(1);
    const wSum = new Float32Array(D);
    if (half)
      be.gemmBf16Weight({
        m: 1,
        n: D,
        k: V,
        a: ones,
        w: half,
        transW: false,
        c: wSum,
        beta: 0,
        bf16,
      });
    else be.gemm(plainProduct(ones, false, wf as Float32Array, false, wSum, 1, D, V));
    const out = new Float64Array(N);
    for (let r = 0; r < N; r++) {
      let acc = 0;
      for (let d = 0; d < D; d++) acc += h[r * D + d] * wSum[d];
      out[r] = acc;
    }
    return out;
  }
  const lse = new Float32Array(N);
  let count = 0;
  let total = 0;
  for (let r = 0; r < N; r++) {
    const l = m[r] + Math.log(sum[r]);
    lse[r] = l;
    if (t[r] === ignoreIndex) continue;
    count++;
    const nll = l - zTarget[r];
    total += Math.fround(zSum ? (1 - eps) * nll + eps * (l - zSum[r] / V) : nll);
  }
  const scale = count > 0 ? 1 / count : 0;
  const y = new Tensor(Float32Array.of(total * scale), []);
  const inputs = weight instanceof Tensor ? [hidden, weight] : [hidden];
  return record(y, "linearCrossEntropy", inputs, (g, sink) => {
    // hidden and W are distinct tensors, so both gradients may be written block by block.
    const sh = sink(0, true);
    const sw = weight instanceof Tensor ? sink(1, true) : null;
    if (!sh && !sw) return;
    const zBuf = new Float32Array(N * Vb);
    const dzBuf = new Float32Array(N * Vb);
    const rowWeights = new Float32Array(N).fill(g[0] * scale);
    for (let v0 = 0; v0 < V; v0 += Vb) {
      const c = Math.min(Vb, V - v0);
      const z = zBuf.subarray(0, N * c);
      const dz = dzBuf.subarray(0, N * c);
      logitsOf(v0, c, z);
      be.crossEntropyBackward({
        logits: z,
        targets: t,
        lse,
        dloss: rowWeights,
        dlogits: dz,
        rows: N,
        V: c,
        ignoreIndex,
        smoothing: eps,
        accumulate: false,
        vocabOffset: v0,
        vocab: V,
      });
      const w = rowsOfW(v0, c);
      if (sh) {
        // dh [N, D] (+)= dz [N, c] W[v0 : v0 + c] [c, D]; the blocks after the first add.
        const beta = sh.acc || v0 > 0 ? 1 : 0;
        if (w instanceof Uint16Array)
          be.gemmBf16Weight({ m: N, n: D, k: c, a: dz, w, transW: false, c: sh.g, beta, bf16 });
        else be.gemm(plainProduct(dz, false, w, false, sh.g, N, D, c, { beta, bf16 }));
      }
      if (sw) {
        // dW[v0 : v0 + c] [c, D] (+)= dz^T [c, N] h [N, D]: each block's own rows of dW.
        be.gemm(
          plainProduct(dz, true, h, false, sw.g.subarray(v0 * D, (v0 + c) * D), c, D, N, {
            beta: sw.acc ? 1 : 0,
            bf16,
          }),
        );
      }
    }
  });
}
