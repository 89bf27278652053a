// The GEMM epilogue (GemmArgs.bias and relu): on every path of the native product (the direct
// path for small products, the skinny path for a few rows, which applies it as it stores C, the
// packed path with several k, m and n blocks and a task per thread, bfloat16 operands, k = 0,
// batches), the fused result equals the plain product followed by a separate add and ReLU over
// C, bit for bit; the reference backend defines the epilogue the same way and agrees with the
// native one within the product's float32 error bound.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import type { Backend, GemmArgs } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";
import { type GemmCase, gemmCase, makeGemm, rand } from "../helpers/gemm.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
const addon = ("addon" in loaded ? loaded.addon : null) as NativeAddon;
const ref: Backend = new ReferenceBackend();
const nat = (): Backend => new NativeBackend(addon);

/** The product, then C_b += bias per row and ReLU as separate passes of the same backend. */
function unfused(be: Backend, args: GemmArgs, bias: Float32Array | null, relu: boolean): void {
  be.gemm({ ...args, bias: null, relu: false });
  for (let bi = 0; bi < args.batch; bi++) {
    const c = args.c.subarray(args.cOffset + bi * args.strideC);
    // Row by row: rows of C may be padded (ldc > n), and out is written densely.
    for (let i = 0; i < args.m; i++) {
      const row = c.subarray(i * args.ldc, i * args.ldc + args.n);
      if (bias) {
        be.binary({
          op: "add",
          a: row,
          aStrides: [1],
          b: bias,
          bStrides: [1],
          out: row,
          shape: [args.n],
        });
      }
      if (relu) be.unary({ op: "relu", x: row, out: row, n: args.n });
    }
  }
}

const base = (m: number, n: number, k: number, over: Partial<GemmCase> = {}): GemmCase =>
  gemmCase(m, n, k, { transB: true, ...over });

/** Fused equals unfused on `be`, bit for bit, for bias / ReLU / both. */
function checkFused(be: Backend, c: GemmCase, seed: number): void {
  for (const [withBias, relu] of [
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    const rng = new Rng(seed);
    const { args } = makeGemm(rng, c);
    const bias = withBias ? rand(rng, c.n, -0.5, 0.5) : null;
    const want = { ...args, c: args.c.slice() };
    unfused(be, want, bias, relu);
    be.gemm({ ...args, bias, relu });
    const what = `${JSON.stringify(c)} bias ${withBias} relu ${relu}`;
    let positive = 0;
    for (let i = 0; i < args.c.length; i++) {
      const g = args.c[i];
      const w = want.c[i];
      assert.ok(
        Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)),
        `${what}: [${i}] ${g} vs ${w}`,
      );
      if (g > 0) positive++;
    }
    // The ReLU must have had both signs to act on.
    if (relu) assert.ok(positive > 0 && positive < args.c.length, `${what}: mixed signs`);
  }
}

const isas = (): string[] => {
  if (!addon) return [];
  const best = addon.cpuIsa();
  return ["portable", "avx2", "avx512"].slice(0, ["portable", "avx2", "avx512"].indexOf(best) + 1);
};

describe("GEMM epilogue: bias and ReLU", { skip }, () => {
  test("reference: fused = product, add, ReLU", () => {
    let seed = 1;
    for (const c of [
      base(5, 7, 9),
      base(4, 6, 0, { beta: 1 }),
      base(3, 5, 4, { batch: 2, pad: 2, off: 3, transA: true, transB: false, beta: 0.5 }),
      base(6, 9, 5, { bf16: true }),
    ])
      checkFused(ref, c, seed++);
  });

  for (const isa of isas()) {
    test(`${isa}: fused = product, add, ReLU on every path`, () => {
      addon.setGemmIsa(isa);
      try {
        let seed = 100;
        for (const c of [
          base(5, 7, 9), // direct (small) path
          base(3, 40, 64), // skinny path (AVX-512): rows one at a time
          base(6, 37, 64, { beta: 1 }), // skinny: 4 x 4 blocks, then a row, then tail columns
          base(4, 6, 0, { beta: 1 }), // k = 0
          base(300, 1100, 300), // packed: k, m and n blocks, split over threads
          base(20, 2100, 40), // packed, split by columns, past one nc block: bias at an offset
          base(300, 70, 520, { transA: true, transB: false, beta: 1, pad: 1, off: 2 }),
          base(37, 300, 90, { batch: 3, shareB: false, pad: 3, beta: 0.5 }),
          base(200, 96, 256, { bf16: true }), // bfloat16 operands where the CPU has them
        ])
          checkFused(nat(), c, seed++);
      } finally {
        addon.setGemmIsa(addon.cpuIsa());
      }
    });
  }

  test("native against the reference, with the epilogue", () => {
    let seed = 200;
    for (const c of [base(20, 45, 33), base(70, 33, 300, { transA: true, transB: false })]) {
      const rng = new Rng(seed++);
      const { args } = makeGemm(rng, c);
      const bias = rand(rng, c.n, -0.5, 0.5);
      const want = { ...args, c: args.c.slice(), bias, relu: true };
      ref.gemm(want);
      nat().gemm({ ...args, bias, relu: true });
      const abs = { ...args, a: args.a.map(Math.abs), b: args.b.map(Math.abs), c: args.c.slice() };
      ref.gemm(abs);
      for (let i = 0; i < args.c.length; i++) {
        // Padding of C (NaN garbage under beta = 0) is left as it was on both sides.
        if (Number.isNaN(want.c[i]) && Number.isNaN(args.c[i])) continue;
        // The product's float32 error bound, plus one rounding of the bias add.
        const bound = 4 * (c.k + 2) * 2 ** -23 * (abs.c[i] + 1) + 1e-30;
        assert.ok(Math.abs(args.c[i] - want.c[i]) <= bound, `[${i}] ${args.c[i]} vs ${want.c[i]}`);
      }
    }
  });
});
