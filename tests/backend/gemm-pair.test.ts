// Backend.gemmPair: two independent products with exactly the results of two gemm calls. On
// the native backend with two threads each product of a large enough pair runs whole on its own
// thread (one B packing per product instead of one per thread), a path no single gemm call
// takes; the results must still equal the single calls bit for bit (the same kernel sums each
// element in the same order), on one, two and three threads, with accumulation, the epilogue,
// bfloat16 operands, and pairs where one product is too small to get a thread. Both products'
// arguments are checked before either runs.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import type { GemmArgs } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";
import { type GemmCase, gemmCase, makeGemm, rand } from "../helpers/gemm.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
const addon = ("addon" in loaded ? loaded.addon : null) as NativeAddon;

const one = gemmCase;

/** A linear layer's backward over R rows: dx [R, K] = g [R, N] W [N, K], dW [N, K] = g^T x. */
function linearBackward(R: number, N: number, K: number, acc = false): [GemmCase, GemmCase] {
  const beta = acc ? 1 : 0;
  return [one(R, K, N, { beta }), one(N, K, R, { transA: true, beta, alpha: acc ? 1 : 0.5 })];
}

const pairs: [string, GemmCase, GemmCase][] = [
  ["a linear layer's dx and dW", ...linearBackward(200, 96, 80)],
  ["the same, accumulating", ...linearBackward(200, 96, 80, true)],
  ["several k and n blocks", ...linearBackward(300, 1100, 260)],
  [
    "forward products with the epilogue's shapes",
    one(150, 130, 70, { transB: true }),
    one(90, 260, 64, { transB: true, pad: 3, off: 5 }),
  ],
  [
    "bfloat16 operands",
    one(120, 96, 64, { bf16: true }),
    one(96, 64, 120, { transA: true, bf16: true }),
  ],
  ["one product too small for a thread", one(200, 96, 80), one(8, 8, 8)],
  ["a skinny product", one(4, 300, 128, { transB: true }), one(128, 96, 64)],
  ["a batch", one(64, 64, 64, { batch: 3, shareB: false }), one(120, 80, 96)],
];

/** Both products' operands; the bias and ReLU of the first when asked. */
function operands(seed: number, a: GemmCase, b: GemmCase, epilogue: boolean): [GemmArgs, GemmArgs] {
  const rng = new Rng(seed);
  const first = makeGemm(rng, a).args;
  const second = makeGemm(rng, b).args;
  if (epilogue) {
    first.bias = rand(rng, a.n, -0.5, 0.5);
    first.relu = true;
  }
  return [first, second];
}

const withC = (g: GemmArgs): GemmArgs => ({ ...g, c: g.c.slice() });

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    if (Object.is(got[i], want[i])) continue;
    assert.fail(`${what}: element ${i} is ${got[i]}, two gemm calls give ${want[i]}`);
  }
}

describe("gemmPair", { skip }, () => {
  test("equals gemm(first) then gemm(second) bit for bit, on 1, 2 and 3 threads", () => {
    const nat = new NativeBackend(addon);
    const before = addon.threads();
    try {
      for (const threads of [1, 2, 3]) {
        addon.setThreads(threads);
        pairs.forEach(([what, a, b], i) => {
          for (const epilogue of [false, true]) {
            const [first, second] = operands(100 + i, a, b, epilogue);
            const w1 = withC(first);
            const w2 = withC(second);
            nat.gemm(w1);
            nat.gemm(w2);
            nat.gemmPair(first, second);
            const label = `${what}, ${threads} threads${epilogue ? ", bias and ReLU" : ""}`;
            sameBits(first.c, w1.c, `${label}, first`);
            sameBits(second.c, w2.c, `${label}, second`);
          }
        });
      }
    } finally {
      addon.setThreads(before);
    }
  });

  test("the reference backend's pair is its two products, and the native one agrees with it", () => {
    const ref = new ReferenceBackend();
    const nat = new NativeBackend(addon);
    const [what, a, b] = pairs[2];
    const [first, second] = operands(7, a, b, false);
    const r1 = withC(first);
    const r2 = withC(second);
    const s1 = withC(first);
    const s2 = withC(second);
    ref.gemmPair(r1, r2);
    ref.gemm(s1);
    ref.gemm(s2);
    sameBits(r1.c, s1.c, `${what}, reference first`);
    sameBits(r2.c, s2.c, `${what}, reference second`);
    nat.gemmPair(first, second);
    for (const [got, want, k] of [
      [first.c, r1.c, a.k],
      [second.c, r2.c, b.k],
    ] as const) {
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        // Elements outside C's rows keep the NaN that beta = 0 must not read, on both sides.
        if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
        worst = Math.max(worst, Math.abs(got[i] - want[i]));
      }
      // Operands in [-1, 1]: a float32 dot product of length k errs by at most about k^2 eps.
      assert.ok(worst <= k * k * 2 ** -23, `${what}: native and reference differ by ${worst}`);
    }
  });

  test("both products are checked before either runs", () => {
    const nat = new NativeBackend(addon);
    const [, a, b] = pairs[0];
    const [first, second] = operands(3, a, b, false);
    const c1 = first.c.slice();
    const short = { ...second, c: second.c.subarray(0, 10) };
    assert.throws(
      () => nat.gemmPair(first, short),
      (e: Error & { code?: string }) =>
        e.code === "E_NATIVE_ARG" && /gemmPair.*'c'/.test(e.message),
    );
    sameBits(first.c, c1, "the first product's C after a refused pair");
    assert.throws(
      () => (addon.gemmPair as (...args: unknown[]) => void)(1, 2, 3),
      (e: Error) => /gemmPair: expects/.test(e.message),
    );
  });
});
