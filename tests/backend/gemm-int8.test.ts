// The int8 product of a decoding step: the reference's quantization (round trip within half a
// step of each row's scale, ties to even, zero and non-finite rows; activation rows with a zero
// point: 0 exact, a never-negative row at twice the symmetric steps), the reference product
// against the integer dot products computed independently in double, and the native kernels
// (VNNI, AVX2, portable, each where this CPU runs it) against the reference: every bit the same,
// since the integer sums are exact and the rescale is the same float32 operations in the same
// order. Row counts 1..9 and 13, k and n with SIMD tails, the threaded split, and validation.
// The epilogue (beta 0, a bias, a ReLU) gives the bits of separate passes, on every kernel.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import {
  dequantizeActivationRow,
  dequantizeInt8,
  gemmInt8Reference,
  type Int8Epilogue,
  packInt8Pairs,
  packInt8Vnni,
  quantizeActivationRow,
  quantizeRow,
  quantizeRowsInt8,
  roundHalfEven,
} from "../../src/backend/reference-int8.js";
import { readCpu } from "../../src/node/cpu.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import { Rng } from "../../src/util/rng.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = scale * (2 * rng.uniform() - 1);
  return a;
}

describe("int8 quantization (reference)", () => {
  test("ties go to even, as the CPU rounds", () => {
    assert.deepEqual(
      [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -2.5001].map(roundHalfEven),
      [0, 2, 2, -0, -2, -2, 2, -3],
    );
  });

  test("round trip: each value within half a step of its row's scale; max |w| exact", () => {
    const rng = new Rng(1);
    const n = 7;
    const k = 300;
    const w = rand(rng, n * k);
    // Rows of very different sizes: the scale is per row, so small rows keep their precision.
    for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) w[j * k + p] *= 10 ** (j - 3);
    const q = quantizeRowsInt8(w, n, k);
    const back = dequantizeInt8(q, n, k);
    for (let j = 0; j < n; j++) {
      let amax = 0;
      for (let p = 0; p < k; p++) amax = Math.max(amax, Math.abs(w[j * k + p]));
      assert.equal(q.scales[j], Math.fround(amax / 127), `scale of row ${j}`);
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const err = Math.abs(back[j * k + p] - w[j * k + p]);
        assert.ok(err <= 0.5001 * q.scales[j], `row ${j} [${p}]: error ${err}`);
        assert.ok(Math.abs(q.q[j * k + p]) <= 127);
        sum += q.q[j * k + p];
      }
      assert.equal(q.sums[j], sum, `row sum ${j}`);
      // The largest value maps to ±127 and comes back to within float32 rounding.
      const at = Array.from(w.subarray(j * k, (j + 1) * k), Math.abs).indexOf(amax);
      assert.equal(Math.abs(q.q[j * k + at]), 127);
    }
  });

  test("activation rows: within half a step of hi / 255 - lo / 255, 0 exact, both ends kept", () => {
    const rng = new Rng(4);
    const k = 300;
    // Mixed signs, never negative (a ReLU's output), never positive, and off-centre.
    const rows = [rand(rng, k), rand(rng, k).map(Math.abs), rand(rng, k).map((v) => -Math.abs(v))];
    rows.push(rand(rng, k).map((v) => 4 * v + 3));
    for (const row of rows) row[17] = 0;
    const x = new Float32Array(rows.length * k);
    rows.forEach((r, i) => {
      x.set(r, i * k);
    });
    const u = new Uint8Array(x.length);
    rows.forEach((row, i) => {
      const r = quantizeActivationRow(x, i, k, u, i * k);
      const lo = Math.min(0, ...row);
      const hi = Math.max(0, ...row);
      assert.equal(r.scale, Math.fround(Math.fround(hi / 255) - Math.fround(lo / 255)), `row ${i}`);
      assert.ok(Number.isInteger(r.zero) && r.zero >= 0 && r.zero <= 255);
      const back = dequantizeActivationRow(u, i, k, r);
      for (let p = 0; p < k; p++) {
        const err = Math.abs(back[p] - row[p]);
        assert.ok(err <= 0.5001 * r.scale, `row ${i} [${p}]: error ${err}, step ${r.scale}`);
      }
      assert.equal(back[17], 0, `row ${i}: 0 comes back exactly`);
      // The row's largest and smallest values take the byte range's ends.
      assert.equal(u[i * k + row.indexOf(Math.max(...row))], hi > 0 ? 255 : r.zero);
      assert.equal(u[i * k + row.indexOf(Math.min(...row))], lo < 0 ? 0 : r.zero);
    });
    // Never negative: zero point 0 and a step of max / 255, half the symmetric max / 127.
    const relu = quantizeActivationRow(x, 1, k, u, k);
    assert.equal(relu.zero, 0);
    assert.ok(relu.scale <= 0.51 * Math.fround(Math.max(...rows[1]) / 127));
    assert.equal(quantizeActivationRow(x, 2, k, u, 2 * k).zero, 255);
  });

  test("a row of zeros has scale 0; a non-finite row scale NaN", () => {
    const q = new Int8Array(3);
    assert.equal(quantizeRow(new Float32Array(3), 0, 3, q, 0), 0);
    assert.deepEqual([...q], [0, 0, 0]);
    assert.ok(Number.isNaN(quantizeRow(Float32Array.of(1, Number.NaN, 2), 0, 3, q, 0)));
    assert.ok(Number.isNaN(quantizeRow(Float32Array.of(1, Number.POSITIVE_INFINITY), 0, 2, q, 0)));
    const u = Uint8Array.of(7, 7, 7);
    assert.deepEqual(quantizeActivationRow(new Float32Array(3), 0, 3, u, 0), { scale: 0, zero: 0 });
    assert.deepEqual([...u], [0, 0, 0]);
    const inf = Float32Array.of(1, Number.NEGATIVE_INFINITY);
    assert.ok(Number.isNaN(quantizeActivationRow(inf, 0, 2, u, 0).scale));
    const c = new Float32Array(1);
    gemmInt8Reference(
      1,
      1,
      2,
      Float32Array.of(1, Number.NaN),
      quantizeRowsInt8(Float32Array.of(1, 1), 1, 2),
      c,
    );
    assert.ok(Number.isNaN(c[0]));
  });

  test("the product: integer dots of the quantized rows, rescaled, added to c", () => {
    const rng = new Rng(2);
    const [m, n, k] = [3, 5, 70];
    const a = rand(rng, m * k);
    const w = quantizeRowsInt8(rand(rng, n * k), n, k);
    const c0 = rand(rng, m * n);
    const got = c0.slice();
    gemmInt8Reference(m, n, k, a, w, got);
    const ua = new Uint8Array(k);
    for (let i = 0; i < m; i++) {
      const { scale: sa, zero } = quantizeActivationRow(a, i, k, ua, 0);
      let exactA = 0;
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let p = 0; p < k; p++) dot += (ua[p] - zero) * w.q[j * k + p];
        const want = c0[i * n + j] + dot * sa * w.scales[j];
        assert.ok(Math.abs(got[i * n + j] - want) <= 1e-6 * (1 + Math.abs(want)), `[${i}, ${j}]`);
        // Against the float32 product: within the quantization error of both operands.
        let f = 0;
        let bound = 0;
        for (let p = 0; p < k; p++) {
          const wf = w.q[j * k + p] * w.scales[j];
          f += a[i * k + p] * wf;
          bound += 0.5 * sa * Math.abs(wf);
        }
        exactA = Math.abs(got[i * n + j] - c0[i * n + j] - f);
        assert.ok(exactA <= bound + 1e-6, `[${i}, ${j}]: ${exactA} > ${bound}`);
      }
    }
  });
});

describe("int8 product's epilogue (reference)", () => {
  test("beta 0, bias and ReLU: the bits of zeroing c, the product, a bias add and a ReLU pass", () => {
    const rng = new Rng(3);
    const [m, n, k] = [4, 9, 33];
    const a = rand(rng, m * k);
    a[k + 2] = Number.NaN; // row 1: NaN results, which the ReLU turns to 0
    const w = quantizeRowsInt8(rand(rng, n * k), n, k);
    const bias = rand(rng, n, 0.5);
    for (const beta of [0, 1] as const)
      for (const withBias of [false, true])
        for (const relu of [false, true]) {
          const c0 = rand(rng, m * n);
          c0[3] = Number.NaN; // read only with beta 1
          const fused = c0.slice();
          gemmInt8Reference(m, n, k, a, w, fused, { beta, bias: withBias ? bias : null, relu });
          const passes = c0.slice();
          if (beta === 0) passes.fill(0);
          gemmInt8Reference(m, n, k, a, w, passes);
          for (let t = 0; t < m * n; t++) {
            if (withBias) passes[t] = Math.fround(passes[t] + bias[t % n]);
            // biome-ignore lint/complexity/useMathMinMax: relu(NaN) = 0, as the unary ReLU gives; Math.max would give NaN.
            if (relu) passes[t] = passes[t] > 0 ? passes[t] : 0;
          }
          for (let t = 0; t < m * n; t++)
            assert.ok(
              Object.is(fused[t], passes[t]),
              `beta ${beta} bias ${withBias} relu ${relu} [${t}]: ${fused[t]} vs ${passes[t]}`,
            );
          // Row 0 of a is finite: with beta 0 the NaN in c is not read.
          if (beta === 0) assert.ok(Number.isFinite(fused[3]), "beta 0 reads c");
        }
  });
});

/**
 * Row 1 of a [m, k] never negative (zero point 0, as a ReLU's output) and row 3 never positive
 * (zero point 255), where a has those rows; the others keep both signs.
 */
function oneSignRows(a: Float32Array, m: number, k: number): void {
  for (let p = 0; p < k; p++) {
    if (m > 1) a[k + p] = Math.abs(a[k + p]);
    if (m > 3) a[3 * k + p] = -Math.abs(a[3 * k + p]);
  }
}

/** A product's arguments with every array zero, of the sizes m, n and k call for. */
function zeroArgs(m: number, n: number, k: number) {
  return {
    m,
    n,
    k,
    a: new Float32Array(m * k),
    w: new Int8Array(n * k),
    scales: new Float32Array(n),
    sums: new Int32Array(n),
    c: new Float32Array(m * n),
  };
}

/**
 * A packed-weight case: rows of one sign, a row of zeros (row 2) and one with a NaN (row 5)
 * where m has them, int8 weights with `pack`'s layout, and C's starting values.
 */
function packedCase(
  seed: number,
  m: number,
  n: number,
  k: number,
  pack: (q: Int8Array, n: number, k: number) => Int8Array | Int16Array,
) {
  const rng = new Rng(seed);
  const a = rand(rng, m * k, 3);
  oneSignRows(a, m, k);
  if (m > 2) a.fill(0, 2 * k, 3 * k);
  if (m > 5) a[5 * k + 3] = Number.NaN;
  const w = quantizeRowsInt8(rand(rng, n * k, 0.1), n, k);
  return { rng, a, w, packed: pack(w.q, n, k), c0: rand(rng, m * n) };
}

describe("int8 product: native against the reference", { skip }, () => {
  const addon = "error" in loaded ? null : (loaded.addon as NativeAddon);
  const nat = () => {
    if (!addon) throw new Error("native addon not loaded");
    return new NativeBackend(addon);
  };
  const check = (m: number, n: number, k: number, seed: number, kernel: string) => {
    const rng = new Rng(seed);
    const a = rand(rng, m * k, 3);
    oneSignRows(a, m, k);
    if (m > 2) a.fill(0, 2 * k, 3 * k); // a row of zeros
    const w = quantizeRowsInt8(rand(rng, n * k, 0.1), n, k);
    const c0 = rand(rng, m * n);
    const want = c0.slice();
    const got = c0.slice();
    gemmInt8Reference(m, n, k, a, w, want);
    const ran = nat().gemmInt8({ m, n, k, a, w: w.q, scales: w.scales, sums: w.sums, c: got });
    assert.equal(ran, kernel);
    for (let t = 0; t < m * n; t++)
      assert.equal(got[t], want[t], `${kernel} m ${m} n ${n} k ${k}: [${t}]`);
  };
  const kernels = !addon
    ? []
    : ["avx512-vnni", "avx2", "portable"].filter((kern) => {
        const isa = kern === "avx512-vnni" ? "avx512" : kern;
        if (kern === "avx2" && addon.cpuIsa() === "portable") return false;
        if (kern === "avx512-vnni" && addon.cpuIsa() !== "avx512") return false;
        addon.setGemmIsa(isa);
        const none = new Float32Array(0);
        const ran = nat().gemmInt8({
          m: 0,
          n: 0,
          k: 0,
          a: none,
          w: new Int8Array(0),
          scales: none,
          sums: new Int32Array(0),
          c: none,
        });
        addon.setGemmIsa(addon.cpuIsa());
        return ran === kern;
      });
  for (const kern of kernels) {
    const isa = kern === "avx512-vnni" ? "avx512" : kern;
    test(`${kern}: row counts 1..9 and 13, n and k with tails: every bit as the reference`, () => {
      addon?.setGemmIsa(isa);
      try {
        let seed = 10;
        for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13])
          for (const [n, k] of [
            [1, 1],
            [5, 17],
            [16, 64],
            [37, 65],
            [70, 255],
          ])
            check(m, n, k, seed++, kern);
        // Large enough to be split between threads (m n k >= 2^18, n >= 64 per thread).
        check(4, 1030, 512, seed++, kern);
      } finally {
        addon?.setGemmIsa(addon.cpuIsa());
      }
    });
  }

  // fn(kernel, threads) on every kernel this CPU runs, with 1 and 2 threads; both restored after.
  const everyKernel = (fn: (kern: string, t: number) => void) => {
    const threads = addon?.threads() ?? 1;
    try {
      for (const kern of kernels) {
        addon?.setGemmIsa(kern === "avx512-vnni" ? "avx512" : kern);
        for (const t of [1, 2]) {
          addon?.setThreads(t);
          fn(kern, t);
        }
      }
    } finally {
      addon?.setThreads(threads);
      addon?.setGemmIsa(addon.cpuIsa());
    }
  };
  // Each layout on every kernel: the one it is made for reads it, the others ignore it.
  const layouts = [
    ["VPDPBUSD (Int8Array)", packInt8Vnni],
    ["VPMADDWD pairs (Int16Array)", packInt8Pairs],
  ] as const;
  for (const [layout, pack] of layouts)
    test(`weights packed for ${layout}, every kernel: row counts 1..40 and 160, column tails, every bit as the reference`, () => {
      let seed = 100;
      everyKernel((kern, t) => {
        for (const m of [1, 2, 5, 6, 7, 8, 9, 12, 13, 24, 25, 40, 160])
          for (const [n, k] of [
            [1, 4],
            [17, 64],
            [37, 68],
            [256, 256],
            [70, 260],
          ]) {
            const { a, w, packed, c0 } = packedCase(seed++, m, n, k, pack);
            const want = c0.slice();
            const got = c0.slice();
            gemmInt8Reference(m, n, k, a, w, want);
            const args = { m, n, k, a, w: w.q, scales: w.scales, sums: w.sums, c: got, packed };
            assert.equal(nat().gemmInt8(args), kern);
            for (let i = 0; i < m * n; i++)
              assert.ok(
                Object.is(got[i], want[i]),
                `${kern}, ${t} threads, m ${m} n ${n} k ${k}: [${i}] ${got[i]} vs ${want[i]}`,
              );
          }
      });
    });

  test("AMX-INT8 (opt-in): 16 rows or more on the VPDPBUSD layout with k a multiple of 64, every bit as the reference; offered only where the CPU has AMX-INT8", () => {
    if (!addon) throw new Error("native addon not loaded");
    // The emulated build (tests/node/avx512-emulated.test.ts) runs the AMX kernel on any AVX2
    // CPU; a normal build offers it only on a CPU with AMX-INT8 (and Linux's permission).
    const emulated = addon.gemmKernels().emulatedAvx512;
    const threads = addon.threads();
    addon.setGemmAmx(true);
    try {
      let seed = 300;
      const ran = new Set<string>();
      for (const t of [1, 2]) {
        addon.setThreads(t);
        for (const m of [8, 15, 16, 17, 32, 33, 40, 160])
          for (const [n, k] of [
            [17, 64],
            [37, 68],
            [256, 256],
            [70, 192],
          ]) {
            const { rng, a, w, packed, c0 } = packedCase(seed++, m, n, k, packInt8Vnni);
            const want = c0.slice();
            const got = c0.slice();
            // The epilogue too: beta 0 with a bias and a ReLU on odd seeds.
            const ep: Int8Epilogue =
              seed % 2 === 0 ? {} : { beta: 0, bias: rand(rng, n), relu: true };
            gemmInt8Reference(m, n, k, a, w, want, ep);
            const args = {
              m,
              n,
              k,
              a,
              w: w.q,
              scales: w.scales,
              sums: w.sums,
              c: got,
              packed,
              ...ep,
            };
            const kern = nat().gemmInt8(args);
            ran.add(kern);
            const fits = m >= 16 && k % 64 === 0;
            if (emulated) assert.equal(kern, fits ? "amx-int8" : "avx512-vnni");
            if (kern === "amx-int8") assert.ok(fits, `m ${m} k ${k} ran on AMX`);
            for (let i = 0; i < m * n; i++)
              assert.ok(
                Object.is(got[i], want[i]),
                `${kern}, ${t} threads, m ${m} n ${n} k ${k}: [${i}] ${got[i]} vs ${want[i]}`,
              );
          }
      }
      if (emulated) assert.ok(ran.has("amx-int8"), [...ran].join(", "));
      if (!emulated && readCpu().flags.amx_int8 !== true) assert.ok(!ran.has("amx-int8"));
    } finally {
      addon.setThreads(threads);
      addon.setGemmAmx(false);
    }
  });

  test("the epilogue (beta 0, bias, ReLU) on every kernel, packed or not: every bit as the reference", () => {
    let seed = 300;
    everyKernel((kern, t) => {
      for (const [m, n, k] of [
        [1, 37, 68],
        [5, 16, 64],
        [13, 70, 260],
        [160, 256, 256],
      ])
        for (const packed of [null, ...layouts.map(([, pack]) => pack)])
          for (const beta of [0, 1] as const)
            for (const relu of [false, true]) {
              const rng = new Rng(seed++);
              const a = rand(rng, m * k, 3);
              if (m > 2) a[2 * k + 1] = Number.NaN; // a row of NaN results
              const w = quantizeRowsInt8(rand(rng, n * k, 0.1), n, k);
              const bias = rand(rng, n, 0.3);
              const c0 = rand(rng, m * n);
              c0[0] = Number.NaN; // read only with beta 1
              const want = c0.slice();
              const got = c0.slice();
              gemmInt8Reference(m, n, k, a, w, want, { beta, bias, relu });
              const ran = nat().gemmInt8({
                m,
                n,
                k,
                a,
                w: w.q,
                scales: w.scales,
                sums: w.sums,
                c: got,
                packed: packed ? packed(w.q, n, k) : null,
                beta,
                bias,
                relu,
              });
              assert.equal(ran, kern);
              for (let i = 0; i < m * n; i++)
                assert.ok(
                  Object.is(got[i], want[i]),
                  `${kern}, ${t} threads, m ${m} n ${n} k ${k}, packed ${packed?.name ?? null}, beta ${beta}, relu ${relu}: [${i}] ${got[i]} vs ${want[i]}`,
                );
            }
    });
  });

  test("the epilogue's arguments: beta other than 0 or 1, and a short bias, are refused", () => {
    const n = 3;
    const base = zeroArgs(2, n, 4);
    assert.throws(() => nat().gemmInt8({ ...base, beta: 2 as 1 }), /'beta' must be 0 or 1/);
    assert.throws(
      () => nat().gemmInt8({ ...base, bias: new Float32Array(n - 1) }),
      /'bias' is too short/,
    );
  });

  test("packed weights: too short, or with k not a multiple of the layout's group, are refused", () => {
    const [m, n] = [9, 17];
    const base = zeroArgs(m, n, 8);
    // 17 columns take two blocks of 16 (VPDPBUSD, 8 bytes each at k = 8; k a multiple of 4) or
    // three blocks of 8 (VPMADDWD pairs, 8 int16 each; k even).
    const cases = [
      { make: (len: number) => new Int8Array(len), size: 2 * 16 * 8, oddK: 6, group: 4 },
      { make: (len: number) => new Int16Array(len), size: 3 * 8 * 8, oddK: 5, group: 2 },
    ];
    for (const { make, size, oddK, group } of cases) {
      assert.throws(
        () => nat().gemmInt8({ ...base, packed: make(size - 1) }),
        /array 'packed' is too short/,
      );
      assert.throws(
        () =>
          nat().gemmInt8({
            ...base,
            k: oddK,
            a: new Float32Array(m * oddK),
            w: new Int8Array(n * oddK),
            packed: make(size),
          }),
        new RegExp(`'packed' needs k to be a multiple of ${group}`),
      );
    }
  });

  test("a NaN or an infinity in a row of a: that row's results NaN, the others as the reference", () => {
    const rng = new Rng(5);
    const [m, n, k] = [3, 20, 40];
    const a = rand(rng, m * k);
    a[k + 7] = Number.NaN;
    a[2 * k + 39] = Number.NEGATIVE_INFINITY; // in the tail of the last row
    const w = quantizeRowsInt8(rand(rng, n * k), n, k);
    const want = new Float32Array(m * n);
    const got = new Float32Array(m * n);
    gemmInt8Reference(m, n, k, a, w, want);
    nat().gemmInt8({ m, n, k, a, w: w.q, scales: w.scales, sums: w.sums, c: got });
    for (let t = 0; t < m * n; t++) {
      assert.equal(Number.isNaN(got[t]), t >= n, `[${t}]`);
      if (!Number.isNaN(want[t])) assert.equal(got[t], want[t]);
    }
  });

  test("ties round to even in the kernel's quantization too (vector body and tail)", () => {
    // Range [-128, 127]: the step is 1, the zero point 128 and each value is its own quotient;
    // k = 37 = 2 * 16 + 5.
    const k = 37;
    const a = new Float32Array(k);
    for (let p = 0; p < k; p++) a[p] = (p % 2 === 0 ? 1 : -1) * (p + 0.5);
    a[35] = -128;
    a[36] = 127;
    const w = quantizeRowsInt8(
      Float32Array.from({ length: 3 * k }, (_, i) => ((i * 7) % 11) - 5),
      3,
      k,
    );
    const want = new Float32Array(3);
    const got = new Float32Array(3);
    gemmInt8Reference(1, 3, k, a, w, want);
    nat().gemmInt8({ m: 1, n: 3, k, a, w: w.q, scales: w.scales, sums: w.sums, c: got });
    assert.deepEqual([...got], [...want]);
    // The reference's own rounding: 0.5 -> 0, -1.5 -> -2, 2.5 -> 2, each plus the zero point.
    const u = new Uint8Array(k);
    assert.deepEqual(quantizeActivationRow(a, 0, k, u, 0), { scale: 1, zero: 128 });
    assert.deepEqual([...u.subarray(0, 3)], [128, 126, 130]);
  });

  test("a row's results do not depend on the rows beside it (per-row quantization)", () => {
    const rng = new Rng(8);
    const [m, n, k] = [6, 40, 100];
    const a = rand(rng, m * k);
    const w = quantizeRowsInt8(rand(rng, n * k), n, k);
    const all = new Float32Array(m * n);
    nat().gemmInt8({ m, n, k, a, w: w.q, scales: w.scales, sums: w.sums, c: all });
    for (let i = 0; i < m; i++) {
      const one = new Float32Array(n);
      nat().gemmInt8({
        m: 1,
        n,
        k,
        a: a.subarray(i * k, (i + 1) * k),
        w: w.q,
        scales: w.scales,
        sums: w.sums,
        c: one,
      });
      assert.deepEqual([...one], [...all.subarray(i * n, (i + 1) * n)], `row ${i}`);
    }
  });

  test("arguments are validated", () => {
    const a = new Float32Array(8);
    const c = new Float32Array(6);
    const s = new Float32Array(3);
    const sums = new Int32Array(3);
    assert.throws(
      () => nat().gemmInt8({ m: 2, n: 3, k: 4, a, w: new Int8Array(11), scales: s, sums, c }),
      /array 'w' is too short/,
    );
    assert.throws(
      () =>
        nat().gemmInt8({ m: 2, n: 3, k: 4, a, w: new Uint8Array(12) as never, scales: s, sums, c }),
      /'w' must be an Int8Array/,
    );
    assert.throws(
      () =>
        nat().gemmInt8({
          m: 2,
          n: 3,
          k: 4,
          a,
          w: new Int8Array(12),
          scales: s,
          sums: new Int32Array(2),
          c,
        }),
      /array 'sums' is too short/,
    );
  });
});

describe("int8 weights in a kernel's layout", () => {
  // Blocks of `cols` columns, each a run of k / `group` groups of cols x group values: element
  // c * group + t of group g of block b is w[cols b + c, group g + t], 0 for columns past n.
  const layouts = [
    {
      name: "VPDPBUSD",
      pack: packInt8Vnni,
      cols: 16,
      group: 4,
      n: 19,
      k: 12,
      refused: /multiple of 4/,
    },
    {
      name: "VPMADDWD pairs",
      pack: packInt8Pairs,
      cols: 8,
      group: 2,
      n: 11,
      k: 6,
      refused: /must be even/,
    },
  ];
  for (const { name, pack, cols, group, n, k, refused } of layouts)
    test(`${name}: element c * ${group} + t of group g of block b is w[${cols} b + c, ${group} g + t]; columns past n are 0`, () => {
      const w = Int8Array.from({ length: n * k }, (_, i) => (i % 251) - 125);
      const packed = pack(w, n, k);
      const groups = k / group;
      assert.equal(packed.length, 2 * groups * cols * group);
      for (let b = 0; b < 2; b++)
        for (let g = 0; g < groups; g++)
          for (let c = 0; c < cols; c++)
            for (let t = 0; t < group; t++) {
              const j = cols * b + c;
              const want = j < n ? w[j * k + group * g + t] : 0;
              const at = (b * groups + g) * cols * group + c * group + t;
              assert.equal(packed[at], want, `${[b, g, c, t]}`);
            }
      assert.throws(() => pack(new Int8Array(group + 1), 1, group + 1), refused);
    });
});
