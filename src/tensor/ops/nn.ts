// The fused primitives of a Transformer that are not plain arithmetic: layer norm, dropout and
// cross-entropy with an ignore index and label smoothing. Each is one kernel forward and one
// backward, which is faster and more accurate than composing them from smaller ops.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import type { Rng } from "../../util/rng.js";
import { record } from "../autograd.js";
import { dropThreshold } from "../backend.js";
import { getBackend } from "../dispatch.js";
import { allocF32, releaseF32 } from "../pool.js";
import { Tensor } from "../tensor.js";

/** Layer norm over the last axis (Ba et al.): x [..., D], gamma [D], beta [D]. */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const cols = x.shape[x.rank - 1];
  if (gamma.size !== cols || beta.size !== cols || gamma.rank !== 1 || beta.rank !== 1) {
    throw new MaskwiseError(
      `layerNorm of ${fmtShape(x.shape)} needs gamma and beta of shape [${cols}], got ${fmtShape(gamma.shape)} and ${fmtShape(beta.shape)}`,
      { code: "E_SHAPE", where: "layerNorm" },
    );
  }
  return normRows(x, gamma, beta, eps);
}

/**
 * RMS norm over the last axis (Zhang & Sennrich; Llama's and T5's): x [..., D], weight [D],
 *   y = weight * x / sqrt(mean(x^2) + eps),
 * as one kernel each way (the layer norm's, nothing subtracted and no shift).
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const cols = x.shape[x.rank - 1];
  if (weight.size !== cols || weight.rank !== 1) {
    throw new MaskwiseError(
      `rmsNorm of ${fmtShape(x.shape)} needs a weight of shape [${cols}], got ${fmtShape(weight.shape)}`,
      { code: "E_SHAPE", where: "rmsNorm" },
    );
  }
  return normRows(x, weight, null, eps);
}

/** The layer norm's kernels over the rows of x: with beta, the layer norm; without, RMS norm. */
function normRows(x: Tensor, gamma: Tensor, beta: Tensor | null, eps: number): Tensor {
  const cols = x.shape[x.rank - 1];
  const rows = cols === 0 ? 0 : x.size / cols;
  const rms = beta === null;
  const none = new Float32Array(0);
  const out = allocF32(x.size, false);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  getBackend().layerNorm({
    x: x.f32,
    gamma: gamma.f32,
    beta: beta ? beta.f32 : none,
    out,
    mean,
    rstd,
    rows,
    cols,
    eps,
    rms,
  });
  const y = new Tensor(out, x.shape);
  const inputs = beta ? [x, gamma, beta] : [x, gamma];
  return record(y, rms ? "rmsNorm" : "layerNorm", inputs, (g, sink) => {
    const sx = sink(0, true);
    // The kernel computes all gradients in one pass; dgamma and dbeta always accumulate.
    const sg = sink(1);
    const sb = beta ? sink(2) : null;
    getBackend().layerNormBackward({
      x: x.f32,
      gamma: gamma.f32,
      mean,
      rstd,
      dy: g,
      dx: sx ? sx.g : new Float32Array(x.size),
      dgamma: sg ? sg.g : new Float32Array(cols),
      dbeta: sb ? sb.g : rms ? none : new Float32Array(cols),
      rows,
      cols,
      accumulate: sx ? sx.acc : false,
      rms,
    });
  });
}

/**
 * Inverted dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p),
 * so evaluation needs no rescaling. The mask comes from a seeded generator.
 */
export function dropout(x: Tensor, p: number, rng: Rng, training = true): Tensor {
  if (!(p >= 0 && p < 1)) {
    throw new MaskwiseError(`dropout probability ${p} is outside [0, 1)`, {
      code: "E_ARG",
      where: "dropout",
    });
  }
  if (!training || p === 0) return x;
  const scale = 1 / (1 - p);
  const mask = allocF32(x.size, false);
  // One draw from the stream seeds the mask; each element is a hash of that seed and its index
  // (dropoutHash), which the backend computes in parallel and both backends agree on.
  getBackend().dropoutMask({
    out: mask,
    n: x.size,
    seed: rng.nextU32(),
    threshold: dropThreshold(p),
    keep: scale,
  });
  const out = allocF32(x.size, false);
  const flat = [x.size];
  const backend = getBackend();
  backend.binary({ op: "mul", a: x.f32, aStrides: [1], b: mask, bStrides: [1], out, shape: flat });
  const y = new Tensor(out, x.shape);
  return record(y, "dropout", [x], (g, sink) => {
    const s = sink(0, true);
    if (s && !s.acc)
      backend.binary({
        op: "mul",
        a: g,
        aStrides: [1],
        b: mask,
        bStrides: [1],
        out: s.g,
        shape: flat,
      });
    else if (s) for (let i = 0; i < g.length; i++) s.g[i] += g[i] * mask[i];
    releaseF32(mask); // the mask has no other reader
  });
}

export interface CrossEntropyOptions {
  /** Targets equal to this contribute nothing (default -100, as PyTorch and Hugging Face). */
  ignoreIndex?: number;
  /**
   * Label smoothing epsilon, spread over all V classes as PyTorch does (fairseq spreads it over
   * V - 1): the target gets 1 - eps + eps/V, every other class eps/V.
   */
  labelSmoothing?: number;
  /** "mean" over non-ignored targets (default), "sum", or "none" (per-position losses). */
  reduction?: "mean" | "sum" | "none";
}

/**
 * Cross-entropy of logits [..., V] against int32 targets [...]. With reduction "mean" and every
 * target ignored, the loss is 0 with zero gradient (PyTorch would give NaN).
 */
export function crossEntropy(
  logits: Tensor,
  targets: Tensor,
  options: CrossEntropyOptions = {},
): Tensor {
  const ignoreIndex = options.ignoreIndex ?? -100;
  const eps = options.labelSmoothing ?? 0;
  const reduction = options.reduction ?? "mean";
  const V = logits.shape[logits.rank - 1];
  const rows = targets.size;
  if (targets.dtype !== "int32" || logits.size !== rows * V || logits.rank !== targets.rank + 1) {
    throw new MaskwiseError(
      `crossEntropy needs logits [..., V] and int32 targets [...], got ${fmtShape(logits.shape)} and ${targets.dtype} ${fmtShape(targets.shape)}`,
      { code: "E_SHAPE", where: "crossEntropy" },
    );
  }
  if (!(eps >= 0 && eps < 1)) {
    throw new MaskwiseError(`label smoothing ${eps} is outside [0, 1)`, {
      code: "E_ARG",
      where: "crossEntropy",
    });
  }
  const losses = new Float32Array(rows);
  const lse = new Float32Array(rows);
  const t = targets.i32;
  getBackend().crossEntropy({
    logits: logits.f32,
    targets: t,
    loss: losses,
    lse,
    rows,
    V,
    ignoreIndex,
    smoothing: eps,
  });
  let count = 0;
  for (let r = 0; r < rows; r++) if (t[r] !== ignoreIndex) count++;

  let y: Tensor;
  // dloss[r]: how much row r's loss counts in the output, given the output gradient.
  let rowWeights: (g: Float32Array) => Float32Array;
  if (reduction === "none") {
    y = new Tensor(losses, targets.shape);
    rowWeights = (g) => g;
  } else {
    let total = 0;
    for (let r = 0; r < rows; r++) total += losses[r];
    const scale = reduction === "mean" ? (count > 0 ? 1 / count : 0) : 1;
    y = new Tensor(Float32Array.of(total * scale), []);
    rowWeights = (g) => new Float32Array(rows).fill(g[0] * scale);
  }
  return record(y, "crossEntropy", [logits], (g, sink) => {
    const s = sink(0, true);
    if (s)
      getBackend().crossEntropyBackward({
        logits: logits.f32,
        targets: t,
        lse,
        dloss: rowWeights(g),
        dlogits: s.g,
        rows,
        V,
        ignoreIndex,
        smoothing: eps,
        accumulate: s.acc,
      });
  });
}
