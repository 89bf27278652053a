// GEMM test cases: random operands with offsets, padded leading dimensions and batch strides,
// and the check of one backend's product against another's within float32's error bound.
import assert from "node:assert/strict";
import type { Backend, GemmArgs } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";

const F32_EPS = 2 ** -23;

export function rand(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return a;
}

export interface GemmCase {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  pad: number; // extra leading-dimension padding
  shareA: boolean; // strideA = 0
  shareB: boolean; // strideB = 0
  off: number; // offsets into a, b, c
  bf16?: boolean; // operands rounded to bfloat16 (GemmArgs.bf16)
}

/** A case of one matrix, operands as stored, B shared; `over` changes any field. */
export function gemmCase(m: number, n: number, k: number, over: Partial<GemmCase> = {}): GemmCase {
  return {
    batch: 1,
    m,
    n,
    k,
    transA: false,
    transB: false,
    alpha: 1,
    beta: 0,
    pad: 0,
    shareA: false,
    shareB: true,
    off: 0,
    ...over,
  };
}

export function makeGemm(rng: Rng, c: GemmCase): { args: GemmArgs; c0: Float32Array } {
  const lda = (c.transA ? c.m : c.k) + c.pad;
  const ldb = (c.transB ? c.k : c.n) + c.pad;
  const ldc = c.n + c.pad;
  const aSize = (c.transA ? c.k : c.m) * lda;
  const bSize = (c.transB ? c.n : c.k) * ldb;
  const cSize = c.m * ldc;
  const strideA = c.shareA ? 0 : aSize + 3;
  const strideB = c.shareB ? 0 : bSize + 1;
  const strideC = cSize + 2;
  const a = rand(rng, c.off + Math.max(1, c.batch * (strideA || aSize)));
  const b = rand(rng, c.off + Math.max(1, c.batch * (strideB || bSize)));
  const cArr = rand(rng, c.off + Math.max(1, c.batch * strideC));
  // beta = 0 must not read C: fill it with NaN garbage.
  if (c.beta === 0) cArr.fill(Number.NaN);
  const args: GemmArgs = {
    batch: c.batch,
    m: c.m,
    n: c.n,
    k: c.k,
    transA: c.transA,
    transB: c.transB,
    alpha: c.alpha,
    beta: c.beta,
    a,
    aOffset: c.off,
    lda,
    strideA,
    b,
    bOffset: c.off,
    ldb,
    strideB,
    c: cArr,
    cOffset: c.off,
    ldc,
    strideC,
    bf16: c.bf16 ?? false,
  };
  return { args, c0: cArr.slice() };
}

/**
 * `got`'s product against `want`'s on the case's random operands. Bound: a float32 dot product of
 * length k errs by about k * eps * sum |a||b| (the sum computed by `want` on absolute values;
 * with bf16, on the rounded operands, whose products are exact), plus the beta * C term.
 */
export function checkGemmAgainst(want: Backend, got: Backend, c: GemmCase, seed: number): void {
  const rng = new Rng(seed);
  const { args, c0 } = makeGemm(rng, c);
  const expected = { ...args, c: c0.slice() };
  want.gemm(expected);
  got.gemm(args);
  const absArgs = {
    ...args,
    a: args.a.map(Math.abs),
    b: args.b.map(Math.abs),
    alpha: Math.abs(c.alpha),
    beta: c.beta === 0 ? 0 : Math.abs(c.beta),
    c: c0.map(Math.abs),
  };
  want.gemm(absArgs);
  const what = JSON.stringify(c);
  for (let i = 0; i < expected.c.length; i++) {
    const w = expected.c[i];
    const g = args.c[i];
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${what}: [${i}] ${g} vs NaN`);
      continue;
    }
    const bound = 4 * (c.k + 2) * F32_EPS * absArgs.c[i] + 1e-30;
    assert.ok(Math.abs(g - w) <= bound, `${what}: [${i}] ${g} vs ${w} (bound ${bound})`);
  }
}
