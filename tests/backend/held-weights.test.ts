// Weights held packed (Backend.holdPacked): the native GEMM multiplies by the panels packed once
// instead of packing B on every call, with the same result bit for bit, on every ISA; it uses them
// only for the weight they were packed from, on the kernel they were packed for, and not after
// they are released. That the held panels are what a product reads shows by changing W after
// holding it: the held product is still the old W's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import type { Backend } from "../../src/tensor/backend.js";
import { plainProduct } from "../../src/tensor/ops/plain-product.js";
import { Rng } from "../../src/util/rng.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
const addon = ("addon" in loaded ? loaded.addon : null) as NativeAddon;

const ISAS = ["portable", "avx2", "avx512"];
const isas = (): string[] => (addon ? ISAS.slice(0, ISAS.indexOf(addon.cpuIsa()) + 1) : []);

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** C [m, n] = A [m, k] W^T + C0 with W [n, k], on `be`. */
function product(
  be: Backend,
  a: Float32Array,
  w: Float32Array,
  c0: Float32Array,
  m: number,
  n: number,
  k: number,
): Float32Array {
  const c = Float32Array.from(c0);
  be.gemm(plainProduct(a, false, w, true, c, m, n, k, { beta: 1 }));
  return c;
}

// Several k blocks (kc = 256) and column blocks (nc = 1024 on AVX-512), n not a multiple of the
// panel width, rows split between threads or columns split (9 rows against 900 columns), and a
// product too small to pack at all.
const SHAPES: [number, number, number][] = [
  [40, 1100, 600],
  [9, 900, 300],
  [300, 50, 257],
  [64, 33, 17],
  [4, 5, 6],
];

test("held weights give the same products bit for bit, from the panels packed once", {
  skip,
}, () => {
  const nat = new NativeBackend(addon);
  const best = addon.gemmIsa();
  try {
    for (const isa of isas()) {
      addon.setGemmIsa(isa);
      const rng = new Rng(7);
      for (const [m, n, k] of SHAPES) {
        const at = `${isa} ${m}x${n}x${k}`;
        const a = random(rng, m * k);
        const w = random(rng, n * k);
        const c0 = random(rng, m * n);
        const plain = product(nat, a, w, c0, m, n, k);
        const release = nat.holdPacked([{ w, n, k }]);
        assert.deepEqual(product(nat, a, w, c0, m, n, k), plain, `${at}: held`);
        // W changes after packing: a product on the packed path still reads the old W's panels
        // (never done by a caller; it shows which path ran). The small and skinny paths read W.
        const old = Float32Array.from(w);
        w.fill(0.5);
        const changed = product(nat, a, w, c0, m, n, k);
        const packedPath = m * n * k >= 32 * 32 * 32 && !(m <= 8 && isa === "avx512");
        if (packedPath) assert.deepEqual(changed, plain, `${at}: the held panels are read`);
        else assert.deepEqual(changed, product(nat, a, Float32Array.from(w), c0, m, n, k), at);
        // Released: W as it is now.
        release();
        assert.notDeepEqual(product(nat, a, w, c0, m, n, k), plain, `${at}: released`);
        w.set(old);
      }
    }
  } finally {
    addon.setGemmIsa(best);
  }
});

test("held weights serve only their own array, their kernel, and the transposed product", {
  skip,
}, () => {
  const nat = new NativeBackend(addon);
  const best = addon.gemmIsa();
  const [m, n, k] = [40, 300, 100];
  const rng = new Rng(8);
  const a = random(rng, m * k);
  const w = random(rng, n * k);
  const c0 = new Float32Array(m * n);
  const release = nat.holdPacked([{ w, n, k }]);
  try {
    w.fill(0.25); // the held panels are the old W's: reading them here would be wrong
    const now = () => product(new ReferenceBackend(), a, w, c0, m, n, k);
    const close = (got: Float32Array, what: string) => {
      const want = now();
      for (let i = 0; i < want.length; i++)
        assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `${what} [${i}]`);
    };
    // A copy of W (another array, same values) is packed per call.
    close(product(nat, a, Float32Array.from(w), c0, m, n, k), "another array");
    // Packed for one kernel, never read by another.
    for (const isa of isas().filter((i) => i !== best)) {
      addon.setGemmIsa(isa);
      close(product(nat, a, w, c0, m, n, k), `on ${isa}`);
    }
    addon.setGemmIsa(best);
    // W read untransposed (as a [n, k] B of C [m, k] = A [m, n] W) is not what was packed.
    const a2 = random(rng, m * n);
    const plain = (be: Backend) => {
      const c = new Float32Array(m * k);
      be.gemm({
        batch: 1,
        m,
        n: k,
        k: n,
        transA: false,
        transB: false,
        alpha: 1,
        beta: 0,
        a: a2,
        aOffset: 0,
        lda: n,
        strideA: 0,
        b: w,
        bOffset: 0,
        ldb: k,
        strideB: 0,
        c,
        cOffset: 0,
        ldc: k,
        strideC: 0,
      });
      return c;
    };
    const want = plain(new ReferenceBackend());
    const got = plain(nat);
    for (let i = 0; i < want.length; i++)
      assert.ok(
        Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])),
        `untransposed [${i}]`,
      );
  } finally {
    release();
    addon.setGemmIsa(best);
  }
});

test("a hold inside another keeps the outer one's weights held when it is released", {
  skip,
}, () => {
  const nat = new NativeBackend(addon);
  const [m, n, k] = [40, 64, 64];
  const rng = new Rng(10);
  const a = random(rng, m * k);
  const w = random(rng, n * k);
  const c0 = new Float32Array(m * n);
  const plain = product(nat, a, w, c0, m, n, k);
  const outer = nat.holdPacked([{ w, n, k }]);
  const inner = nat.holdPacked([{ w, n, k }]);
  const old = Float32Array.from(w);
  w.fill(0.5); // shows which path ran, as above
  inner();
  assert.deepEqual(product(nat, a, w, c0, m, n, k), plain, "still held");
  outer();
  assert.notDeepEqual(product(nat, a, w, c0, m, n, k), plain, "released");
  w.set(old);
});

test("the reference backend holds nothing and multiplies by W as it is", () => {
  const ref = new ReferenceBackend();
  const rng = new Rng(9);
  const [m, n, k] = [12, 20, 30];
  const a = random(rng, m * k);
  const w = random(rng, n * k);
  const c0 = new Float32Array(m * n);
  const release = ref.holdPacked([{ w, n, k }]);
  const before = product(ref, a, w, c0, m, n, k);
  w.fill(1);
  assert.notDeepEqual(product(ref, a, w, c0, m, n, k), before);
  release();
});
