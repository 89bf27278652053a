// The native backend against the reference (the specification) on every kernel, on random data
// and shapes: sizes 1, odd and prime sizes, empty sizes, every GEMM transpose with offsets,
// padded leading dimensions and batch strides (0 included), beta = 0 over NaN garbage, and the
// accumulate flags. Then the addon's argument validation: wrong calls throw, never crash.
//
// Without the addon the suite skips with the reason, except under MASKWISE_REQUIRE_NATIVE=1 or
// CI=true, where a missing addon is a failure.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import type { Backend, BinaryOp, GemmArgs, UnaryOp } from "../../src/tensor/backend.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { Rng } from "../../src/util/rng.js";
import { checkGemmAgainst, type GemmCase, gemmCase, makeGemm, rand } from "../helpers/gemm.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
if (skip) console.log(`# skipping native backend tests: ${skip}`);

test("the native addon loads", { skip }, () => {
  if ("error" in loaded) assert.fail(`native addon not loaded: ${loaded.error}`);
});

const addon = ("addon" in loaded ? loaded.addon : null) as NativeAddon;
const ref: Backend = new ReferenceBackend();
const nat = (): Backend => new NativeBackend(addon);

/** |got - want| <= tol * (scale + |want|) elementwise, NaN matching NaN. */
function closeTo(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      assert.ok(Number.isNaN(w) && Number.isNaN(g), `${what}[${i}]: ${g} vs ${w}`);
      continue;
    }
    if (g === w) continue;
    assert.ok(Math.abs(g - w) <= tol * (1 + Math.abs(w)), `${what}[${i}]: ${g} vs ${w}`);
  }
}

// ---- GEMM ----

// Error bound of a float32 dot product of length k (tests/helpers/gemm.ts).
const checkGemm = (c: GemmCase, seed: number) => checkGemmAgainst(ref, nat(), c, seed);

const isas = (): string[] => {
  if (!addon) return [];
  const best = addon.cpuIsa();
  return ["portable", "avx2", "avx512"].slice(0, ["portable", "avx2", "avx512"].indexOf(best) + 1);
};

describe("native gemm = reference gemm", { skip }, () => {
  const dims = [1, 2, 3, 7, 12, 13, 17, 31, 33, 47, 64, 97];
  for (const isa of isas()) {
    test(`${isa}: random shapes, every transpose, offsets, padding, batch strides`, () => {
      addon.setGemmIsa(isa);
      try {
        const rng = new Rng(11);
        let seed = 1;
        for (let trial = 0; trial < 160; trial++) {
          const pick = () => dims[rng.int(dims.length)];
          const c: GemmCase = {
            batch: 1 + rng.int(3),
            m: pick(),
            n: pick(),
            k: pick(),
            transA: trial % 2 === 1,
            transB: (trial >> 1) % 2 === 1,
            alpha: [1, -0.5, 2][rng.int(3)],
            beta: [0, 1, 0.5][rng.int(3)],
            pad: rng.int(3),
            shareA: rng.int(4) === 0,
            shareB: rng.int(4) === 0,
            off: rng.int(5),
          };
          checkGemm(c, seed++);
        }
      } finally {
        addon.setGemmIsa(addon.cpuIsa());
      }
    });

    test(`${isa}: packed path with several k, m and n blocks, all transposes`, () => {
      addon.setGemmIsa(isa);
      try {
        let seed = 100;
        for (const [m, n, k] of [
          [131, 67, 523],
          [13, 1031, 37],
          [211, 97, 300],
          [61, 40, 19],
        ]) {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              for (const beta of [0, 0.75]) {
                checkGemm(
                  {
                    batch: 1,
                    m,
                    n,
                    k,
                    transA,
                    transB,
                    alpha: 1.5,
                    beta,
                    pad: 1,
                    shareA: false,
                    shareB: false,
                    off: 3,
                  },
                  seed++,
                );
              }
            }
          }
        }
        // A B whose rows are a multiple of 128 floats apart is packed even when the rows of a
        // task fit one block (read in place it would alias in L1): square 128, and k > kc.
        for (const [m, n, k] of [
          [128, 128, 128],
          [40, 256, 300],
        ]) {
          for (const beta of [0, 0.75]) {
            checkGemm(
              {
                batch: 1,
                m,
                n,
                k,
                transA: false,
                transB: false,
                alpha: 1.5,
                beta,
                pad: 0,
                shareA: false,
                shareB: false,
                off: 0,
              },
              seed++,
            );
          }
        }
        // Batched big matrices with a shared B (a weight used by every batch entry).
        checkGemm(gemmCase(100, 90, 80, { batch: 3, transB: true }), seed++);
      } finally {
        addon.setGemmIsa(addon.cpuIsa());
      }
    });
  }

  test("empty sizes: m, n or batch 0 touch nothing; k = 0 gives beta * C", () => {
    for (const [batch, m, n, k] of [
      [0, 5, 5, 5],
      [2, 0, 5, 5],
      [2, 5, 0, 5],
      [2, 5, 4, 0],
    ]) {
      for (const beta of [0, 2]) {
        checkGemm(
          {
            batch,
            m,
            n,
            k,
            transA: false,
            transB: false,
            alpha: 1,
            beta,
            pad: 0,
            shareA: false,
            shareB: false,
            off: 0,
          },
          batch * 7 + m + n + k,
        );
      }
    }
  });

  test("C shared by the batch (strideC = 0): the products run in order, as in the reference", () => {
    const rng = new Rng(5);
    // 40^3 takes the small path; 400 x 300 x 100 on two threads splits the rows, each thread
    // packing each entry's own B; beta = 0.5 makes the result depend on the order.
    for (const [m, n, k, beta, threads] of [
      [40, 40, 40, 0, 0],
      [400, 100, 300, 0.5, 2],
    ] as const) {
      const a = rand(rng, 3 * m * k);
      const b = rand(rng, 3 * k * n);
      const mk = (c: Float32Array): GemmArgs => ({
        batch: 3,
        m,
        n,
        k,
        transA: false,
        transB: false,
        alpha: 1,
        beta,
        a,
        aOffset: 0,
        lda: k,
        strideA: m * k,
        b,
        bOffset: 0,
        ldb: n,
        strideB: k * n,
        c,
        cOffset: 0,
        ldc: n,
        strideC: 0,
      });
      const want = Float32Array.from({ length: m * n }, (_, i) => (i % 7) - 3);
      const got = want.slice();
      ref.gemm(mk(want));
      const before = addon.threads();
      try {
        if (threads > 0) addon.setThreads(threads);
        nat().gemm(mk(got));
      } finally {
        addon.setThreads(before);
      }
      closeTo(got, want, 1e-3, `strideC 0, ${m}x${n}x${k}`);
    }
  });

  test("row and column splits over 2, 3 and 4 threads, several n and k blocks", () => {
    // Rows per thread above one mc block (B packed per thread) and, for n = 20 (fewer nr-wide
    // column units than some thread counts), a row split of a thin product; n > nc and k > kc
    // give several blocks. 32 rows against a transposed B of over 2^20 floats (a batch of
    // decoding steps against the output projection): split by columns, n > nc and a last unit
    // narrower than nr; 100 rows against a smaller one: by rows.
    const threads = addon.threads();
    let seed = 400;
    try {
      for (const t of [2, 3, 4]) {
        addon.setThreads(t);
        for (const [m, n, k, transB] of [
          [300, 1030, 40, false],
          [320, 70, 270, true],
          [500, 20, 300, true],
          [32, 4100, 256, true],
          [100, 700, 60, true],
        ] as const) {
          checkGemm(
            {
              batch: 1,
              m,
              n,
              k,
              transA: seed % 2 === 0,
              transB,
              alpha: 1.5,
              beta: seed % 3 === 0 ? 0 : 0.75,
              pad: 1,
              shareA: false,
              shareB: false,
              off: 2,
            },
            seed++,
          );
        }
      }
    } finally {
      addon.setThreads(threads);
    }
  });

  test("threads sharing one packing of a transposed B: one thread's bits, the reference's values", () => {
    // A row split over 2 and 3 threads with op(B) of 2^17 floats and more: the threads pack B
    // together, then every part reads all panels. Two k blocks (the second short), a last panel
    // narrower than nr, n past one nc block (panels of column block jc found at jc * kc), a
    // leading dimension past k and an offset, accumulation and the epilogue.
    const threads = addon.threads();
    let seed = 480;
    try {
      for (const [m, n, k] of [
        [300, 600, 300],
        [200, 2100, 80],
      ] as const) {
        for (const beta of [0, 0.5]) {
          const c = gemmCase(m, n, k, { transB: true, beta, alpha: 1.25, pad: 3, off: 1 });
          const rng = new Rng(seed);
          const { args } = makeGemm(rng, c);
          args.bias = rand(rng, n);
          args.relu = beta === 0;
          addon.setThreads(1);
          const one = { ...args, c: args.c.slice() };
          nat().gemm(one);
          for (const t of [2, 3]) {
            addon.setThreads(t);
            const many = { ...args, c: args.c.slice() };
            nat().gemm(many);
            assert.deepEqual(many.c, one.c, `${m}x${n}x${k} beta ${beta} on ${t} threads`);
          }
          addon.setThreads(threads);
          checkGemm(c, seed++);
        }
      }
    } finally {
      addon.setThreads(threads);
    }
  });

  test("one thread gives the same result as all threads", () => {
    const threads = addon.threads();
    const rng = new Rng(9);
    const m = 150;
    const k = 140;
    const n = 130;
    const a = rand(rng, m * k);
    const b = rand(rng, k * n);
    const run = () => {
      const c = new Float32Array(m * n);
      nat().gemm({
        batch: 1,
        m,
        n,
        k,
        transA: false,
        transB: false,
        alpha: 1,
        beta: 0,
        a,
        aOffset: 0,
        lda: k,
        strideA: 0,
        b,
        bOffset: 0,
        ldb: n,
        strideB: 0,
        c,
        cOffset: 0,
        ldc: n,
        strideC: 0,
      });
      return c;
    };
    const all = run();
    addon.setThreads(1);
    try {
      assert.equal(addon.threads(), 1);
      closeTo(run(), all, 1e-6, "threads");
    } finally {
      addon.setThreads(threads);
    }
  });
});

// ---- element-wise ----

const UNARY: UnaryOp[] = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "erf",
  "relu",
  "gelu",
  "gelu_new",
  "silu",
  "sigmoid",
  "abs",
];
const POSITIVE = new Set<UnaryOp>(["log", "sqrt", "rsqrt"]);
const SIZES = [0, 1, 2, 7, 31, 257, 70001];

describe("native element-wise = reference", { skip }, () => {
  test("unary, every op, forward and backward with and without accumulate", () => {
    const rng = new Rng(21);
    for (const op of UNARY) {
      for (const n of SIZES) {
        const x = POSITIVE.has(op) ? rand(rng, n, 0.05, 4) : rand(rng, n, -4, 4);
        if (n > 3 && !POSITIVE.has(op)) x[1] = 0;
        const yr = new Float32Array(n);
        const yn = new Float32Array(n);
        ref.unary({ op, x, out: yr, n });
        nat().unary({ op, x, out: yn, n });
        closeTo(yn, yr, 4e-6, `${op} n=${n}`);
        const dy = rand(rng, n);
        for (const acc of [false, true]) {
          const d0 = rand(rng, n);
          const dr = d0.slice();
          const dn = d0.slice();
          ref.unaryBackward({ op, x, y: yr, dy, dx: dr, n, accumulate: acc });
          nat().unaryBackward({ op, x, y: yr, dy, dx: dn, n, accumulate: acc });
          closeTo(dn, dr, 1e-5, `${op}' n=${n} acc=${acc}`);
        }
      }
    }
  });

  test("unary in place and with special values", () => {
    const x = Float32Array.from([Number.NaN, Infinity, -Infinity, 0, -0, 100, -100]);
    for (const op of UNARY) {
      const yr = new Float32Array(x.length);
      ref.unary({ op, x, out: yr, n: x.length });
      const inPlace = x.slice();
      nat().unary({ op, x: inPlace, out: inPlace, n: x.length });
      closeTo(inPlace, yr, 1e-6, `${op} special`);
    }
  });

  const ops: BinaryOp[] = ["add", "sub", "mul", "div", "max", "min"];
  const contiguous = (shape: number[]) => {
    const s = new Array<number>(shape.length);
    let acc = 1;
    for (let d = shape.length - 1; d >= 0; d--) {
      s[d] = acc;
      acc *= shape[d];
    }
    return { strides: s, size: acc };
  };
  // Broadcast strides of an operand whose axes in `bcast` have size 1.
  const operand = (rng: Rng, shape: number[], bcast: boolean[]) => {
    const own = shape.map((s, d) => (bcast[d] ? 1 : s));
    const { strides, size } = contiguous(own);
    return {
      data: rand(rng, Math.max(size, 1), -3, 3),
      strides: strides.map((s, d) => (bcast[d] ? 0 : s)),
    };
  };

  test("binary with broadcasting: same shape, rows, columns, scalars, empty and rank 0", () => {
    const rng = new Rng(31);
    const shapes = [
      [],
      [1],
      [5],
      [70001],
      [3, 4],
      [1, 7],
      [6, 1],
      [2, 3, 5],
      [4, 1, 33],
      [2, 0, 3],
      [3, 2, 2, 5],
    ];
    for (const shape of shapes) {
      for (let trial = 0; trial < 6; trial++) {
        const ba = shape.map(() => trial > 0 && rng.int(3) === 0);
        const bb = shape.map(() => trial > 1 && rng.int(2) === 0);
        const A = operand(rng, shape, ba);
        const B = operand(rng, shape, bb);
        if (trial === 5 && A.data.length > 2) A.data[1] = Number.NaN;
        const size = contiguous(shape).size;
        for (const op of ops) {
          const want = new Float32Array(size);
          const got = new Float32Array(size);
          ref.binary({
            op,
            a: A.data,
            aStrides: A.strides,
            b: B.data,
            bStrides: B.strides,
            out: want,
            shape,
          });
          nat().binary({
            op,
            a: A.data,
            aStrides: A.strides,
            b: B.data,
            bStrides: B.strides,
            out: got,
            shape,
          });
          closeTo(got, want, 1e-6, `${op} ${JSON.stringify(shape)} ${ba} ${bb}`);
        }
      }
    }
  });

  test("binary with transposed (non-contiguous) strides", () => {
    const rng = new Rng(32);
    const a = rand(rng, 5 * 7);
    const b = rand(rng, 7 * 5);
    const want = new Float32Array(35);
    const got = new Float32Array(35);
    ref.binary({ op: "sub", a, aStrides: [7, 1], b, bStrides: [1, 5], out: want, shape: [5, 7] });
    nat().binary({ op: "sub", a, aStrides: [7, 1], b, bStrides: [1, 5], out: got, shape: [5, 7] });
    closeTo(got, want, 1e-6, "transposed");
  });

  test("reduce sum and max over [outer, dim, inner], dim 0 included, NaN propagates in max", () => {
    const rng = new Rng(41);
    for (const [outer, dim, inner] of [
      [1, 1, 1],
      [3, 0, 4],
      [1, 70001, 1],
      [7, 13, 1],
      [5, 9, 17],
      [1, 1, 33],
      [2, 300, 3],
    ]) {
      const x = rand(rng, outer * dim * inner, -5, 5);
      for (const op of ["sum", "max"] as const) {
        const want = new Float32Array(outer * inner);
        const got = new Float32Array(outer * inner);
        ref.reduce({ op, x, out: want, outer, dim, inner });
        nat().reduce({ op, x, out: got, outer, dim, inner });
        closeTo(got, want, op === "sum" ? 1e-5 : 0, `${op} ${outer}x${dim}x${inner}`);
      }
      // Backward of max with ties (rounded values) goes to the first maximum.
      const xt = x.map((v) => Math.round(v));
      const y = new Float32Array(outer * inner);
      ref.reduce({ op: "max", x: xt, out: y, outer, dim, inner });
      const dy = rand(rng, outer * inner);
      const d0 = rand(rng, outer * dim * inner);
      const dr = d0.slice();
      const dn = d0.slice();
      ref.reduceMaxBackward({ x: xt, y, dy, dx: dr, outer, dim, inner });
      nat().reduceMaxBackward({ x: xt, y, dy, dx: dn, outer, dim, inner });
      closeTo(dn, dr, 1e-7, `max' ${outer}x${dim}x${inner}`);
    }
    const x = Float32Array.from([1, Number.NaN, 3, 2]);
    const got = new Float32Array(1);
    nat().reduce({ op: "max", x, out: got, outer: 1, dim: 4, inner: 1 });
    assert.ok(Number.isNaN(got[0]));
  });

  test("permute of float32 and int32 arrays, ranks 0 to 4", () => {
    const rng = new Rng(51);
    const cases: [number[], number[]][] = [
      [[], []],
      [[5], [0]],
      [
        [3, 4],
        [1, 0],
      ],
      [
        [2, 3, 4],
        [2, 0, 1],
      ],
      [
        [2, 3, 4],
        [0, 2, 1],
      ],
      [
        [3, 1, 5, 2],
        [3, 1, 0, 2],
      ],
      [
        [2, 0, 3],
        [2, 1, 0],
      ],
      [
        [64, 129],
        [1, 0],
      ],
    ];
    for (const [shape, perm] of cases) {
      const size = shape.reduce((p, s) => p * s, 1);
      const x = rand(rng, size);
      const want = new Float32Array(size);
      const got = new Float32Array(size);
      ref.permute({ x, out: want, shape, perm });
      nat().permute({ x, out: got, shape, perm });
      assert.deepEqual(got, want, `f32 ${shape} ${perm}`);
      const xi = Int32Array.from(x, (v) => Math.round(v * 1000));
      const wi = new Int32Array(size);
      const gi = new Int32Array(size);
      ref.permute({ x: xi, out: wi, shape, perm });
      nat().permute({ x: xi, out: gi, shape, perm });
      assert.deepEqual(gi, wi, `i32 ${shape} ${perm}`);
    }
  });

  test("adamw", () => {
    const rng = new Rng(61);
    for (const n of SIZES) {
      for (const step of [1, 2, 10]) {
        const p = rand(rng, n);
        const g = rand(rng, n);
        const m = rand(rng, n, -0.1, 0.1);
        const v = rand(rng, n, 0, 0.01);
        const r = [p.slice(), g, m.slice(), v.slice()] as const;
        const q = [p.slice(), g, m.slice(), v.slice()] as const;
        ref.adamw({
          p: r[0],
          g: r[1],
          m: r[2],
          v: r[3],
          n,
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          step,
        });
        nat().adamw({
          p: q[0],
          g: q[1],
          m: q[2],
          v: q[3],
          n,
          lr: 1e-3,
          beta1: 0.9,
          beta2: 0.999,
          eps: 1e-8,
          weightDecay: 0.01,
          step,
        });
        closeTo(q[0], r[0], 1e-6, "p");
        closeTo(q[2], r[2], 1e-6, "m");
        closeTo(q[3], r[3], 1e-6, "v");
      }
    }
  });
});

// ---- softmax, layer norm, losses, embeddings ----

const ROWCOLS = [
  [0, 5],
  [1, 1],
  [3, 7],
  [17, 31],
  [2, 1000],
  [700, 65],
];

describe("native softmax, layer norm, cross-entropy, gather = reference", { skip }, () => {
  test("softmax and log-softmax, forward and backward", () => {
    const rng = new Rng(71);
    for (const [rows, cols] of ROWCOLS) {
      const x = rand(rng, rows * cols, -8, 8);
      if (rows * cols > 4) x[2] = Number.NEGATIVE_INFINITY;
      for (const log of [false, true]) {
        const yr = new Float32Array(rows * cols);
        const yn = new Float32Array(rows * cols);
        ref.softmax({ x, out: yr, rows, cols, log });
        nat().softmax({ x, out: yn, rows, cols, log });
        closeTo(yn, yr, 1e-5, `softmax log=${log} ${rows}x${cols}`);
        const dy = rand(rng, rows * cols);
        for (const acc of [false, true]) {
          const d0 = rand(rng, rows * cols);
          const dr = d0.slice();
          const dn = d0.slice();
          const yFinite = yr.map((v) => (Number.isFinite(v) ? v : -80));
          ref.softmaxBackward({ y: yFinite, dy, dx: dr, rows, cols, log, accumulate: acc });
          nat().softmaxBackward({ y: yFinite, dy, dx: dn, rows, cols, log, accumulate: acc });
          closeTo(dn, dr, 1e-5, `softmax' log=${log} acc=${acc} ${rows}x${cols}`);
        }
      }
    }
  });

  test("layer norm and RMS norm, forward and backward (dgamma, dbeta accumulate)", () => {
    const rng = new Rng(81);
    for (const [[rows, cols], rms] of ROWCOLS.flatMap(
      (rc) =>
        [
          [rc, false],
          [rc, true],
        ] as const,
    )) {
      if (cols === 0) continue;
      const what = `${rms ? "rms" : "ln"} ${rows}x${cols}`;
      const x = rand(rng, rows * cols, -3, 5);
      const gamma = rand(rng, cols, 0.5, 1.5);
      // The RMS norm reads no beta and writes no dbeta: empty arrays must do.
      const beta = rms ? new Float32Array(0) : rand(rng, cols);
      const out = [new Float32Array(rows * cols), new Float32Array(rows * cols)];
      const mean = [new Float32Array(rows), new Float32Array(rows)];
      const rstd = [new Float32Array(rows), new Float32Array(rows)];
      ref.layerNorm({
        x,
        gamma,
        beta,
        out: out[0],
        mean: mean[0],
        rstd: rstd[0],
        rows,
        cols,
        eps: 1e-5,
        rms,
      });
      nat().layerNorm({
        x,
        gamma,
        beta,
        out: out[1],
        mean: mean[1],
        rstd: rstd[1],
        rows,
        cols,
        eps: 1e-5,
        rms,
      });
      closeTo(out[1], out[0], 2e-5, what);
      closeTo(mean[1], mean[0], 1e-5, "mean");
      if (rms)
        assert.ok(
          mean[1].every((m) => m === 0),
          `${what}: mean 0`,
        );
      closeTo(rstd[1], rstd[0], 1e-5, "rstd");
      const dy = rand(rng, rows * cols);
      for (const acc of [false, true]) {
        const dx0 = rand(rng, rows * cols);
        const dg0 = rand(rng, cols);
        const db0 = rms ? new Float32Array(0) : rand(rng, cols);
        const r = [dx0.slice(), dg0.slice(), db0.slice()];
        const n = [dx0.slice(), dg0.slice(), db0.slice()];
        ref.layerNormBackward({
          x,
          gamma,
          mean: mean[0],
          rstd: rstd[0],
          dy,
          dx: r[0],
          dgamma: r[1],
          dbeta: r[2],
          rows,
          cols,
          accumulate: acc,
          rms,
        });
        nat().layerNormBackward({
          x,
          gamma,
          mean: mean[0],
          rstd: rstd[0],
          dy,
          dx: n[0],
          dgamma: n[1],
          dbeta: n[2],
          rows,
          cols,
          accumulate: acc,
          rms,
        });
        closeTo(n[0], r[0], 5e-5, `${what} dx`);
        closeTo(n[1], r[1], 1e-5 * Math.max(1, Math.sqrt(rows)), `${what} dgamma`);
        closeTo(n[2], r[2], 1e-5 * Math.max(1, Math.sqrt(rows)), `${what} dbeta`);
      }
    }
  });

  test("cross-entropy with smoothing and an ignore index, forward and backward", () => {
    const rng = new Rng(91);
    for (const [rows, V] of ROWCOLS) {
      if (V === 0) continue;
      const logits = rand(rng, rows * V, -6, 6);
      const targets = Int32Array.from({ length: rows }, (_, r) =>
        r % 5 === 3 ? -100 : rng.int(V),
      );
      for (const smoothing of [0, 0.1]) {
        const lr = [new Float32Array(rows), new Float32Array(rows)];
        const ln = [new Float32Array(rows), new Float32Array(rows)];
        ref.crossEntropy({
          logits,
          targets,
          loss: lr[0],
          lse: lr[1],
          rows,
          V,
          ignoreIndex: -100,
          smoothing,
        });
        nat().crossEntropy({
          logits,
          targets,
          loss: ln[0],
          lse: ln[1],
          rows,
          V,
          ignoreIndex: -100,
          smoothing,
        });
        closeTo(ln[0], lr[0], 1e-5, `ce loss ${rows}x${V}`);
        closeTo(ln[1], lr[1], 1e-5, `ce lse ${rows}x${V}`);
        const dloss = rand(rng, rows);
        for (const acc of [false, true]) {
          const d0 = rand(rng, rows * V);
          const dr = d0.slice();
          const dn = d0.slice();
          ref.crossEntropyBackward({
            logits,
            targets,
            lse: lr[1],
            dloss,
            dlogits: dr,
            rows,
            V,
            ignoreIndex: -100,
            smoothing,
            accumulate: acc,
          });
          nat().crossEntropyBackward({
            logits,
            targets,
            lse: lr[1],
            dloss,
            dlogits: dn,
            rows,
            V,
            ignoreIndex: -100,
            smoothing,
            accumulate: acc,
          });
          closeTo(dn, dr, 1e-5, `ce' ${rows}x${V} acc=${acc}`);
        }
      }
    }
  });

  test("cross-entropy: every ISA's row loops give the portable loops' bits", () => {
    // loss_avx2.cc repeats the scalar loops' operations lane by lane (no FMA), so its loss, lse
    // and gradient equal the portable build's exactly; a reordered sum or a fused multiply-add
    // would move some bits. Rows long and short (a partial vector, a tail of 15) and V = 8000.
    const rng = new Rng(93);
    const run = (isa: string, rows: number, V: number, logits: Float32Array, t: Int32Array) => {
      addon.setGemmIsa(isa);
      try {
        const loss = new Float32Array(rows);
        const lse = new Float32Array(rows);
        const b = nat();
        b.crossEntropy({
          logits,
          targets: t,
          loss,
          lse,
          rows,
          V,
          ignoreIndex: -100,
          smoothing: 0.1,
        });
        const dlogits = new Float32Array(rows * V);
        const dloss = Float32Array.from({ length: rows }, (_, r) => 0.5 + r / rows);
        b.crossEntropyBackward({
          logits,
          targets: t,
          lse,
          dloss,
          dlogits,
          rows,
          V,
          ignoreIndex: -100,
          smoothing: 0.1,
          accumulate: false,
        });
        return [loss, lse, dlogits];
      } finally {
        addon.setGemmIsa(addon.cpuIsa());
      }
    };
    for (const [rows, V] of [
      [5, 8000],
      [3, 31],
      [4, 7],
      [2, 1000],
    ]) {
      const logits = rand(rng, rows * V, -20, 20);
      const t = Int32Array.from({ length: rows }, (_, r) => (r === 1 ? -100 : rng.int(V)));
      const base = run("portable", rows, V, logits, t);
      for (const isa of isas().slice(1)) {
        const got = run(isa, rows, V, logits, t);
        for (let i = 0; i < 3; i++)
          assert.deepEqual(got[i], base[i], `${isa} ${["loss", "lse", "dlogits"][i]} ${rows}x${V}`);
      }
    }
  });

  test("a target out of range is a MaskwiseError, as in the reference", () => {
    const logits = new Float32Array(6);
    const t = Int32Array.from([0, 3]);
    const f32 = () => new Float32Array(2);
    for (const b of [ref, nat()]) {
      assert.throws(
        () =>
          b.crossEntropy({
            logits,
            targets: t,
            loss: f32(),
            lse: f32(),
            rows: 2,
            V: 3,
            ignoreIndex: -100,
            smoothing: 0,
          }),
        (e: unknown) => {
          return e instanceof MaskwiseError && e.code === "E_INDEX";
        },
      );
    }
    assert.throws(
      () =>
        nat().crossEntropyBackward({
          logits,
          targets: t,
          lse: f32(),
          dloss: f32(),
          dlogits: new Float32Array(6),
          rows: 2,
          V: 3,
          ignoreIndex: -100,
          smoothing: 0,
          accumulate: false,
        }),
      MaskwiseError,
    );
  });

  test("gather and scatter-add with repeated ids; ids out of range throw", () => {
    const rng = new Rng(101);
    for (const [rows, cols] of [
      [0, 3],
      [1, 1],
      [9, 7],
      [300, 600],
    ]) {
      const numRows = 5;
      const table = rand(rng, numRows * cols);
      const ids = Int32Array.from({ length: rows }, () => rng.int(numRows));
      const want = new Float32Array(rows * cols);
      const got = new Float32Array(rows * cols);
      ref.gather({ table, ids, out: want, rows, cols, numRows });
      nat().gather({ table, ids, out: got, rows, cols, numRows });
      assert.deepEqual(got, want);
      // zeroMissing: ids of -1 give rows of zeros (out starts as garbage).
      const holes = ids.map((id) => (rng.uniform() < 0.3 ? -1 : id));
      const wantZ = new Float32Array(rows * cols).fill(Number.NaN);
      const gotZ = new Float32Array(rows * cols).fill(Number.NaN);
      ref.gather({ table, ids: holes, out: wantZ, rows, cols, numRows, zeroMissing: true });
      nat().gather({ table, ids: holes, out: gotZ, rows, cols, numRows, zeroMissing: true });
      assert.deepEqual(gotZ, wantZ);
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < cols; j++) {
          const w = holes[r] < 0 ? 0 : table[holes[r] * cols + j];
          assert.equal(gotZ[r * cols + j], w, `zeroMissing row ${r} col ${j}`);
        }
      }
      const dout = rand(rng, rows * cols);
      const t0 = rand(rng, numRows * cols);
      const tr = t0.slice();
      const tn = t0.slice();
      ref.scatterAdd({ dout, ids, dtable: tr, rows, cols, numRows });
      nat().scatterAdd({ dout, ids, dtable: tn, rows, cols, numRows });
      closeTo(tn, tr, 1e-5, `scatterAdd ${rows}x${cols}`);
    }
    const bad = Int32Array.from([0, 5]);
    const t = new Float32Array(10);
    for (const b of [ref, nat()]) {
      assert.throws(
        () =>
          b.gather({
            table: t,
            ids: Int32Array.from([0, -1]),
            out: new Float32Array(4),
            rows: 2,
            cols: 2,
            numRows: 5,
          }),
        (e: unknown) => e instanceof MaskwiseError && e.code === "E_INDEX",
        "-1 is an error without zeroMissing",
      );
    }
    assert.throws(
      () =>
        nat().gather({
          table: t,
          ids: bad,
          out: new Float32Array(4),
          rows: 2,
          cols: 2,
          numRows: 5,
        }),
      MaskwiseError,
    );
    assert.throws(
      () =>
        nat().scatterAdd({
          dout: new Float32Array(4),
          ids: Int32Array.from([-1, 0]),
          dtable: t,
          rows: 2,
          cols: 2,
          numRows: 5,
        }),
      MaskwiseError,
    );
  });
});

// ---- validation: wrong calls throw a JS Error that names the kernel and the argument ----

describe("native addon argument validation", { skip }, () => {
  const f = (n: number) => new Float32Array(n);
  const i = (n: number) => new Int32Array(n);
  // Calls the addon with arguments of any type, wrong ones on purpose.
  const call =
    (name: string, ...args: unknown[]) =>
    () =>
      (addon as unknown as Record<string, (...a: unknown[]) => unknown>)[name](...args);
  const gemmArgs = (): unknown[] => [
    1,
    2,
    2,
    2,
    false,
    false,
    1,
    0,
    f(4),
    0,
    2,
    0,
    f(4),
    0,
    2,
    0,
    f(4),
    0,
    2,
    0,
    false,
    null,
    false,
    null,
  ];
  const withArg = (k: number, v: unknown) => {
    const a = gemmArgs();
    a[k] = v;
    return a;
  };
  const throwsNamed = (fn: () => unknown, kernel: string, arg: string | RegExp) => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof Error, "an Error");
      assert.match(e.message, new RegExp(`native ${kernel}`));
      assert.match(e.message, typeof arg === "string" ? new RegExp(`'${arg}'`) : arg);
      return true;
    });
  };

  test("gemm: a valid call passes", () => {
    addon.gemm(...(gemmArgs() as Parameters<NativeAddon["gemm"]>));
  });

  test("gemm: wrong types, negative / NaN / fractional sizes, too-short arrays", () => {
    throwsNamed(call("gemm", ...withArg(8, new Float64Array(4))), "gemm", "a");
    throwsNamed(call("gemm", ...withArg(8, [1, 2, 3, 4])), "gemm", "a");
    throwsNamed(call("gemm", ...withArg(12, i(4))), "gemm", "b");
    throwsNamed(call("gemm", ...withArg(16, null)), "gemm", "c");
    throwsNamed(call("gemm", ...withArg(1, -1)), "gemm", "m");
    throwsNamed(call("gemm", ...withArg(2, Number.NaN)), "gemm", "n");
    throwsNamed(call("gemm", ...withArg(3, 1.5)), "gemm", "k");
    throwsNamed(call("gemm", ...withArg(0, "1")), "gemm", "batch");
    throwsNamed(call("gemm", ...withArg(0, Infinity)), "gemm", "batch");
    throwsNamed(call("gemm", ...withArg(4, 1)), "gemm", "transA");
    throwsNamed(call("gemm", ...withArg(6, "x")), "gemm", "alpha");
    throwsNamed(call("gemm", ...withArg(9, 1)), "gemm", "a");
    throwsNamed(call("gemm", ...withArg(10, 3)), "gemm", "a");
    throwsNamed(call("gemm", ...withArg(14, 5)), "gemm", "b");
    throwsNamed(call("gemm", ...withArg(17, 1)), "gemm", "c");
    const batched = withArg(0, 2);
    batched[19] = 4; // strideC: the second matrix of C would end at index 8
    throwsNamed(call("gemm", ...batched), "gemm", "c");
    throwsNamed(call("gemm", ...withArg(11, -4)), "gemm", "strideA");
    throwsNamed(call("gemm", ...withArg(0, 2 ** 60)), "gemm", "batch");
    // A huge size must be rejected by the length check, not overflow into a small index.
    throwsNamed(call("gemm", ...withArg(1, 2 ** 52)), "gemm", "c");
    throwsNamed(call("gemm", ...withArg(20, 1)), "gemm", "bf16");
    // The epilogue's bias needs n (2) floats; relu is a boolean.
    throwsNamed(call("gemm", ...withArg(21, f(1))), "gemm", "bias");
    throwsNamed(call("gemm", ...withArg(21, [1, 2])), "gemm", "bias");
    throwsNamed(call("gemm", ...withArg(22, 1)), "gemm", "relu");
    // The row sums need m (2) floats.
    throwsNamed(call("gemm", ...withArg(23, f(1))), "gemm", "rowSums");
    throwsNamed(call("gemm", 1, 2, 3), "gemm", /expects 24 arguments/);
  });

  test("element-wise kernels: unknown ops, short arrays, bad strides and perms", () => {
    throwsNamed(call("unary", "cube", f(2), f(2), 2), "unary", /unknown unary op 'cube'/);
    throwsNamed(call("unary", 3, f(2), f(2), 2), "unary", "op");
    throwsNamed(call("unary", "exp", f(1), f(2), 2), "unary", "x");
    throwsNamed(call("unary", "exp", f(2), f(1), 2), "unary", "out");
    throwsNamed(call("unary", "exp", f(2), f(2), -1), "unary", "n");
    throwsNamed(
      call("unaryBackward", "exp", f(2), f(2), f(2), f(1), 2, false),
      "unaryBackward",
      "dx",
    );
    throwsNamed(
      call("unaryBackward", "exp", f(2), f(2), f(2), f(2), 2, 0),
      "unaryBackward",
      "accumulate",
    );
    throwsNamed(
      call("binary", "pow", f(2), [1], f(2), [1], f(2), [2]),
      "binary",
      /unknown binary op/,
    );
    throwsNamed(call("binary", "add", f(2), [1], f(1), [1], f(2), [2]), "binary", "b");
    throwsNamed(call("binary", "add", f(2), [1], f(2), [1], f(1), [2]), "binary", "out");
    throwsNamed(call("binary", "add", f(2), [1, 1], f(2), [1], f(2), [2]), "binary", /same length/);
    throwsNamed(call("binary", "add", f(2), [-1], f(2), [1], f(2), [2]), "binary", /below 0/);
    throwsNamed(
      call("binary", "add", f(2), [1], f(2), [1], f(2), [Number.NaN]),
      "binary",
      /'shape'\[0\]/,
    );
    throwsNamed(
      call("binary", "add", f(2), [0.5], f(2), [1], f(2), [2]),
      "binary",
      /'aStrides'\[0\]/,
    );
    throwsNamed(call("binary", "add", f(2), "1", f(2), [1], f(2), [2]), "binary", "aStrides");
    throwsNamed(call("reduce", "mean", f(2), f(1), 1, 2, 1), "reduce", /unknown reduce op/);
    throwsNamed(call("reduce", "sum", f(5), f(1), 2, 3, 1), "reduce", "x");
    throwsNamed(call("reduce", "sum", f(6), f(1), 2, 3, 1), "reduce", "out");
    throwsNamed(
      call("reduceMaxBackward", f(6), f(2), f(2), f(5), 2, 3, 1),
      "reduceMaxBackward",
      "dx",
    );
    throwsNamed(call("permute", f(6), f(6), [2, 3], [0, 0]), "permute", /permutation/);
    throwsNamed(call("permute", f(6), f(6), [2, 3], [0, 2]), "permute", /permutation/);
    throwsNamed(call("permute", f(6), f(6), [2, 3], [0]), "permute", /perm has 1/);
    throwsNamed(call("permute", f(6), i(6), [2, 3], [1, 0]), "permute", "out");
    throwsNamed(call("permute", i(6), f(6), [2, 3], [1, 0]), "permute", "out");
    throwsNamed(call("permute", f(5), f(6), [2, 3], [1, 0]), "permute", "x");
    throwsNamed(call("adamw", f(3), f(3), f(3), f(2), 3, 1, 0.9, 0.99, 1e-8, 0, 1), "adamw", "v");
    throwsNamed(
      call("adamw", f(3), f(3), f(3), f(3), 3, "lr", 0.9, 0.99, 1e-8, 0, 1),
      "adamw",
      "lr",
    );
  });

  test("row kernels and losses: short arrays, ids and targets out of range", () => {
    throwsNamed(call("softmax", f(5), f(6), 2, 3, false), "softmax", "x");
    throwsNamed(call("softmax", f(6), f(6), 2, 3, "no"), "softmax", "log");
    throwsNamed(
      call("softmaxBackward", f(6), f(6), f(5), 2, 3, false, false),
      "softmaxBackward",
      "dx",
    );
    throwsNamed(
      call("layerNorm", f(6), f(2), f(3), f(6), f(2), f(2), 2, 3, 1e-5, false),
      "layerNorm",
      "gamma",
    );
    throwsNamed(
      call("layerNorm", f(6), f(3), f(3), f(6), f(1), f(2), 2, 3, 1e-5, false),
      "layerNorm",
      "mean",
    );
    throwsNamed(
      call("layerNormBackward", f(6), f(3), f(2), f(2), f(6), f(6), f(3), f(2), 2, 3, false, false),
      "layerNormBackward",
      "dbeta",
    );
    throwsNamed(
      call("crossEntropy", f(6), f(2), f(2), f(2), 2, 3, -100, 0),
      "crossEntropy",
      "targets",
    );
    throwsNamed(
      call("crossEntropy", f(6), i(1), f(2), f(2), 2, 3, -100, 0),
      "crossEntropy",
      "targets",
    );
    throwsNamed(
      call("crossEntropy", f(6), i(2), f(2), f(2), 2, 3, 0.5, 0),
      "crossEntropy",
      "ignoreIndex",
    );
    throwsNamed(
      call("crossEntropy", f(6), Int32Array.from([0, 7]), f(2), f(2), 2, 3, -100, 0),
      "crossEntropy",
      /target 7 at row 1/,
    );
    throwsNamed(
      call("gather", f(6), Int32Array.from([3]), f(2), 1, 2, 3, false),
      "gather",
      /index 3/,
    );
    throwsNamed(
      call("gather", f(6), Int32Array.from([-1]), f(2), 1, 2, 3, false),
      "gather",
      /index -1 at position 0 is outside \[0, 3\)/,
    );
    throwsNamed(
      call("gather", f(6), Int32Array.from([-2]), f(2), 1, 2, 3, true),
      "gather",
      /index -2 at position 0 is outside \[-1, 3\)/,
    );
    throwsNamed(call("gather", f(5), i(1), f(2), 1, 2, 3, false), "gather", "table");
    throwsNamed(
      call("scatterAdd", f(2), Int32Array.from([-2]), f(6), 1, 2, 3),
      "scatterAdd",
      /index -2/,
    );
    throwsNamed(call("setThreads", 0), "setThreads", /'n'/);
    throwsNamed(call("setThreads", 1.5), "setThreads", "n");
    throwsNamed(call("setGemmIsa", "sse9"), "setGemmIsa", /unknown ISA/);
    throwsNamed(call("setGemmBf16Dot", "yes"), "setGemmBf16Dot", /'on' must be a boolean/);
    throwsNamed(call("peakGflops", -1), "peakGflops", "seconds");
    throwsNamed(call("gather"), "gather", /expects 7 arguments/);
  });

  test("detached and zero-length arrays are checked like any other", () => {
    const buf = new ArrayBuffer(16);
    const x = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    throwsNamed(call("unary", "exp", x, f(4), 4), "unary", "x");
    addon.unary("exp", x, f(0), 0);
  });
});
