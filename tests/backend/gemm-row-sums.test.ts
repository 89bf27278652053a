// GemmArgs.rowSums: the sums of op(A)'s rows, which an affine layer's weight-gradient product
// (op(A) = g^T) hands back as its bias gradient. On every path of the native product (direct,
// skinny, k = 0, n = 0, packed with several k, m and n blocks split by rows or by columns over
// the threads, bfloat16 operands, gemmPair's one-product-per-thread) and on the reference, the
// sums equal the reference `reduce` over op(A) bit for bit (double sums in p order, rounded
// once), and C equals the product without them bit for bit.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import type { Backend, GemmArgs } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";
import { type GemmCase, gemmCase, makeGemm } from "../helpers/gemm.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
const addon = ("addon" in loaded ? loaded.addon : null) as NativeAddon;
const ref = new ReferenceBackend();
const nat = (): Backend => new NativeBackend(addon);

/** op(A) [m, k] of a product copied out as [k, m], and the reference reduce of its columns. */
function expectedSums(args: GemmArgs): Float32Array {
  const { m, k } = args;
  const opA = new Float32Array(k * m);
  for (let i = 0; i < m; i++)
    for (let p = 0; p < k; p++)
      opA[p * m + i] = args.a[args.aOffset + (args.transA ? i + p * args.lda : i * args.lda + p)];
  const out = new Float32Array(m);
  ref.reduce({ op: "sum", x: opA, out, outer: 1, dim: k, inner: m });
  return out;
}

function assertSame(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length, what);
  for (let i = 0; i < want.length; i++)
    assert.ok(
      Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i])),
      `${what}: [${i}] ${got[i]} vs ${want[i]}`,
    );
}

/** rowSums on `be` equal the reduce, and C is what the product alone writes. */
function check(be: Backend, c: GemmCase, seed: number): void {
  const { args } = makeGemm(new Rng(seed), c);
  // Large entries of both signs: sums that float32 accumulation would round differently.
  for (let i = 0; i < args.a.length; i += 7) args.a[i] *= 1e4;
  const plain = { ...args, c: args.c.slice() };
  be.gemm(plain);
  const rowSums = new Float32Array(c.m).fill(Number.NaN);
  be.gemm({ ...args, rowSums });
  const what = JSON.stringify(c);
  assertSame(rowSums, expectedSums(args), `${what} rowSums`);
  assertSame(args.c, plain.c, `${what} C`);
}

const isas = (): string[] => {
  if (!addon) return [];
  const best = addon.cpuIsa();
  return ["portable", "avx2", "avx512"].slice(0, ["portable", "avx2", "avx512"].indexOf(best) + 1);
};

// A weight gradient's shape first (op(A) = g^T, g [k rows, m columns]).
const cases = (): GemmCase[] => [
  gemmCase(300, 256, 700, { transA: true }), // packed, rows split over the threads, 3 k blocks
  gemmCase(5, 7, 9, { transA: true }), // direct (small) path
  gemmCase(5, 7, 9), // direct, A as stored
  gemmCase(3, 40, 64, { transB: true }), // skinny path
  gemmCase(4, 6, 0, { beta: 1 }), // k = 0: sums of nothing
  gemmCase(9, 0, 30, { transA: true }), // n = 0: no C, still the sums
  gemmCase(20, 2100, 300, { transA: true, pad: 3, off: 5 }), // columns split, 3 n blocks
  gemmCase(300, 70, 520, { transA: false, transB: true, beta: 1, pad: 1, off: 2 }),
  gemmCase(200, 96, 256, { transA: true, bf16: true }), // bfloat16 operands: sums of A as stored
];

describe("GEMM row sums (the bias gradient)", { skip }, () => {
  test("reference: rowSums are reduce's sums of op(A), C unchanged", () => {
    let seed = 1;
    for (const c of cases()) check(ref, c, seed++);
  });

  for (const isa of isas()) {
    test(`${isa}: rowSums are reduce's sums on every path, C unchanged, 1 and 2 threads`, () => {
      addon.setGemmIsa(isa);
      const before = addon.threads();
      try {
        for (const threads of [1, 2]) {
          addon.setThreads(threads);
          let seed = 100;
          for (const c of cases()) check(nat(), c, seed++);
        }
      } finally {
        addon.setGemmIsa(addon.cpuIsa());
        addon.setThreads(before);
      }
    });
  }

  test("gemmPair: the second product's sums, each product on its own thread", () => {
    const before = addon.threads();
    addon.setThreads(2);
    try {
      const rng = new Rng(7);
      // An affine layer's backward: dx = g W and dW = g^T x, g [R, N].
      const R = 400;
      const N = 256;
      const K = 192;
      const dx = makeGemm(rng, gemmCase(R, K, N)).args;
      const dw = makeGemm(rng, gemmCase(N, K, R, { transA: true })).args;
      const db = new Float32Array(N).fill(Number.NaN);
      const want = { x: dx.c.slice(), w: dw.c.slice() };
      nat().gemm({ ...dx, c: want.x });
      nat().gemm({ ...dw, c: want.w });
      nat().gemmPair(dx, { ...dw, rowSums: db });
      assertSame(db, expectedSums(dw), "db");
      assertSame(dx.c, want.x, "dx");
      assertSame(dw.c, want.w, "dW");
    } finally {
      addon.setThreads(before);
    }
  });

  test("a batch of products or a short array is refused on both backends", () => {
    const { args } = makeGemm(new Rng(3), gemmCase(4, 5, 6, { batch: 2 }));
    for (const be of [ref, nat()]) {
      assert.throws(() => be.gemm({ ...args, rowSums: new Float32Array(4) }), /batch/);
      assert.throws(() => be.gemm({ ...args, batch: 1, rowSums: new Float32Array(3) }), /rowSums/);
    }
  });
});
