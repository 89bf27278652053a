// int8 products of a decoding step, in plain TypeScript: their specification (native/gemm_int8.cc
// computes the same numbers). A weight W [n, k] is quantized once per output row j (symmetric,
// per channel): sw[j] = max_p |W[j, p]| / 127 and q[j, p] = W[j, p] / sw[j] rounded to nearest,
// ties to even. Each row i of the activations A [m, k] is quantized on every call (dynamic, per
// token) to unsigned bytes with a zero point (asymmetric): the row's range [lo, hi], widened to
// hold 0, is cut into 255 steps of sa[i] = hi / 255 - lo / 255, and a[i, p] is stored as
// u[i, p] = a[i, p] / sa[i] rounded, plus the zero point z[i] = -lo / sa[i] rounded (0 exact). A
// row that is never negative (the feed-forward's ReLU output) thus gets twice the steps of a
// symmetric int8 row; a row centred on 0 gets as many. The dot products sum_p (u - z[i]) q are
// exact integers; the result is c[i, j] += float32(dot) * float32(sa[i] * sw[j]), every step
// rounded to float32, so a kernel that sums the integers in any order gets the same bits.
//
// All arithmetic below is float32 (Math.fround after each operation; a float32 division done in
// double and rounded once is the float32 division). A row of zeros, or one whose step is 0 in
// float32, gets scale 0 and zeros; a row holding NaN or an infinity gets scale NaN, so its
// results are NaN.
import type { F32 } from "../tensor/backend.js";
import { MaskwiseError } from "../util/errors.js";

/** To nearest, ties to even (the CPU's default rounding; Math.round sends ties up). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Row `row` of x [*, k] quantized into q (int8 at q[qOffset..]); returns its scale. */
export function quantizeRow(
  x: Float32Array,
  row: number,
  k: number,
  q: Int8Array,
  qOffset: number,
): number {
  const o = row * k;
  let amax = 0;
  let finite = true;
  for (let p = 0; p < k; p++) {
    const v = Math.abs(x[o + p]);
    if (!Number.isFinite(v)) finite = false;
    else if (v > amax) amax = v;
  }
  const s = finite ? Math.fround(amax / 127) : Number.NaN;
  if (!(s > 0)) {
    q.fill(0, qOffset, qOffset + k);
    return s;
  }
  for (let p = 0; p < k; p++) {
    const r = roundHalfEven(Math.fround(x[o + p] / s));
    q[qOffset + p] = Math.max(-127, Math.min(127, r));
  }
  return s;
}

/** A row of activations as unsigned bytes: u = x / scale rounded + zero (gemmInt8Reference). */
export interface ActivationRow {
  scale: number;
  zero: number;
}

/**
 * Row `row` of x [*, k] quantized into u (bytes at u[uOffset..]) with its own range, 0 included:
 * scale = hi / 255 - lo / 255 and zero = -lo / scale, each rounded to float32 and the zero
 * point to the nearest integer (ties to even), u = x / scale rounded + zero, within [0, 255].
 */
export function quantizeActivationRow(
  x: Float32Array,
  row: number,
  k: number,
  u: Uint8Array,
  uOffset: number,
): ActivationRow {
  const o = row * k;
  let lo = 0;
  let hi = 0;
  let finite = true;
  for (let p = 0; p < k; p++) {
    const v = x[o + p];
    if (!Number.isFinite(v)) finite = false;
    else if (v < lo) lo = v;
    else if (v > hi) hi = v;
  }
  // Each end divided first: hi - lo itself could overflow float32.
  const s = finite ? Math.fround(Math.fround(hi / 255) - Math.fround(lo / 255)) : Number.NaN;
  if (!(s > 0)) {
    u.fill(0, uOffset, uOffset + k);
    return { scale: s, zero: 0 };
  }
  const zero = Math.max(0, Math.min(255, roundHalfEven(Math.fround(-lo / s))));
  for (let p = 0; p < k; p++) {
    const r = roundHalfEven(Math.fround(x[o + p] / s)) + zero;
    u[uOffset + p] = Math.max(0, Math.min(255, r));
  }
  return { scale: s, zero };
}

/** Each value of row `row` of u [*, k] scaled back: (u - zero) * scale (tests, error bounds). */
export function dequantizeActivationRow(u: Uint8Array, row: number, k: number, r: ActivationRow) {
  const out = new Float32Array(k);
  for (let p = 0; p < k; p++) out[p] = Math.fround((u[row * k + p] - r.zero) * r.scale);
  return out;
}

/** A weight [n, k] quantized per row: int8 values [n, k], scales [n], row sums of q [n]. */
export interface Int8Matrix {
  q: Int8Array;
  scales: Float32Array;
  sums: Int32Array;
}

export function quantizeRowsInt8(w: Float32Array, n: number, k: number): Int8Matrix {
  if (w.length < n * k) {
    throw new MaskwiseError(`weight of ${w.length} values is smaller than ${n} x ${k}`, {
      code: "E_SHAPE",
      where: "quantizeRowsInt8",
    });
  }
  const q = new Int8Array(n * k);
  const scales = new Float32Array(n);
  const sums = new Int32Array(n);
  for (let j = 0; j < n; j++) {
    scales[j] = quantizeRow(w, j, k, q, j * k);
    let s = 0;
    for (let p = 0; p < k; p++) s += q[j * k + p];
    sums[j] = s;
  }
  return { q, scales, sums };
}

/**
 * w int8 [n, k] in VPDPBUSD's layout (GemmInt8Args.packed): blocks of 16 columns (output rows of
 * w), each a run of k / 4 groups of 64 bytes; byte c * 4 + t of group g of block b is
 * w[16 b + c, 4 g + t], and 0 for a column at or past n. One instruction then adds 4 products
 * to each of 16 columns' sums, with no horizontal sums at the end. k must be a multiple of 4.
 */
export function packInt8Vnni(w: Int8Array, n: number, k: number): Int8Array {
  if (k % 4 !== 0 || w.length < n * k) {
    throw new MaskwiseError(`cannot pack int8 weights [${n}, ${k}]: k must be a multiple of 4`, {
      code: "E_SHAPE",
      where: "packInt8Vnni",
    });
  }
  const blocks = Math.ceil(n / 16);
  const groups = k / 4;
  const out = new Int8Array(blocks * groups * 64);
  for (let j = 0; j < n; j++) {
    const block = (j >> 4) * groups * 64 + (j & 15) * 4;
    for (let g = 0; g < groups; g++) {
      const to = block + g * 64;
      const from = j * k + 4 * g;
      out[to] = w[from];
      out[to + 1] = w[from + 1];
      out[to + 2] = w[from + 2];
      out[to + 3] = w[from + 3];
    }
  }
  return out;
}

/**
 * w int8 [n, k] in VPMADDWD's pair layout (GemmInt8Args.packed as an Int16Array), for AVX2
 * without VNNI: blocks of 8 columns (output rows of w), each a run of k / 2 groups of 16 int16;
 * element c * 2 + t of group g of block b is w[8 b + c, 2 g + t], and 0 for a column at or past
 * n. One instruction then adds 2 products (of int16-widened bytes) to each of 8 columns' sums.
 * k must be even.
 */
export function packInt8Pairs(w: Int8Array, n: number, k: number): Int16Array {
  if (k % 2 !== 0 || w.length < n * k) {
    throw new MaskwiseError(`cannot pack int8 weights [${n}, ${k}]: k must be even`, {
      code: "E_SHAPE",
      where: "packInt8Pairs",
    });
  }
  const groups = k / 2;
  const out = new Int16Array(Math.ceil(n / 8) * groups * 16);
  for (let j = 0; j < n; j++) {
    const block = (j >> 3) * groups * 16 + (j & 7) * 2;
    for (let g = 0; g < groups; g++) {
      out[block + g * 16] = w[j * k + 2 * g];
      out[block + g * 16 + 1] = w[j * k + 2 * g + 1];
    }
  }
  return out;
}

/** Each value of w [n, k] quantized and scaled back (the round trip; tests and error bounds). */
export function dequantizeInt8(m: Int8Matrix, n: number, k: number): Float32Array {
  const out = new Float32Array(n * k);
  for (let j = 0; j < n; j++)
    for (let p = 0; p < k; p++) out[j * k + p] = Math.fround(m.q[j * k + p] * m.scales[j]);
  return out;
}

/** What follows the product (GemmInt8Args' beta, bias and relu). */
export interface Int8Epilogue {
  beta?: 0 | 1;
  bias?: F32 | null;
  relu?: boolean;
}

/**
 * c [m, n] = beta c + a [m, k] w^T (+ bias) (ReLU) with w quantized per row (`w.q` [n, k],
 * `w.scales` [n]) and each row of a quantized on the fly (quantizeActivationRow). `w.sums` is
 * not read here (the kernels' zero-point correction: sum_p u q - z sum_p q).
 */
export function gemmInt8Reference(
  m: number,
  n: number,
  k: number,
  a: F32,
  w: Int8Matrix,
  c: F32,
  epilogue: Int8Epilogue = {},
): void {
  const beta = epilogue.beta ?? 1;
  const bias = epilogue.bias ?? null;
  const relu = epilogue.relu ?? false;
  if (bias && bias.length < n) {
    throw new MaskwiseError(`bias of ${bias.length} values for n ${n}`, {
      code: "E_SHAPE",
      where: "gemmInt8",
    });
  }
  if (a.length < m * k || w.q.length < n * k || w.scales.length < n || c.length < m * n) {
    throw new MaskwiseError(`arrays too small for m ${m}, n ${n}, k ${k}`, {
      code: "E_SHAPE",
      where: "gemmInt8",
    });
  }
  const ua = new Uint8Array(k);
  for (let i = 0; i < m; i++) {
    const { scale: sa, zero } = quantizeActivationRow(a, i, k, ua, 0);
    for (let j = 0; j < n; j++) {
      let dot = 0;
      const o = j * k;
      for (let p = 0; p < k; p++) dot += (ua[p] - zero) * w.q[o + p];
      const t = Math.fround(sa * w.scales[j]);
      const before = beta === 1 ? c[i * n + j] : 0;
      let v = Math.fround(before + Math.fround(Math.fround(dot) * t));
      if (bias) v = Math.fround(v + bias[j]);
      // relu(NaN) = 0, as the unary ReLU computes it.
      if (relu && !(v > 0)) v = 0;
      c[i * n + j] = v;
    }
  }
}
