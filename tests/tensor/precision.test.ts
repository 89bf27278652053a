// Matrix-product precision (src/tensor/precision.ts): with "bfloat16", linear and matmul round
// their operands to bfloat16 in the forward product and in both gradient products. The operands
// here are small integers plus 2^-9, which bfloat16 rounds to the integers, so every product
// and sum is exact in float32 in any order: the results must equal the float32 results on the
// integers exactly (on the native backend where the CPU multiplies bfloat16, AVX512_BF16; the
// sizes take its packed path). In float32 the 2^-9 parts count.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import * as T from "../../src/tensor/index.js";
import { linear } from "../../src/tensor/ops/linear.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

const R = 48; // rows (x [2, 24, K] folds to 48)
const K = 64;
const N = 40;
const OFF = 2 ** -9;

/** Integers 1..3, plus OFF when `offset`. */
function ints(rng: Rng, n: number, offset: boolean): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 1 + rng.int(3) + (offset ? OFF : 0);
  return a;
}

/** y = f(x, W) and the gradients of sum(y) for leaves holding the given data. */
function run(
  f: (x: T.Tensor, w: T.Tensor) => T.Tensor,
  x: Float32Array,
  w: Float32Array,
  wShape: number[],
) {
  const xl = new T.Tensor(x.slice(), [2, R / 2, K], true);
  const wl = new T.Tensor(w.slice(), wShape, true);
  const y = f(xl, wl);
  T.backward(T.sum(y));
  return { y: y.f32, dx: xl.grad?.f32, dw: wl.grad?.f32 };
}

const bf16Fast = (name: string) => {
  if (name !== "native") return true;
  const loaded = loadNativeAddon();
  return "addon" in loaded && loaded.addon.setGemmBf16Dot(true);
};

test("precision: float32 by default, restored after withMatmulPrecision, checked", () => {
  assert.equal(T.matmulPrecision(), "float32");
  const inside = T.withMatmulPrecision("bfloat16", () => T.matmulPrecision());
  assert.equal(inside, "bfloat16");
  assert.equal(T.matmulPrecision(), "float32");
  assert.throws(
    () =>
      T.withMatmulPrecision("bfloat16", () => {
        throw new Error("inside");
      }),
    /inside/,
  );
  assert.equal(T.matmulPrecision(), "float32");
  assert.throws(() => T.setMatmulPrecision("half" as T.MatmulPrecision), /float32.*bfloat16/);
});

forEachBackend("bfloat16 products in linear and matmul, forward and backward", (backend) => {
  const ops: [string, (x: T.Tensor, w: T.Tensor) => T.Tensor, number[]][] = [
    ["linear x W^T", (x, w) => linear(x, w, null), [N, K]],
    ["matmul x W", (x, w) => T.matmul(x, w), [K, N]],
  ];
  for (const [name, f, wShape] of ops) {
    test(`${name}: operands rounded to bfloat16 in y, dx and dW`, () => {
      const rng = new Rng(5);
      const xi = ints(rng, R * K, false);
      const wi = ints(rng, K * N, false);
      const xo = xi.map((v) => v + OFF);
      const wo = wi.map((v) => v + OFF);
      const onInts = run(f, xi, wi, wShape);
      const plain = run(f, xo, wo, wShape);
      const mixed = T.withMatmulPrecision("bfloat16", () => run(f, xo, wo, wShape));
      const want = bf16Fast(backend.name) ? onInts : plain;
      assert.deepEqual(mixed.y, want.y, "y");
      assert.deepEqual(mixed.dx, want.dx, "dx");
      assert.deepEqual(mixed.dw, want.dw, "dW");
      assert.notDeepEqual(plain.y, onInts.y, "float32 keeps the 2^-9 parts");
    });
  }
});
