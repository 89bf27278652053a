// GEMM with bfloat16 operands (GemmArgs.bf16). The reference rounds every element of op(A) and
// op(B) to bfloat16 as it reads it: the same as float32 on operands rounded beforehand. The
// native backend, on a CPU with AVX512_BF16, rounds while it packs and multiplies with VDPBF16PS:
// equal to the reference up to float32 summation order (products of bfloat16 values are exact),
// on every transpose, odd k over several k blocks, partial tiles, offsets, padding, batches and
// thread counts; with the instruction turned off (or absent) it computes in float32.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { readCpu } from "../../src/node/cpu.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import type { Backend, GemmArgs } from "../../src/tensor/backend.js";
import { fromBf16, toBf16 } from "../../src/tensor/bf16.js";
import { Rng } from "../../src/util/rng.js";
import { checkGemmAgainst, type GemmCase, makeGemm } from "../helpers/gemm.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
if (skip) console.log(`# skipping native bfloat16 GEMM tests: ${skip}`);
const addon = ("addon" in loaded ? loaded.addon : null) as NativeAddon;

const ref = new ReferenceBackend();
/** The reference with the bf16 flag ignored: plain float32 products. */
const refF32 = { gemm: (g: GemmArgs) => ref.gemm({ ...g, bf16: false }) } as Backend;
const nat = (): Backend => new NativeBackend(addon);
const round = (a: Float32Array) => fromBf16(toBf16(a));

function base(m: number, n: number, k: number): GemmCase {
  const c = { batch: 1, m, n, k, transA: false, transB: false, alpha: 1, beta: 0 };
  return { ...c, pad: 0, shareA: false, shareB: false, off: 0, bf16: true };
}

test("reference: bf16 is float32 on operands rounded beforehand, and differs from float32", () => {
  let seed = 1;
  for (const [m, n, k] of [
    [5, 7, 9],
    [16, 3, 33],
  ]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const c = { ...base(m, n, k), batch: 2, transA, transB, beta: 0.5, pad: 1, off: 2 };
        const { args, c0 } = makeGemm(new Rng(seed++), c);
        const rounded = { ...args, bf16: false, a: round(args.a), b: round(args.b), c: c0.slice() };
        const flagged = { ...args, c: c0.slice() };
        const plain = { ...args, bf16: false, c: c0.slice() };
        ref.gemm(rounded);
        ref.gemm(flagged);
        ref.gemm(plain);
        assert.deepEqual(flagged.c, rounded.c, JSON.stringify(c));
        assert.notDeepEqual(flagged.c, plain.c, "rounding changes the product");
      }
    }
  }
});

describe("native bf16 gemm", { skip }, () => {
  const cases = (): GemmCase[] => {
    const out: GemmCase[] = [];
    for (const [m, n, k] of [
      [131, 67, 523], // k over two k blocks of 512, odd; m and n partial tiles
      [13, 1031, 37], // n over two n blocks of 1024
      [211, 97, 300], // m over two m blocks of 144
      [61, 40, 19], // k shorter than one 32-wide conversion
      [64, 64, 1030], // k = 2 * 512 + 6: a third k block of 3 pairs
    ]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const beta = out.length % 3 === 0 ? 0 : 0.75;
          out.push({ ...base(m, n, k), transA, transB, alpha: 1.5, beta, pad: 1, off: 3 });
        }
      }
    }
    // A batch sharing B (a weight for every batch entry), and one sharing A.
    out.push({ ...base(100, 90, 80), batch: 3, transB: true, shareB: true });
    out.push({ ...base(70, 90, 81), batch: 2, transA: true, shareA: true, beta: 1 });
    return out;
  };

  const products = () => {
    // Without AVX512_BF16 the flag is ignored: then the float32 reference is what it must equal.
    const fast = addon.setGemmBf16Dot(true);
    let seed = 10;
    for (const c of cases()) checkGemmAgainst(fast ? ref : refF32, nat(), c, seed++);
  };
  test("with VDPBF16PS: the reference's bf16 product up to float32 summation order", products);

  const splits = () => {
    const fast = addon.setGemmBf16Dot(true);
    const threads = addon.threads();
    let seed = 40;
    try {
      for (const t of [1, 3, 4]) {
        addon.setThreads(t);
        for (const [m, n, k, transB] of [
          [300, 1030, 40, false],
          [500, 20, 301, true],
        ] as const) {
          const c = { ...base(m, n, k), transA: seed % 2 === 0, transB, beta: 0.75, pad: 1 };
          checkGemmAgainst(fast ? ref : refF32, nat(), c, seed++);
        }
      }
    } finally {
      addon.setThreads(threads);
    }
  };
  test("row and column splits over 1, 3 and 4 threads", splits);

  const ties = () => {
    // Every packing route: A or B holds the values (row i of A, or column j of B, holds
    // values[i % 3] or values[j % 3]), the other operand 1, stored as is or transposed.
    const fast = addon.setGemmBf16Dot(true);
    const m = 48;
    const n = 40;
    const k = 64;
    const values = [1 + 2 ** -9, 1 + 2 ** -8, 1 + 3 * 2 ** -8];
    const rounded = [1, 1, 1 + 2 ** -6];
    for (const side of ["A", "B"] as const) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = new Float32Array(m * k);
          const b = new Float32Array(k * n);
          for (let i = 0; i < m; i++) {
            for (let p = 0; p < k; p++)
              a[transA ? p * m + i : i * k + p] = side === "A" ? values[i % 3] : 1;
          }
          for (let p = 0; p < k; p++) {
            for (let j = 0; j < n; j++)
              b[transB ? j * k + p : p * n + j] = side === "B" ? values[j % 3] : 1;
          }
          const c = new Float32Array(m * n);
          const g = { ...base(m, n, k), transA, transB };
          nat().gemm({
            ...makeGemm(new Rng(1), g).args,
            a,
            b,
            c,
            lda: transA ? m : k,
            ldb: transB ? k : n,
          });
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const v = side === "A" ? i % 3 : j % 3;
              const want = Math.fround(k * (fast ? rounded : values)[v]);
              assert.equal(c[i * n + j], want, `${side} trans ${transA}/${transB}: C[${i}, ${j}]`);
            }
          }
        }
      }
    }
  };
  test(
    "rounds to nearest, ties to even: 1 + 2^-9 and 1 + 2^-8 to 1, 1 + 3 * 2^-8 to 1 + 2^-6",
    ties,
  );

  test("on AMX tiles (opt-in): the same products, splits and rounding; offered only where the CPU has AMX-BF16", () => {
    // The emulated build (tests/node/avx512-emulated.test.ts) runs the AMX kernel on any AVX2
    // CPU; a normal build offers it only on a CPU with AMX-BF16 (and Linux's permission).
    const emulated = addon.gemmKernels().emulatedAvx512;
    const flags = readCpu().flags;
    const amx = addon.setGemmAmx(true);
    try {
      if (emulated) assert.equal(amx, true, "the emulated build runs the AMX kernel");
      if (!emulated && flags.amx_bf16 !== true) assert.equal(amx, false, "no AMX-BF16 on this CPU");
      if (!amx) return;
      assert.equal(addon.gemmKernels().bfloat16?.isa, "amx-bf16");
      assert.equal(addon.gemmKernels().bfloat16?.mr, 32);
      products();
      splits();
      ties();
    } finally {
      addon.setGemmAmx(false);
    }
    assert.equal(
      addon.gemmKernels().bfloat16?.isa ?? "none",
      addon.setGemmBf16Dot(true) ? "avx512-bf16" : "none",
    );
  });

  test("with VDPBF16PS turned off the product is float32", () => {
    addon.setGemmBf16Dot(false);
    try {
      let seed = 70;
      for (const c of cases().slice(0, 8)) checkGemmAgainst(refF32, nat(), c, seed++);
    } finally {
      addon.setGemmBf16Dot(true);
    }
  });
});
