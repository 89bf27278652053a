// The decoding kernels in plain TypeScript, their specification. Attention of one new query per
// row on a KV cache (see DecodeAttentionArgs in src/tensor/backend.ts). Scores are computed in
// double precision; a NaN score is not a maximum, but it poisons the sum, as in the native kernel.
// A bias of -Infinity leaves its position out (its exponential is 0).
import type {
  CacheWriteArgs,
  DecodeAttentionArgs,
  DecodeTopKGroupsArgs,
  F32,
  I32,
} from "../tensor/backend.js";
import { fromBf16, toBf16 } from "../tensor/bf16.js";
import { MaskwiseError } from "../util/errors.js";

export function decodeAttentionReference(a: DecodeAttentionArgs): void {
  const { R, H, Dh, q, k, v, capacity, length, rows, keep, keepStride, scale, out } = a;
  const { slots, slotStride } = a;
  const bias = a.bias ?? null;
  const biasOffset = a.biasOffset ?? 0;
  const biasHeadStride = a.biasHeadStride ?? 0;
  // Grouped-query attention: G query heads share each of the cache's Hkv heads.
  const Hkv = a.kvHeads ?? H;
  if (!Number.isInteger(Hkv) || Hkv < 1 || H % Hkv !== 0) {
    throw new MaskwiseError(`kvHeads ${Hkv} does not divide the ${H} query heads`, {
      code: "E_ARG",
      where: "decodeAttention",
      hint: "kvHeads is a positive divisor of H (absent: H)",
    });
  }
  const G = H / Hkv;
  if (bias && H > 0 && length > 0) {
    const need = biasOffset + (H - 1) * biasHeadStride + length;
    if (
      !Number.isInteger(biasOffset) ||
      biasOffset < 0 ||
      !Number.isInteger(biasHeadStride) ||
      biasHeadStride < 0 ||
      bias.length < need
    ) {
      throw new MaskwiseError(
        `bias of ${bias.length} values read at biasOffset ${biasOffset} + h * biasHeadStride ${biasHeadStride} + j needs ${need}`,
        {
          code: "E_ARG",
          where: "decodeAttention",
          hint: "biasOffset and biasHeadStride are non-negative integers inside the bias",
        },
      );
    }
  }
  if (length > capacity) {
    throw new MaskwiseError(`length ${length} exceeds the cache capacity ${capacity}`, {
      code: "E_ARG",
      where: "decodeAttention",
    });
  }
  if (slots && slotStride < length) {
    throw new MaskwiseError(`slotStride ${slotStride} is shorter than length ${length}`, {
      code: "E_ARG",
      where: "decodeAttention",
    });
  }
  // `what` names the argument in the error; it is only built for a row that is out of range.
  const physical = (x: number, what: () => string) => {
    if (!Number.isInteger(x) || x < 0 || x >= a.P) {
      throw new MaskwiseError(`${what()} = ${x} is outside the cache's ${a.P} rows`, {
        code: "E_INDEX",
        where: "decodeAttention",
      });
    }
    return x;
  };
  const s = new Float64Array(length);
  const acc = new Float64Array(Dh);
  // The physical row of each position of the current query row.
  const pos = new Int32Array(length);
  for (let r = 0; r < R; r++) {
    const pr = physical(rows[r], () => `rows[${r}]`);
    const kr = slots ? r : pr; // the keep row
    for (let j = 0; j < length; j++) {
      const at = r * slotStride + j;
      pos[j] = slots ? physical(slots[at], () => `slots[${at}]`) : pr;
    }
    for (let h = 0; h < H; h++) {
      const qo = (r * H + h) * Dh;
      const hk = Math.floor(h / G);
      const at = (j: number) => ((pos[j] * Hkv + hk) * capacity + j) * Dh;
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < length; j++) {
        if (keep && keep[kr * keepStride + j] === 0) continue;
        let d = 0;
        const kj = at(j);
        for (let e = 0; e < Dh; e++) d += q[qo + e] * k[kj + e];
        s[j] = d * scale + (bias ? bias[biasOffset + h * biasHeadStride + j] : 0);
        if (s[j] > m) m = s[j];
      }
      acc.fill(0);
      if (m !== Number.NEGATIVE_INFINITY) {
        let l = 0;
        for (let j = 0; j < length; j++) {
          if (keep && keep[kr * keepStride + j] === 0) continue;
          const p = Math.exp(s[j] - m);
          l += p;
          const vj = at(j);
          for (let e = 0; e < Dh; e++) acc[e] += p * v[vj + e];
        }
        for (let e = 0; e < Dh; e++) acc[e] /= l;
      }
      for (let e = 0; e < Dh; e++) out[qo + e] = acc[e];
    }
  }
}

/** In-place log-softmax of each row of x [rows, cols] (see Backend.decodeLogSoftmax). */
export function decodeLogSoftmaxReference(x: F32, rows: number, cols: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
    let s = 0;
    for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
    const lse = m + Math.log(s);
    for (let j = 0; j < cols; j++) x[o + j] -= lse;
  }
}

/** One group's choice of continuations (see Backend.decodeTopKGroups): a small sorted array as scores stream by. */
export function decodeTopKReference(
  lp: F32,
  V: number,
  rows: I32,
  base: Float64Array,
  M: number,
  hyp: I32,
  token: I32,
  score: Float64Array,
): number {
  let count = 0;
  if (M <= 0) return 0;
  for (let h = 0; h < rows.length; h++) {
    const o = rows[h] * V;
    for (let j = 0; j < V; j++) {
      const l = lp[o + j];
      if (!(l > Number.NEGATIVE_INFINITY)) continue;
      const s = base[h] + l;
      if (count === M && (s < score[M - 1] || (s === score[M - 1] && j >= token[M - 1]))) continue;
      let at = count < M ? count++ : M - 1;
      while (at > 0 && (s > score[at - 1] || (s === score[at - 1] && j < token[at - 1]))) {
        score[at] = score[at - 1];
        token[at] = token[at - 1];
        hyp[at] = hyp[at - 1];
        at--;
      }
      score[at] = s;
      token[at] = j;
      hyp[at] = h;
    }
  }
  return count;
}

/** decodeTopK group by group (see Backend.decodeTopKGroups). */
export function decodeTopKGroupsReference(a: DecodeTopKGroupsArgs): void {
  const { lp, V, rows, base, offsets, M, hyp, token, score, counts } = a;
  const G = offsets.length - 1;
  if (G < 0 || offsets[0] !== 0 || offsets[G] !== rows.length) {
    throw new MaskwiseError(
      `offsets must rise from 0 to the ${rows.length} rows given, got [${offsets.join(", ")}]`,
      { code: "E_ARG", where: "decodeTopKGroups" },
    );
  }
  for (const [name, arr, need] of [
    ["hyp", hyp, G * M],
    ["token", token, G * M],
    ["score", score, G * M],
    ["counts", counts, G],
  ] as const) {
    if (arr.length < need) {
      throw new MaskwiseError(`${name} holds ${arr.length} values; ${need} are written`, {
        code: "E_SHAPE",
        where: "decodeTopKGroups",
      });
    }
  }
  for (let g = 0; g < G; g++) {
    const lo = offsets[g];
    const hi = offsets[g + 1];
    if (hi < lo) {
      throw new MaskwiseError(`offsets[${g + 1}] is below offsets[${g}]`, {
        code: "E_ARG",
        where: "decodeTopKGroups",
      });
    }
    counts[g] = decodeTopKReference(
      lp,
      V,
      rows.subarray(lo, hi),
      base.subarray(lo, hi),
      M,
      hyp.subarray(g * M, (g + 1) * M),
      token.subarray(g * M, (g + 1) * M),
      score.subarray(g * M, (g + 1) * M),
    );
  }
}

/**
 * The KV-cache append (see CacheWriteArgs): every argument is checked before anything is
 * written, so a bad call leaves the cache as it was.
 */
export function cacheWriteReference(a: CacheWriteArgs): void {
  const { B, T, H, Dh, k, v, kCache, vCache, capacity, t0 } = a;
  const fail = (msg: string, code = "E_ARG"): never => {
    throw new MaskwiseError(msg, {
      code,
      where: "cacheWrite",
      hint: "see CacheWriteArgs in src/tensor/backend.ts",
    });
  };
  for (const name of ["B", "T", "H", "Dh", "kOffset", "vOffset", "srcStride", "capacity", "t0"]) {
    const x = a[name as keyof CacheWriteArgs];
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0)
      fail(`argument '${name}' must be an integer >= 0, got ${x}`);
  }
  const width = H * Dh;
  if (a.srcStride < width)
    fail(`argument 'srcStride' ${a.srcStride} is less than H * Dh = ${width}`);
  if (t0 + T > capacity) fail(`positions t0 ${t0} + T ${T} exceed the capacity ${capacity}`);
  if ((v === null) !== (vCache === null)) fail("v and vCache must both be given or both be null");
  const pairs: [F32, number, F32, string, string][] = [[k, a.kOffset, kCache, "k", "kCache"]];
  if (v && vCache) pairs.push([v, a.vOffset, vCache, "v", "vCache"]);
  // The last source element read and the cache elements written, when anything is copied.
  const n = B * T;
  const copies = n > 0 && width > 0;
  const written = B * H * capacity * Dh;
  for (const [src, offset, dst, srcName, dstName] of pairs) {
    const need = copies ? offset + (n - 1) * a.srcStride + width : 0;
    if (src.length < need)
      fail(
        `array '${srcName}' of ${src.length} elements is too short: the sizes need ${need}`,
        "E_SHAPE",
      );
    if (dst.length < written)
      fail(
        `array '${dstName}' of ${dst.length} elements is too short: the sizes need ${written}`,
        "E_SHAPE",
      );
  }
  if (!copies) return;
  // Byte ranges read and written: a source overlapping a destination would read what the copy
  // already overwrote.
  const range = (x: F32, from: number, to: number) =>
    [x.buffer, x.byteOffset + 4 * from, x.byteOffset + 4 * to] as const;
  const reads = pairs.map(([src, offset]) =>
    range(src, offset, offset + (n - 1) * a.srcStride + width),
  );
  const writes = pairs.map(([, , dst]) => range(dst, 0, written));
  for (const [rb, r0, r1] of reads)
    for (const [wb, w0, w1] of writes)
      if (rb === wb && r0 < w1 && w0 < r1) fail("a source overlaps a destination cache");
  for (const [src, offset, dst] of pairs) {
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let h = 0; h < H; h++) {
          const from = offset + (b * T + t) * a.srcStride + h * Dh;
          const to = ((b * H + h) * capacity + t0 + t) * Dh;
          for (let e = 0; e < Dh; e++) dst[to + e] = src[from + e];
        }
  }
}

/**
 * c [m, n] += a [m, k] w^T with w [n, k] bfloat16 bits (Backend.gemmBf16) and a rounded to
 * bfloat16 (to nearest, ties to even): each product of two bfloat16 values is exact; sums in
 * double.
 */
export function gemmBf16Reference(
  m: number,
  n: number,
  k: number,
  a: F32,
  w: Uint16Array,
  c: F32,
): void {
  for (const [name, v] of [
    ["m", m],
    ["n", n],
    ["k", k],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) {
      throw new MaskwiseError(`${name} must be a non-negative integer, got ${v}`, {
        code: "E_ARG",
        where: "gemmBf16",
      });
    }
  }
  if (a.length < m * k || w.length < n * k || c.length < m * n) {
    throw new MaskwiseError(
      `arrays too short for m ${m}, n ${n}, k ${k}: a ${a.length}, w ${w.length}, c ${c.length}`,
      { code: "E_SHAPE", where: "gemmBf16" },
    );
  }
  const ar = fromBf16(toBf16(a.subarray(0, m * k)));
  const wf = new Float32Array(k);
  const bits = new Uint32Array(wf.buffer);
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) bits[p] = w[j * k + p] << 16;
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += ar[i * k + p] * wf[p];
      c[i * n + j] += s;
    }
  }
}
