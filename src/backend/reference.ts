// The reference backend: every kernel of the Backend seam in plain TypeScript, written to be
// obviously right rather than fast. It is the specification the native backend is tested
// against, and it runs anywhere JavaScript runs (no `node:` imports).
import {
  type AdamwArgs,
  type AttentionArgs,
  type Backend,
  type BinaryArgs,
  type BinaryOp,
  type CacheWriteArgs,
  type CrossEntropyArgs,
  type CrossEntropyBackwardArgs,
  type DecodeAttentionArgs,
  type DecodeLogSoftmaxArgs,
  type DecodeTopKGroupsArgs,
  type DropoutMaskArgs,
  dropoutHash,
  type F32,
  type GatherArgs,
  type GemmArgs,
  type GemmBf16Args,
  type GemmBf16WeightArgs,
  type GemmInt8Args,
  type HeldWeight,
  type I32,
  type LayerNormArgs,
  type LayerNormBackwardArgs,
  type PermuteArgs,
  type ReduceArgs,
  type ReduceMaxBackwardArgs,
  type ScatterAddArgs,
  type SoftmaxArgs,
  type SoftmaxBackwardArgs,
  type SwigluArgs,
  type SwigluBackwardArgs,
  type UnaryArgs,
  type UnaryBackwardArgs,
  type UnaryOp,
} from "../tensor/backend.js";
import { fromBf16, roundBf16 } from "../tensor/bf16.js";
import { MaskwiseError } from "../util/errors.js";
import { headArgs, headsOf, intoRows, kvHeadsOf, sumGroups } from "./attention-rows.js";
import { attentionBackwardReference, attentionForwardReference } from "./reference-attention.js";
import {
  cacheWriteReference,
  decodeAttentionReference,
  decodeLogSoftmaxReference,
  decodeTopKGroupsReference,
  gemmBf16Reference,
} from "./reference-decode.js";
import { gemmInt8Reference } from "./reference-int8.js";

/**
 * erf to double precision, by two expansions that need no tables of magic constants:
 * |x| < 3: erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)), whose terms
 *          are all positive (no cancellation);
 * |x| >= 3: erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), a continued
 *          fraction that converges fast for large x.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const ax = Math.abs(x);
  let r: number;
  if (ax < 3) {
    let term = ax;
    let sum = ax;
    for (let n = 0; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * ax * ax) / (2 * n + 3);
      sum += term;
    }
    r = (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
  } else {
    let f = ax;
    for (let k = 60; k >= 1; k--) f = ax + k / 2 / f;
    r = 1 - Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  }
  return x < 0 ? -r : r;
}

const INV_SQRT2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_NEW_CUBIC = 0.044715;

export function unaryFn(op: UnaryOp): (x: number) => number {
  switch (op) {
    case "neg":
      return (x) => -x;
    case "exp":
      return Math.exp;
    case "log":
      return Math.log;
    case "sqrt":
      return Math.sqrt;
    case "rsqrt":
      return (x) => 1 / Math.sqrt(x);
    case "tanh":
      return Math.tanh;
    case "erf":
      return erf;
    case "relu":
      // biome-ignore lint/complexity/useMathMinMax: relu(NaN) = 0 here, as the native kernel computes it; Math.max would give NaN.
      return (x) => (x > 0 ? x : 0);
    case "gelu":
      return (x) => 0.5 * x * (1 + erf(x * INV_SQRT2));
    case "gelu_new":
      return (x) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_NEW_CUBIC * x * x * x)));
    case "sigmoid":
      return (x) => 1 / (1 + Math.exp(-x));
    case "silu":
      return (x) => x / (1 + Math.exp(-x));
    case "abs":
      return Math.abs;
  }
}

/** f'(x) expressed with x and y = f(x). */
export function unaryDerivative(op: UnaryOp): (x: number, y: number) => number {
  switch (op) {
    case "neg":
      return () => -1;
    case "exp":
      return (_x, y) => y;
    case "log":
      return (x) => 1 / x;
    case "sqrt":
      return (_x, y) => 0.5 / y;
    case "rsqrt":
      return (_x, y) => -0.5 * y * y * y;
    case "tanh":
      return (_x, y) => 1 - y * y;
    case "erf":
      return (x) => TWO_OVER_SQRT_PI * Math.exp(-x * x);
    case "relu":
      return (x) => (x > 0 ? 1 : 0);
    case "gelu":
      return (x) => 0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x);
    case "gelu_new":
      // d/dx 0.5 x (1 + t), t = tanh(u), u = c (x + a x^3): 0.5 (1 + t) + 0.5 x (1 - t^2) u'.
      return (x) => {
        const t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_NEW_CUBIC * x * x * x));
        const du = SQRT_2_OVER_PI * (1 + 3 * GELU_NEW_CUBIC * x * x);
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
      };
    case "sigmoid":
      return (_x, y) => y * (1 - y);
    case "silu":
      // d/dx x s(x) = s(x) (1 + x (1 - s(x))).
      return (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 + x * (1 - s));
      };
    case "abs":
      return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
  }
}

export function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case "add":
      return (a, b) => a + b;
    case "sub":
      return (a, b) => a - b;
    case "mul":
      return (a, b) => a * b;
    case "div":
      return (a, b) => a / b;
    case "max":
      // biome-ignore lint/complexity/useMathMinMax: with a NaN, the second operand, as the native kernel; Math.max gives NaN.
      return (a, b) => (a >= b ? a : b);
    case "min":
      // biome-ignore lint/complexity/useMathMinMax: with a NaN, the second operand, as the native kernel; Math.min gives NaN.
      return (a, b) => (a <= b ? a : b);
  }
}

function checkIds(ids: I32, rows: number, numRows: number, op: string, missing = false): void {
  const least = missing ? -1 : 0;
  for (let r = 0; r < rows; r++) {
    const id = ids[r];
    if (id < least || id >= numRows) {
      throw new MaskwiseError(`index ${id} at position ${r} is outside [${least}, ${numRows})`, {
        code: "E_INDEX",
        where: op,
        hint: "check the token ids against the vocabulary size",
      });
    }
  }
}

export class ReferenceBackend implements Backend {
  readonly name = "reference" as const;
  readonly threads = 1;

  holdPacked(_weights: readonly HeldWeight[]): () => void {
    // Nothing is packed here: every product reads W as stored.
    return () => {};
  }

  gemmPair(first: GemmArgs, second: GemmArgs): void {
    this.gemm(first);
    this.gemm(second);
  }

  gemm(g: GemmArgs): void {
    const { m, n, k, alpha, beta, a, b, c } = g;
    // bfloat16 inputs: each element rounded as it is read (products exact, sums float32).
    const r = g.bf16 ? roundBf16 : (x: number) => x;
    const bias = g.bias ?? null;
    if (bias && bias.length < n) {
      throw new MaskwiseError(`bias of ${bias.length} elements is shorter than n ${n}`, {
        code: "E_SHAPE",
        where: "gemm",
      });
    }
    const rowSums = g.rowSums ?? null;
    if (rowSums) {
      if (g.batch !== 1 || rowSums.length < m) {
        throw new MaskwiseError(
          `rowSums of ${rowSums.length} elements for ${g.batch} products of ${m} rows: it needs batch 1 and m elements`,
          { code: "E_SHAPE", where: "gemm" },
        );
      }
      // Each row of op(A) summed in p order as stored (never rounded to bfloat16), as reduce sums.
      for (let i = 0; i < m; i++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[g.aOffset + (g.transA ? i + p * g.lda : i * g.lda + p)];
        rowSums[i] = s;
      }
    }
    for (let bi = 0; bi < g.batch; bi++) {
      const a0 = g.aOffset + bi * g.strideA;
      const b0 = g.bOffset + bi * g.strideB;
      const c0 = g.cOffset + bi * g.strideC;
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) {
            const av = r(a[a0 + (g.transA ? i + p * g.lda : i * g.lda + p)]);
            const bv = r(b[b0 + (g.transB ? p + j * g.ldb : p * g.ldb + j)]);
            s += av * bv;
          }
          const ci = c0 + i * g.ldc + j;
          c[ci] = beta === 0 ? alpha * s : alpha * s + beta * c[ci];
          // The epilogue on the stored float32 value, as a separate add and ReLU would.
          if (bias) c[ci] += bias[j];
          if (g.relu && !(c[ci] > 0)) c[ci] = 0;
        }
      }
    }
  }

  unary({ op, x, out, n }: UnaryArgs): void {
    const f = unaryFn(op);
    for (let i = 0; i < n; i++) out[i] = f(x[i]);
  }

  unaryBackward({ op, x, y, dy, dx, n, accumulate }: UnaryBackwardArgs): void {
    const d = unaryDerivative(op);
    for (let i = 0; i < n; i++) {
      const g = dy[i] * d(x[i], y[i]);
      dx[i] = accumulate ? dx[i] + g : g;
    }
  }

  swiglu({ gate, up, out, n }: SwigluArgs): void {
    // silu, then the product, each rounded to float32 as the two ops round them.
    this.unary({ op: "silu", x: gate, out, n });
    for (let i = 0; i < n; i++) out[i] = out[i] * up[i];
  }

  swigluBackward({
    gate,
    up,
    dy,
    dgate,
    dup,
    n,
    accumulateGate,
    accumulateUp,
  }: SwigluBackwardArgs): void {
    const s = new Float32Array(n);
    this.unary({ op: "silu", x: gate, out: s, n });
    if (dup) {
      // Written, not 0 + d, so that a -0 stays -0 as mul's gradient leaves it.
      for (let i = 0; i < n; i++) {
        const d = Math.fround(dy[i] * s[i]);
        dup[i] = accumulateUp ? dup[i] + d : d;
      }
    }
    if (dgate) {
      // mul's gradient of silu's output, then silu's backward.
      const ds = new Float32Array(n);
      for (let i = 0; i < n; i++) ds[i] = dy[i] * up[i];
      this.unaryBackward({
        op: "silu",
        x: gate,
        y: s,
        dy: ds,
        dx: dgate,
        n,
        accumulate: accumulateGate,
      });
    }
  }

  binary({ op, a, aStrides, b, bStrides, out, shape }: BinaryArgs): void {
    const f = binaryFn(op);
    const rank = shape.length;
    const size = shape.reduce((p, s) => p * s, 1);
    const idx = new Array<number>(rank).fill(0);
    let ai = 0;
    let bi = 0;
    for (let o = 0; o < size; o++) {
      out[o] = f(a[ai], b[bi]);
      // Advance the multi-index like an odometer, updating both input offsets.
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]++;
        ai += aStrides[d];
        bi += bStrides[d];
        if (idx[d] < shape[d]) break;
        ai -= aStrides[d] * shape[d];
        bi -= bStrides[d] * shape[d];
        idx[d] = 0;
      }
    }
  }

  reduce({ op, x, out, outer, dim, inner }: ReduceArgs): void {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let acc = op === "sum" ? 0 : Number.NEGATIVE_INFINITY;
        for (let j = 0; j < dim; j++) {
          const v = x[(o * dim + j) * inner + i];
          acc = op === "sum" ? acc + v : v > acc || Number.isNaN(v) ? v : acc;
        }
        out[o * inner + i] = acc;
      }
    }
  }

  reduceMaxBackward({ x, y, dy, dx, outer, dim, inner }: ReduceMaxBackwardArgs): void {
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        const target = y[o * inner + i];
        for (let j = 0; j < dim; j++) {
          const at = (o * dim + j) * inner + i;
          if (x[at] === target) {
            dx[at] += dy[o * inner + i];
            break;
          }
        }
      }
    }
  }

  permute({ x, out, shape, perm }: PermuteArgs): void {
    const rank = shape.length;
    const inStrides = new Array<number>(rank);
    let s = 1;
    for (let d = rank - 1; d >= 0; d--) {
      inStrides[d] = s;
      s *= shape[d];
    }
    const outShape = perm.map((p) => shape[p]);
    const strides = perm.map((p) => inStrides[p]);
    const idx = new Array<number>(rank).fill(0);
    let xi = 0;
    for (let o = 0; o < s; o++) {
      out[o] = x[xi];
      for (let d = rank - 1; d >= 0; d--) {
        idx[d]++;
        xi += strides[d];
        if (idx[d] < outShape[d]) break;
        xi -= strides[d] * outShape[d];
        idx[d] = 0;
      }
    }
  }

  softmax({ x, out, rows, cols, log }: SoftmaxArgs): void {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let mx = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < cols; j++) mx = Math.max(mx, x[o + j]);
      let sum = 0;
      for (let j = 0; j < cols; j++) sum += Math.exp(x[o + j] - mx);
      if (log) {
        const lse = mx + Math.log(sum);
        for (let j = 0; j < cols; j++) out[o + j] = x[o + j] - lse;
      } else {
        for (let j = 0; j < cols; j++) out[o + j] = Math.exp(x[o + j] - mx) / sum;
      }
    }
  }

  softmaxBackward({ y, dy, dx, rows, cols, log, accumulate }: SoftmaxBackwardArgs): void {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let s = 0;
      for (let j = 0; j < cols; j++) s += log ? dy[o + j] : dy[o + j] * y[o + j];
      for (let j = 0; j < cols; j++) {
        const g = log ? dy[o + j] - Math.exp(y[o + j]) * s : y[o + j] * (dy[o + j] - s);
        dx[o + j] = accumulate ? dx[o + j] + g : g;
      }
    }
  }

  layerNorm({ x, gamma, beta, out, mean, rstd, rows, cols, eps, rms }: LayerNormArgs): void {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      // The RMS norm subtracts nothing: its "mean" is 0 and its variance the mean square.
      let mu = 0;
      if (!rms) {
        for (let j = 0; j < cols; j++) mu += x[o + j];
        mu /= cols;
      }
      let v = 0;
      for (let j = 0; j < cols; j++) v += (x[o + j] - mu) ** 2;
      v /= cols;
      const rs = 1 / Math.sqrt(v + eps);
      mean[r] = mu;
      rstd[r] = rs;
      for (let j = 0; j < cols; j++)
        out[o + j] = (x[o + j] - mu) * rs * gamma[j] + (rms ? 0 : beta[j]);
    }
  }

  layerNormBackward({
    x,
    gamma,
    mean,
    rstd,
    dy,
    dx,
    dgamma,
    dbeta,
    rows,
    cols,
    accumulate,
    rms,
  }: LayerNormBackwardArgs): void {
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      const mu = mean[r];
      const rs = rstd[r];
      // With xhat = (x - mu) * rstd and g = dy * gamma:
      //   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
      // (the RMS norm: mu = 0 and no mean(g) term, since nothing was subtracted)
      let sg = 0;
      let sgx = 0;
      for (let j = 0; j < cols; j++) {
        const xhat = (x[o + j] - mu) * rs;
        const g = dy[o + j] * gamma[j];
        sg += g;
        sgx += g * xhat;
        dgamma[j] += dy[o + j] * xhat;
        if (!rms) dbeta[j] += dy[o + j];
      }
      sg = rms ? 0 : sg / cols;
      sgx /= cols;
      for (let j = 0; j < cols; j++) {
        const xhat = (x[o + j] - mu) * rs;
        const d = rs * (dy[o + j] * gamma[j] - sg - xhat * sgx);
        dx[o + j] = accumulate ? dx[o + j] + d : d;
      }
    }
  }

  crossEntropy({
    logits,
    targets,
    loss,
    lse,
    rows,
    V,
    ignoreIndex,
    smoothing,
  }: CrossEntropyArgs): void {
    for (let r = 0; r < rows; r++) {
      const t = targets[r];
      const o = r * V;
      let mx = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < V; j++) mx = Math.max(mx, logits[o + j]);
      let sum = 0;
      let zsum = 0;
      for (let j = 0; j < V; j++) {
        sum += Math.exp(logits[o + j] - mx);
        zsum += logits[o + j];
      }
      const l = mx + Math.log(sum);
      lse[r] = l;
      if (t === ignoreIndex) {
        loss[r] = 0;
        continue;
      }
      if (t < 0 || t >= V) {
        throw new MaskwiseError(`target ${t} at row ${r} is outside [0, ${V})`, {
          code: "E_INDEX",
          where: "crossEntropy",
          hint: `use ${ignoreIndex} for positions that have nothing to predict`,
        });
      }
      loss[r] = (1 - smoothing) * (l - logits[o + t]) + smoothing * (l - zsum / V);
    }
  }

  crossEntropyBackward({
    logits,
    targets,
    lse,
    dloss,
    dlogits,
    rows,
    V,
    ignoreIndex,
    smoothing,
    accumulate,
    vocabOffset = 0,
    vocab = V,
  }: CrossEntropyBackwardArgs): void {
    if (vocabOffset < 0 || vocabOffset + V > vocab) {
      throw new MaskwiseError(
        `vocabOffset ${vocabOffset} + V ${V} is outside a vocabulary of ${vocab}`,
        { code: "E_ARG", where: "crossEntropyBackward" },
      );
    }
    for (let r = 0; r < rows; r++) {
      const t = targets[r];
      const o = r * V;
      const ignored = t === ignoreIndex;
      if (!ignored && (t < 0 || t >= vocab)) {
        throw new MaskwiseError(`target ${t} at row ${r} is outside [0, ${vocab})`, {
          code: "E_INDEX",
          where: "crossEntropyBackward",
        });
      }
      for (let j = 0; j < V; j++) {
        let g = 0;
        if (!ignored) {
          const p = Math.exp(logits[o + j] - lse[r]);
          const hit = j + vocabOffset === t ? 1 - smoothing : 0;
          g = dloss[r] * (p - hit - smoothing / vocab);
        }
        dlogits[o + j] = accumulate ? dlogits[o + j] + g : g;
      }
    }
  }

  gather({ table, ids, out, rows, cols, numRows, zeroMissing }: GatherArgs): void {
    checkIds(ids, rows, numRows, "gather", zeroMissing ?? false);
    for (let r = 0; r < rows; r++) {
      const src = ids[r] * cols;
      for (let j = 0; j < cols; j++) out[r * cols + j] = ids[r] < 0 ? 0 : table[src + j];
    }
  }

  scatterAdd({ dout, ids, dtable, rows, cols, numRows }: ScatterAddArgs): void {
    checkIds(ids, rows, numRows, "scatterAdd");
    for (let r = 0; r < rows; r++) {
      const dst = ids[r] * cols;
      for (let j = 0; j < cols; j++) dtable[dst + j] += dout[r * cols + j];
    }
  }

  adamw({ p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step }: AdamwArgs): void {
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    for (let i = 0; i < n; i++) {
      m[i] = beta1 * m[i] + (1 - beta1) * g[i];
      v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
      const update = m[i] / bc1 / (Math.sqrt(v[i] / bc2) + eps);
      p[i] = p[i] - lr * weightDecay * p[i] - lr * update;
    }
  }

  dropoutMask({ out, n, seed, threshold, keep }: DropoutMaskArgs): void {
    for (let i = 0; i < n; i++) out[i] = dropoutHash(seed, i) < threshold ? 0 : keep;
  }

  attentionForward(args: AttentionArgs, out: F32, lse: F32): void {
    if (!args.qSlots) {
      headLayoutHeads(args);
      attentionForwardReference(args, out, lse);
      return;
    }
    const { B, H, Tq, Dh, qSlots } = args;
    const heads = new Float32Array(B * H * Tq * Dh);
    attentionForwardReference(headArgs(args), heads, lse);
    intoRows(out, heads, qSlots, B, H, Tq, Dh, false);
  }

  attentionBackward(
    args: AttentionArgs,
    out: F32,
    lse: F32,
    dout: F32,
    dq: F32,
    dk: F32,
    dv: F32,
    dbias: F32 | null = null,
    accumulate = true,
  ): void {
    if (args.qSlots) {
      const { B, H, Tq, Tk, Dh, qSlots, kSlots } = args;
      const heads = headArgs(args);
      const ks = kSlots as Int32Array;
      const g = [new Float32Array(B * H * Tq * Dh), new Float32Array(B * H * Tk * Dh)];
      const [dqh, dkh, dvh] = [g[0], g[1], new Float32Array(B * H * Tk * Dh)];
      attentionBackwardReference(
        heads,
        headsOf(out, qSlots, B, H, Tq, Dh),
        lse,
        headsOf(dout, qSlots, B, H, Tq, Dh),
        dqh,
        dkh,
        dvh,
        dbias,
      );
      const Hkv = kvHeadsOf(args);
      const G = H / Hkv;
      intoRows(dq, dqh, qSlots, B, H, Tq, Dh, accumulate);
      intoRows(dk, sumGroups(dkh, B, Hkv, G, Tk, Dh), ks, B, Hkv, Tk, Dh, accumulate);
      intoRows(dv, sumGroups(dvh, B, Hkv, G, Tk, Dh), ks, B, Hkv, Tk, Dh, accumulate);
      return;
    }
    headLayoutHeads(args);
    if (!accumulate) {
      dq.fill(0);
      dk.fill(0);
      dv.fill(0);
    }
    attentionBackwardReference(args, out, lse, dout, dq, dk, dv, dbias);
  }

  decodeAttention(args: DecodeAttentionArgs): void {
    decodeAttentionReference(args);
  }

  gemmBf16({ m, n, k, a, w, c }: GemmBf16Args): void {
    gemmBf16Reference(m, n, k, a, w, c);
  }

  gemmBf16Weight({ m, n, k, a, w, transW, c, beta, bf16 }: GemmBf16WeightArgs): void {
    if (w.length < n * k) {
      throw new MaskwiseError(`w of ${w.length} elements is shorter than n ${n} x k ${k}`, {
        code: "E_SHAPE",
        where: "gemmBf16Weight",
      });
    }
    // The specification: the float32 GEMM of the weight's exact float32 values.
    this.gemm({
      batch: 1,
      m,
      n,
      k,
      transA: false,
      transB: transW,
      alpha: 1,
      beta,
      a,
      aOffset: 0,
      lda: k,
      strideA: 0,
      b: fromBf16(w.subarray(0, n * k)),
      bOffset: 0,
      ldb: transW ? k : n,
      strideB: 0,
      c,
      cOffset: 0,
      ldc: n,
      strideC: 0,
      bf16,
    });
  }

  gemmInt8({ m, n, k, a, w, scales, sums, c, beta, bias, relu }: GemmInt8Args): string {
    gemmInt8Reference(m, n, k, a, { q: w, scales, sums }, c, { beta, bias, relu });
    return "reference";
  }

  decodeLogSoftmax({ x, rows, cols }: DecodeLogSoftmaxArgs): void {
    decodeLogSoftmaxReference(x, rows, cols);
  }

  decodeTopKGroups(a: DecodeTopKGroupsArgs): void {
    decodeTopKGroupsReference(a);
  }

  cacheWrite(args: CacheWriteArgs): void {
    cacheWriteReference(args);
  }
}

/** The head layout reads k and v by query head: kvHeads, when given, must be H. */
function headLayoutHeads(a: AttentionArgs): void {
  if (a.kvHeads !== undefined && a.kvHeads !== a.H) {
    throw new MaskwiseError(
      `kvHeads ${a.kvHeads} differs from the ${a.H} query heads: only the row layout (qSlots, kSlots) groups query heads`,
      { code: "E_ARG", where: "attention" },
    );
  }
}
