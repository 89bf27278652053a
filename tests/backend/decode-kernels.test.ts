// The kernels of incremental decoding, native against the reference: the skinny GEMM path (a few
// rows of A against a weight [n, k], every row count up to and past the path's limit, k and n
// with SIMD tails, beta = 0 over NaN garbage, the threaded split of a large weight).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import type { Backend, GemmArgs } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
const ref: Backend = new ReferenceBackend();
const nat = (): Backend => {
  if ("error" in loaded) throw new Error(loaded.error);
  return new NativeBackend(loaded.addon);
};

function rand(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

describe("skinny GEMM (a few rows against a transposed weight)", { skip }, () => {
  const check = (m: number, n: number, k: number, beta: number, seed: number) => {
    const rng = new Rng(seed);
    const lda = k + (seed % 3);
    const ldb = k + (seed % 2);
    const ldc = n + 1;
    const a = rand(rng, m * lda);
    const b = rand(rng, n * ldb);
    const c0 = rand(rng, m * ldc);
    if (beta === 0) c0.fill(Number.NaN); // beta = 0: C is never read
    const args = (c: Float32Array): GemmArgs => ({
      batch: 1,
      m,
      n,
      k,
      transA: false,
      transB: true,
      alpha: 0.75,
      beta,
      a,
      aOffset: 0,
      lda,
      strideA: 0,
      b,
      bOffset: 0,
      ldb,
      strideB: 0,
      c,
      cOffset: 0,
      ldc,
      strideC: 0,
    });
    const want = c0.slice();
    const got = c0.slice();
    ref.gemm(args(want));
    nat().gemm(args(got));
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        const w = want[i * ldc + j];
        const g = got[i * ldc + j];
        assert.ok(
          Math.abs(g - w) <= 1e-5 * (1 + Math.sqrt(k)),
          `m ${m} n ${n} k ${k} beta ${beta}: [${i}, ${j}] ${g} vs ${w}`,
        );
      }
      // Padding columns of C are left alone.
      const pad = c0[i * ldc + n];
      assert.ok(Object.is(got[i * ldc + n], pad), `m ${m}: padding of row ${i} written`);
    }
  };

  test("every row count 1..9, k and n with tails, beta 0 and 1", () => {
    let seed = 1;
    for (let m = 1; m <= 9; m++)
      for (const [n, k] of [
        [1, 1],
        [5, 17],
        [16, 16],
        [37, 64],
        [70, 255],
      ])
        for (const beta of [0, 1]) check(m, n, k, beta, seed++);
  });

  test("a large weight split between threads", () => {
    check(1, 4133, 260, 0, 50);
    check(5, 4133, 260, 1, 51);
  });
});
