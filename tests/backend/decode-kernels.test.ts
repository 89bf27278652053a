// The kernels of incremental decoding, native against the reference: the skinny GEMM path (a few
// rows of A against a weight [n, k], every row count up to and past the path's limit, k and n
// with SIMD tails, beta = 0 over NaN garbage, the threaded split of a large weight), and
// attention of one query per row on a KV cache (the reference checked against fused attention
// over the gathered cache, the native kernel against the reference, and argument validation).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DECODE_ATTENTION_FIELDS, NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { decodeAttentionReference } from "../../src/backend/reference-decode.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import type { Backend, DecodeAttentionArgs, GemmArgs } from "../../src/tensor/backend.js";
import { fromBf16, toBf16 } from "../../src/tensor/bf16.js";
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

const addon = "error" in loaded ? null : (loaded.addon as NativeAddon);
const ISAS = ["portable", "avx2", "avx512"];
/** The GEMM ISAs this CPU runs, up to its best. */
const isas = (): string[] => (addon ? ISAS.slice(0, ISAS.indexOf(addon.cpuIsa()) + 1) : []);
/** body() with the GEMM kernels of `isa`, then the CPU's best again. */
const onIsa = (isa: string, body: () => void) => {
  addon?.setGemmIsa(isa);
  try {
    body();
  } finally {
    addon?.setGemmIsa(addon.cpuIsa());
  }
};

/** (n, k) of the skinny products tested: single elements, SIMD tails, whole blocks. */
const SKINNY_SHAPES = [
  [1, 1],
  [5, 17],
  [16, 16],
  [37, 64],
  [70, 255],
] as const;

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

  // Every ISA this CPU runs: the AVX-512 and AVX2 kernels of the skinny path, and the packed
  // path that portable takes.
  for (const isa of isas()) {
    test(`${isa}: every row count 1..9, k and n with tails, beta 0 and 1`, () =>
      onIsa(isa, () => {
        let seed = 1;
        for (let m = 1; m <= 9; m++)
          for (const [n, k] of SKINNY_SHAPES)
            for (const beta of [0, 1]) check(m, n, k, beta, seed++);
      }));

    test(`${isa}: a large weight split between threads`, () =>
      onIsa(isa, () => {
        check(1, 4133, 260, 0, 50);
        check(5, 4133, 260, 1, 51);
      }));
  }
});

describe("bfloat16 products: c += a w^T, w stored as bfloat16, a rounded to it", { skip }, () => {
  const check = (m: number, n: number, k: number, seed: number) => {
    const rng = new Rng(seed);
    const a = rand(rng, m * k);
    const w = toBf16(rand(rng, n * k));
    const c0 = rand(rng, m * n);
    const want = c0.slice();
    const got = c0.slice();
    ref.gemmBf16({ m, n, k, a, w, c: want });
    nat().gemmBf16({ m, n, k, a, w, c: got });
    // The reference itself against the product of the rounded inputs, in double.
    const ar = fromBf16(toBf16(a));
    const wf = fromBf16(w);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += ar[i * k + p] * wf[j * k + p];
        const exact = Math.fround(c0[i * n + j] + s);
        assert.equal(want[i * n + j], exact, `reference [${i}, ${j}]`);
        const g = got[i * n + j];
        assert.ok(
          Math.abs(g - exact) <= 1e-5 * (1 + Math.sqrt(k)),
          `m ${m} n ${n} k ${k}: [${i}, ${j}] ${g} vs ${exact}`,
        );
      }
  };

  test("the reference rounds a to bfloat16: not the float32 product", () => {
    const a = Float32Array.of(1 + 2 ** -12); // rounds to 1
    const w = toBf16(Float32Array.of(1));
    const c = new Float32Array(1);
    ref.gemmBf16({ m: 1, n: 1, k: 1, a, w, c });
    assert.equal(c[0], 1);
  });

  // The bfloat16 dot-product instruction where the CPU has it, the float32 AVX-512 and AVX2
  // kernels, and the portable loop: the same sums on every path.
  const paths = !addon
    ? []
    : [...(addon.setGemmBf16Dot(true) ? ["bf16-dot"] : []), ...isas().reverse()];
  const on = (path: string, body: () => void) => {
    if (!addon) return;
    if (path !== "bf16-dot") addon.setGemmIsa(path);
    addon.setGemmBf16Dot(path === "bf16-dot");
    try {
      body();
    } finally {
      addon.setGemmIsa(addon.cpuIsa());
      addon.setGemmBf16Dot(true);
    }
  };
  for (const path of paths) {
    test(`${path}: every row count 1..9, 13 and 40, k and n with tails`, () =>
      on(path, () => {
        let seed = 100;
        for (const m of [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 40])
          for (const [n, k] of SKINNY_SHAPES) check(m, n, k, seed++);
      }));

    test(`${path}: a large weight split between threads; k = 0 adds nothing`, () =>
      on(path, () => {
        check(1, 4133, 260, 150);
        check(5, 4133, 260, 151);
        check(2, 3, 0, 152);
      }));
  }

  test("arguments are checked before the kernel runs", () => {
    const w = new Uint16Array(11); // n * k = 12
    const a = new Float32Array(8);
    const c = new Float32Array(6);
    assert.throws(() => nat().gemmBf16({ m: 2, n: 3, k: 4, a, w, c }), /array 'w' is too short/);
    assert.throws(
      () => nat().gemmBf16({ m: 2, n: 3, k: 4, a, w: new Float32Array(12) as never, c }),
      /'w' must be a Uint16Array/,
    );
    assert.throws(
      () =>
        nat().gemmBf16({ m: 2, n: 3, k: 4, a, w: new Uint16Array(12 * 4), c: new Float32Array(5) }),
      /array 'c' is too short/,
    );
    assert.throws(
      () => ref.gemmBf16({ m: 2, n: 3, k: 4, a, w: new Uint16Array(11), c }),
      /too short/,
    );
  });
});

/**
 * A random cache [P, Hkv, capacity, Dh] with rows, keep mask and queries of H heads; for every
 * other seed a table of rows per position (slots) too. Hkv < H: grouped-query attention.
 */
function decodeCase(
  seed: number,
  R: number,
  P: number,
  H: number,
  Dh: number,
  cap: number,
  Hkv = H,
) {
  const rng = new Rng(seed);
  const length = rng.int(cap + 1);
  const keepStride = cap + (seed % 2);
  const slotStride = cap + (seed % 3);
  const slots =
    seed % 2 === 0 ? Int32Array.from({ length: R * slotStride }, () => rng.int(P)) : null;
  const keep = new Uint8Array(Math.max(P, R) * keepStride); // by physical row, or query row
  for (let i = 0; i < keep.length; i++) keep[i] = rng.uniform() < 0.8 ? 1 : 0;
  if (P > 1) keep.fill(0, keepStride, 2 * keepStride); // physical row 1 sees nothing
  // In a long cache, row 0 sees nothing before position 17 to 21 (a sentence that joined a
  // running batch): whole blocks of 16 positions masked, then kept ones.
  if (cap > 24) keep.fill(0, 0, 17 + (seed % 5));
  // And row 2 nothing from position 3 to 7 on (a short source among longer ones).
  if (cap > 24 && keep.length >= 3 * keepStride)
    keep.fill(0, 2 * keepStride + 3 + (seed % 5), 3 * keepStride);
  const args: DecodeAttentionArgs = {
    R,
    H,
    Dh,
    q: rand(rng, R * H * Dh),
    k: rand(rng, P * Hkv * cap * Dh),
    v: rand(rng, P * Hkv * cap * Dh),
    P,
    capacity: cap,
    length,
    rows: Int32Array.from({ length: R }, () => rng.int(P)),
    keep: seed % 3 === 0 ? null : keep,
    keepStride,
    slots,
    slotStride: slots ? slotStride : 0,
    scale: 1 / Math.sqrt(Dh),
    out: new Float32Array(R * H * Dh).fill(Number.NaN),
    ...(Hkv !== H ? { kvHeads: Hkv } : {}),
  };
  return args;
}

/**
 * What a decoding step's attention must give: fused attention (the reference backend) of each
 * query row over its keys and values gathered from the cache [R, H, L, Dh], its keep row as the
 * mask, and the step's bias row per head (when it has one) as a [R, H, 1, L] bias. With grouped
 * heads, query head h gathers kv head floor(h / (H / Hkv)) (transformers' repeat_kv).
 */
function fusedOverGatheredCache(a: DecodeAttentionArgs): Float32Array {
  const { R, H, Dh, length: L } = a;
  const Hkv = a.kvHeads ?? H;
  const k = new Float32Array(R * H * L * Dh);
  const v = new Float32Array(R * H * L * Dh);
  const attend = new Uint8Array(R * L);
  const bias = a.bias ? new Float32Array(R * H * L) : null;
  for (let r = 0; r < R; r++) {
    // The physical row of position j: the query row's, or the slot table's entry.
    const row = (j: number) => (a.slots ? a.slots[r * a.slotStride + j] : a.rows[r]);
    for (let h = 0; h < H; h++)
      for (let j = 0; j < L; j++) {
        if (bias && a.bias)
          bias[(r * H + h) * L + j] = a.bias[(a.biasOffset ?? 0) + h * (a.biasHeadStride ?? 0) + j];
        for (let e = 0; e < Dh; e++) {
          const from = ((row(j) * Hkv + Math.floor(h / (H / Hkv))) * a.capacity + j) * Dh + e;
          k[((r * H + h) * L + j) * Dh + e] = a.k[from];
          v[((r * H + h) * L + j) * Dh + e] = a.v[from];
        }
      }
    // keep by physical row, or with a slot table by query row.
    const kr = a.slots ? r : a.rows[r];
    for (let j = 0; j < L; j++) attend[r * L + j] = a.keep ? a.keep[kr * a.keepStride + j] : 1;
  }
  const out = new Float32Array(R * H * Dh);
  ref.attentionForward(
    {
      B: R,
      H,
      Tq: 1,
      Tk: L,
      Dh,
      q: a.q,
      k,
      v,
      attend,
      maskBatch: R,
      blocks: new Uint8Array(R * Math.ceil(L / 4)).fill(2),
      blockQ: 1,
      blockK: 4,
      scale: a.scale,
      skipBlocks: false,
      dropout: 0,
      seed: 0,
      ...(bias ? { bias, biasBatch: R } : {}),
    },
    out,
    new Float32Array(R * H),
  );
  return out;
}

/**
 * The native decodeAttention of `a` on every ISA this CPU runs (the AVX-512 and AVX2 kernels
 * and the scalar loop) writes `want` within 2e-6, NaN where it is NaN.
 */
function nativeLikeReference(a: DecodeAttentionArgs, want: Float32Array, what: string): void {
  for (const isa of isas()) {
    a.out.fill(0.5);
    onIsa(isa, () => nat().decodeAttention(a));
    for (let i = 0; i < a.out.length; i++) {
      const [g, w] = [a.out[i], want[i]];
      assert.ok(
        Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) < 2e-6,
        `${isa} ${what} length ${a.length} [${i}]: ${g} vs ${w}`,
      );
    }
  }
}

describe("decode attention on a KV cache", () => {
  test("the reference equals fused attention over the gathered, masked cache", () => {
    for (let seed = 1; seed <= 12; seed++) {
      const a = decodeCase(seed, 3, 2, 2, 5, 7);
      decodeAttentionReference(a);
      const out = fusedOverGatheredCache(a);
      for (let i = 0; i < out.length; i++)
        assert.ok(
          Math.abs(a.out[i] - out[i]) < 1e-6,
          `seed ${seed} [${i}]: ${a.out[i]} vs ${out[i]}`,
        );
    }
  });

  test("grouped heads: the reference equals fused attention over repeated kv heads", () => {
    for (let seed = 1; seed <= 12; seed++) {
      for (const [H, Hkv] of [
        [4, 2],
        [4, 1],
        [6, 3],
      ]) {
        const a = decodeCase(seed, 3, 2, H, 5, 7, Hkv);
        decodeAttentionReference(a);
        const out = fusedOverGatheredCache(a);
        for (let i = 0; i < out.length; i++)
          assert.ok(
            Math.abs(a.out[i] - out[i]) < 1e-6,
            `seed ${seed} H ${H} Hkv ${Hkv} [${i}]: ${a.out[i]} vs ${out[i]}`,
          );
      }
    }
  });

  test("native equals the reference (row maps, slot tables, padding, empty rows, SIMD tails)", {
    skip,
  }, () => {
    let seed = 100;
    // The last entry of a case is Hkv (grouped-query attention; multi-query with 1).
    for (const [R, P, H, Dh, cap, Hkv] of [
      [1, 1, 4, 64, 40, 4],
      [5, 5, 4, 64, 33, 4],
      [5, 2, 3, 17, 9, 3],
      [2, 3, 1, 1, 4, 1],
      [4, 4, 2, 40, 1, 2],
      [3, 2, 4, 8, 12, 2],
      [3, 3, 8, 17, 9, 1],
      [5, 2, 6, 64, 33, 3],
      // Heads of 16 to 128 (scores 16 positions at a time, one kernel per Dh / 16), and of 144
      // (one at a time).
      [3, 2, 2, 16, 19, 2],
      [4, 2, 4, 32, 18, 4],
      [2, 2, 2, 48, 17, 2],
      [2, 2, 2, 80, 20, 1],
      [2, 2, 2, 96, 9, 2],
      [2, 2, 2, 112, 33, 2],
      [3, 3, 2, 128, 21, 2],
      [2, 2, 2, 144, 5, 1],
    ]) {
      for (let t = 0; t < 4; t++) {
        const a = decodeCase(seed++, R, P, H, Dh, cap, Hkv);
        const want = { ...a, out: a.out.slice() };
        decodeAttentionReference(want);
        nativeLikeReference(a, want.out, `${[R, P, H, Dh, cap, Hkv]}`);
      }
    }
  });

  // Batched decoding's sizes: enough (row, kv head) pairs and positions that the native kernel
  // shares them among the pool's threads (from 2^15 multiply-adds in all, decode.cc), down to a
  // greedy step of 21 sentences on a short source.
  const BATCHED: readonly (readonly [number, number, number, number, number, number])[] = [
    [40, 40, 8, 64, 64, 8],
    [160, 32, 4, 64, 48, 4],
    [33, 7, 8, 17, 140, 2],
    [21, 21, 4, 64, 16, 4],
  ];

  test("a NaN or +Infinity score takes the exact path on every ISA: NaN where the reference has it", {
    skip,
  }, () => {
    let seed = 700;
    let poisoned = 0;
    for (const [R, P, H, Dh, cap] of [
      [3, 3, 4, 64, 40],
      [4, 2, 2, 17, 9],
      [2, 2, 2, 32, 20],
    ]) {
      for (let t = 0; t < 4; t++) {
        const a = decodeCase(seed++, R, P, H, Dh, cap);
        // kv head 0's keys: NaN at even positions (t even) or +Infinity at position 1 (t odd),
        // so that some heads mix a NaN or +Infinity score with finite ones.
        for (let pr = 0; pr < P; pr++)
          for (let j = 0; j < cap; j++) {
            const at = (pr * H * cap + j) * Dh;
            if (t % 2 === 0 && j % 2 === 0) a.k[at] = Number.NaN;
            if (t % 2 === 1 && j === 1) a.k.fill(Number.POSITIVE_INFINITY, at, at + Dh);
          }
        const want = { ...a, out: a.out.slice() };
        decodeAttentionReference(want);
        poisoned += want.out.filter(Number.isNaN).length;
        nativeLikeReference(a, want.out, `${[R, P, H, Dh, cap]}`);
      }
    }
    assert.ok(poisoned > 0, "some outputs are NaN in the reference");
  });

  test("batched sizes: the reference equals fused attention over the gathered cache", () => {
    let seed = 500;
    for (const [R, P, H, Dh, cap, Hkv] of BATCHED) {
      const a = decodeCase(seed++, R, P, H, Dh, cap, Hkv);
      decodeAttentionReference(a);
      const out = fusedOverGatheredCache(a);
      for (let i = 0; i < out.length; i++)
        assert.ok(Math.abs(a.out[i] - out[i]) < 1e-6, `${[R, P, H, Dh, cap, Hkv]} [${i}]`);
    }
  });

  test("batched sizes: native on 1 thread and on 2, 3, 4 gives the same bits, equal to the reference", {
    skip,
  }, () => {
    const addon = (loaded as { addon: NativeAddon }).addon;
    const threads = addon.threads();
    let seed = 600;
    let split = 0; // cases with work enough to be split
    try {
      for (const [R, P, H, Dh, cap, Hkv] of BATCHED) {
        for (let t = 0; t < 3; t++) {
          const a = decodeCase(seed++, R, P, H, Dh, cap, Hkv);
          if (2 * R * H * a.length * Dh >= 2 ** 15) split++;
          const want = { ...a, out: a.out.slice() };
          decodeAttentionReference(want);
          addon.setThreads(1);
          const one = { ...a, out: a.out.slice() };
          nat().decodeAttention(one);
          for (const n of [2, 3, 4]) {
            addon.setThreads(n);
            const many = { ...a, out: a.out.slice() };
            nat().decodeAttention(many);
            for (let i = 0; i < a.out.length; i++)
              assert.ok(
                Object.is(many.out[i], one.out[i]),
                `${[R, P, H, Dh, cap, Hkv]} ${n} threads [${i}]: ${many.out[i]} vs ${one.out[i]}`,
              );
          }
          for (let i = 0; i < a.out.length; i++)
            assert.ok(
              Math.abs(one.out[i] - want.out[i]) < 2e-6,
              `${[R, P, H, Dh, cap, Hkv]} length ${a.length} [${i}]: ${one.out[i]} vs ${want.out[i]}`,
            );
        }
      }
    } finally {
      addon.setThreads(threads);
    }
    assert.ok(split >= 9, `${split} of 12 cases large enough to be split`);
  });

  test("bad arguments throw, naming the argument, on both backends", () => {
    const backends = skip ? [ref] : [ref, nat()];
    for (const be of backends) {
      const a = decodeCase(7, 2, 2, 2, 4, 6);
      assert.throws(() => be.decodeAttention({ ...a, rows: Int32Array.of(0, 2) }), /rows\[1\]/);
      assert.throws(() => be.decodeAttention({ ...a, rows: Int32Array.of(-1, 0) }), /rows\[0\]/);
      assert.throws(
        () => be.decodeAttention({ ...a, length: 7 }),
        /length/,
        `${be.name}: length past capacity`,
      );
      const slots = new Int32Array(2 * 6);
      slots[6 + a.length - 1] = 2; // row 1's last position: past the 2 physical rows
      assert.throws(
        () => be.decodeAttention({ ...a, slots, slotStride: 6 }),
        new RegExp(`slots\\[${6 + a.length - 1}\\]`),
        `${be.name}: a slot outside the cache`,
      );
      assert.throws(
        () => be.decodeAttention({ ...a, slots, slotStride: a.length - 1 }),
        /slotStride/,
        `${be.name}: slotStride shorter than length`,
      );
      assert.throws(
        () => be.decodeAttention?.({ ...a, kvHeads: 3 }),
        /kvHeads/,
        `${be.name}: kv heads that do not divide the query heads`,
      );
    }
    if (skip) return;
    const addon = (loaded as { addon: NativeAddon }).addon;
    const a = decodeCase(8, 2, 2, 2, 4, 6);
    // The addon receives DecodeAttentionArgs's fields in the order native.ts declares: `extra`
    // edits the object as JavaScript could, past what the type allows.
    const spread = (b: Record<string, unknown>) => DECODE_ATTENTION_FIELDS.map((key) => b[key]);
    const raw = addon.decodeAttention as (...x: unknown[]) => void;
    const call =
      (over: Partial<DecodeAttentionArgs>, extra?: (args: Record<string, unknown>) => void) =>
      () => {
        const b: Record<string, unknown> = { ...a, ...over };
        extra?.(b);
        raw(...spread(b));
      };
    raw(...spread({ ...a }));
    const named = (fn: () => void, name: RegExp) =>
      assert.throws(
        fn,
        (e: unknown) =>
          e instanceof Error && /native decodeAttention/.test(e.message) && name.test(e.message),
      );
    named(call({ q: new Float32Array(3) }), /'q'/);
    named(call({ k: new Float32Array(10) }), /'k'/);
    named(call({ v: new Float32Array(a.v.length - 1) }), /'v'/);
    named(call({ out: new Float32Array(1) }), /'out'/);
    named(call({ keep: new Uint8Array(2) }), /'keep'/);
    named(call({ keepStride: 2, length: 5 }), /'keepStride'/);
    named(call({ rows: new Int32Array(1) }), /'rows'/);
    named(call({ slots: new Int32Array(3), slotStride: 6 }), /'slots'/);
    named(call({ slots: new Int32Array(12), slotStride: -1 }), /'slotStride'/);
    named(call({ scale: Number.NaN }), /'scale'/);
    named(call({ R: -1 }), /'R'/);
    named(call({ H: 1.5 }), /'H'/);
    named(
      call({}, (x) => {
        x.q = new Float64Array(100);
      }),
      /'q'/,
    );
    named(
      call({}, (x) => {
        delete x.slotStride;
      }),
      /'slotStride'/,
    );
    named(() => raw(...spread({ ...a }).slice(0, -1)), /expects 20 arguments/);
    // Nothing to compute (no rows, heads or head width): returns at once, whatever the length.
    const f = (n: number) => new Float32Array(n);
    const empty = {
      q: f(0),
      k: f(0),
      v: f(0),
      capacity: 1e15,
      length: 1e15,
      keep: null,
      keepStride: 0,
      scale: 1,
      out: f(0),
      slots: null,
      slotStride: 0,
    };
    raw(...spread({ ...empty, R: 0, H: 1, Dh: 1, P: 0, rows: new Int32Array(0) }));
    raw(...spread({ ...empty, R: 1, H: 1, Dh: 0, P: 1, rows: Int32Array.of(0) }));
    addon.decodeLogSoftmax(f(0), 1e15, 0);
  });
});

describe("log-softmax of next-token logits", { skip }, () => {
  test("native equals the reference on every ISA (tails, -Infinity entries, large and tiny spreads)", () => {
    for (const isa of isas()) onIsa(isa, () => rowsLikeReference(isa));
  });

  function rowsLikeReference(isa: string): void {
    const rng = new Rng(21);
    for (const [rows, cols, spread] of [
      [1, 8000, 10],
      [5, 8000, 3],
      [3, 17, 100],
      [2, 1, 1],
      [4, 33, 1e-3],
    ]) {
      const x = new Float32Array(rows * cols);
      for (let i = 0; i < x.length; i++) x[i] = rng.normal() * spread + 5;
      if (cols > 4) x[3] = Number.NEGATIVE_INFINITY;
      const want = x.slice();
      const got = x.slice();
      ref.decodeLogSoftmax({ x: want, rows, cols });
      nat().decodeLogSoftmax({ x: got, rows, cols });
      for (let i = 0; i < x.length; i++) {
        if (want[i] === Number.NEGATIVE_INFINITY) {
          assert.equal(got[i], want[i]);
          continue;
        }
        assert.ok(
          Math.abs(got[i] - want[i]) < 2e-5,
          `${isa} ${[rows, cols, spread]} [${i}]: ${got[i]} vs ${want[i]}`,
        );
      }
      // Each row's probabilities sum to 1.
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let j = 0; j < cols; j++) s += Math.exp(got[r * cols + j]);
        assert.ok(Math.abs(s - 1) < 1e-5, `${isa} row ${r} sums to ${s}`);
      }
    }
  }

  test("a NaN poisons its row only; bad arguments throw", () => {
    const x = Float32Array.of(1, Number.NaN, 2, 1, 2, 3);
    nat().decodeLogSoftmax({ x, rows: 2, cols: 3 });
    assert.ok(Number.isNaN(x[0]) && Number.isNaN(x[2]));
    assert.ok(Math.abs(x[5] - (3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)))) < 1e-6);
    // A NaN past the first 16 lanes and in a row's tail, and a +Infinity: as the reference.
    for (const [at, v] of [
      [20, Number.NaN],
      [37, Number.NaN],
      [5, Number.POSITIVE_INFINITY],
    ] as const) {
      const y = Float32Array.from({ length: 2 * 19 }, (_, i) => Math.sin(i));
      y[at] = v;
      const want = y.slice();
      ref.decodeLogSoftmax({ x: want, rows: 2, cols: 19 });
      nat().decodeLogSoftmax({ x: y, rows: 2, cols: 19 });
      for (let i = 0; i < y.length; i++) {
        if (Number.isNaN(want[i])) assert.ok(Number.isNaN(y[i]), `${at}: [${i}] ${y[i]}`);
        else assert.ok(Math.abs(y[i] - want[i]) < 1e-6, `${at}: [${i}] ${y[i]} vs ${want[i]}`);
      }
    }
    const addon = (loaded as { addon: NativeAddon }).addon as unknown as Record<
      string,
      (...a: unknown[]) => void
    >;
    assert.throws(
      () => addon.decodeLogSoftmax(new Float32Array(5), 2, 3),
      /native decodeLogSoftmax: array 'x'/,
    );
    assert.throws(() => addon.decodeLogSoftmax(new Float64Array(6), 2, 3), /'x'/);
    assert.throws(() => addon.decodeLogSoftmax(new Float32Array(6), -2, 3), /'rows'/);
    assert.throws(() => addon.decodeLogSoftmax(new Float32Array(6), 2), /3 arguments/);
  });
});

describe("beam candidate selection", () => {
  /** All candidates sorted by (score desc, token asc, hypothesis asc): the definition. */
  function bySort(lp: Float32Array, V: number, rows: Int32Array, base: Float64Array, M: number) {
    const all: [number, number, number][] = [];
    rows.forEach((r, h) => {
      for (let j = 0; j < V; j++) {
        const l = lp[r * V + j];
        if (l > Number.NEGATIVE_INFINITY) all.push([base[h] + l, j, h]);
      }
    });
    all.sort((a, b) => b[0] - a[0] || a[1] - b[1] || a[2] - b[2]);
    return all.slice(0, M);
  }

  /** The reference, and the native backend on every ISA this CPU runs. */
  const backends = (): { be: Backend; isa: string }[] =>
    skip
      ? [{ be: ref, isa: "" }]
      : [{ be: ref, isa: "" }, ...isas().map((isa) => ({ be: nat(), isa }))];

  /** Every backend's selection equals bySort's; `what` names the case in messages. */
  function checkTopK(
    lp: Float32Array,
    V: number,
    rows: Int32Array,
    base: Float64Array,
    M: number,
    what: string,
  ) {
    const want = bySort(lp, V, rows, base, M);
    for (const { be, isa } of backends()) {
      const hyp = new Int32Array(M);
      const token = new Int32Array(M);
      const score = new Float64Array(M);
      const counts = new Int32Array(1);
      const offsets = Int32Array.of(0, rows.length);
      const select = () =>
        be.decodeTopKGroups({ lp, V, rows, base, offsets, M, hyp, token, score, counts });
      if (isa) onIsa(isa, select);
      else select();
      const n = counts[0];
      const who = `${be.name} ${isa}`;
      assert.equal(n, want.length, `${who} ${what}: count`);
      want.forEach(([s, j, h], c) => {
        assert.deepEqual([score[c], token[c], hyp[c]], [s, j, h], `${who} ${what} #${c}`);
      });
    }
  }

  test("the best M by summed log-prob, ties to the lower token then the earlier hypothesis", () => {
    const rng = new Rng(31);
    for (const [nRows, V, M] of [
      [5, 8000, 10],
      [3, 7, 4],
      [2, 3, 10],
      [1, 50, 1],
    ]) {
      // Coarse values so that ties happen; some entries banned.
      const lp = new Float32Array(nRows * V);
      for (let i = 0; i < lp.length; i++)
        lp[i] = rng.uniform() < 0.1 ? Number.NEGATIVE_INFINITY : -Math.round(rng.uniform() * 8) / 4;
      const rows = Int32Array.from({ length: nRows + 1 }, (_, h) => (h * 2) % nRows);
      const base = Float64Array.from(rows, () => -Math.round(rng.uniform() * 4) / 4);
      checkTopK(lp, V, rows, base, M, `${[nRows, V, M]}`);
    }
  });

  test("NaN is never a candidate, +Infinity always is, a -Infinity hypothesis comes last", () => {
    const rng = new Rng(32);
    const nRows = 3;
    const V = 1003;
    const lp = Float32Array.from({ length: nRows * V }, () => -rng.uniform() * 10);
    for (const i of [5, 17, 1002, 1500, 2999]) lp[i] = Number.NaN;
    lp[40] = Number.POSITIVE_INFINITY;
    lp[2 * V + 7] = Number.POSITIVE_INFINITY;
    const rows = Int32Array.of(0, 1, 2);
    for (const base of [
      Float64Array.of(-1, -0.5, -2),
      Float64Array.of(-1, Number.NEGATIVE_INFINITY, -2),
    ]) {
      for (const M of [3, 10]) checkTopK(lp, V, rows, base, M, `base ${base[1]}, M ${M}`);
    }
  });

  test("groups in one call: each group's selection, on 1 to 4 threads (batched beam sizes)", () => {
    const rng = new Rng(33);
    const threads = skip ? 1 : (loaded as { addon: NativeAddon }).addon.threads();
    try {
      for (const [sizes, V, M] of [
        [
          [
            5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,
            5, 5, 5,
          ],
          8000,
          10,
        ],
        [[1, 3, 0, 2, 5], 257, 4],
        [Array.from({ length: 40 }, () => 1), 3000, 1],
        [[], 10, 2],
      ] as [number[], number, number][]) {
        const n = sizes.reduce((a, b) => a + b, 0);
        const lp = new Float32Array(Math.max(1, n) * V);
        for (let i = 0; i < lp.length; i++)
          lp[i] =
            rng.uniform() < 0.05 ? Number.NEGATIVE_INFINITY : -Math.round(rng.uniform() * 40) / 4;
        // Hypotheses read rows out of order, as after a beam reorder.
        const rows = Int32Array.from({ length: n }, (_, h) => (h * 7) % n);
        const base = Float64Array.from(rows, () => -Math.round(rng.uniform() * 8) / 4);
        const offsets = Int32Array.from({ length: sizes.length + 1 }, (_, g) =>
          sizes.slice(0, g).reduce((a, b) => a + b, 0),
        );
        const G = sizes.length;
        for (const { be } of backends()) {
          for (const t of be.name === "native" ? [1, 2, 3, 4] : [1]) {
            if (be.name === "native") (loaded as { addon: NativeAddon }).addon.setThreads(t);
            const hyp = new Int32Array(G * M).fill(-1);
            const token = new Int32Array(G * M).fill(-1);
            const score = new Float64Array(G * M);
            const counts = new Int32Array(G).fill(-1);
            be.decodeTopKGroups({ lp, V, rows, base, offsets, M, hyp, token, score, counts });
            for (let g = 0; g < G; g++) {
              const lo = offsets[g];
              const hi = offsets[g + 1];
              const want = bySort(lp, V, rows.subarray(lo, hi), base.subarray(lo, hi), M);
              const what = `${be.name} ${t} threads, ${G} groups, V ${V}, group ${g}`;
              assert.equal(counts[g], want.length, `${what}: count`);
              want.forEach(([sc, j, h], c) => {
                assert.deepEqual(
                  [score[g * M + c], token[g * M + c], hyp[g * M + c]],
                  [sc, j, h],
                  `${what} #${c}`,
                );
              });
            }
          }
        }
      }
    } finally {
      if (!skip) (loaded as { addon: NativeAddon }).addon.setThreads(threads);
    }
  });

  test("groups: offsets that do not rise from 0 to the rows given throw on both backends", () => {
    const lp = new Float32Array(6);
    const args = (offsets: Int32Array) => ({
      lp,
      V: 3,
      rows: Int32Array.of(0, 1),
      base: Float64Array.of(0, 0),
      offsets,
      M: 2,
      hyp: new Int32Array(4),
      token: new Int32Array(4),
      score: new Float64Array(4),
      counts: new Int32Array(2),
    });
    for (const { be } of backends()) {
      for (const [offsets, re] of [
        [Int32Array.of(1, 2), /start at 0|rise from 0/],
        [Int32Array.of(0, 2, 1), /below|rise from 0/],
        [Int32Array.of(0, 1), /not the 2 rows|rise from 0/],
        [new Int32Array(0), /at least one|rise from 0/],
      ] as const)
        assert.throws(() => be.decodeTopKGroups(args(offsets)), re, `${be.name} ${offsets}`);
      // Outputs too short for G * M.
      assert.throws(() =>
        be.decodeTopKGroups({ ...args(Int32Array.of(0, 1, 2)), token: new Int32Array(3) }),
      );
    }
  });

  test("bad arguments throw", { skip }, () => {
    const addon = (loaded as { addon: NativeAddon }).addon as unknown as Record<
      string,
      (...a: unknown[]) => unknown
    >;
    const lp = new Float32Array(6);
    const out = () => [
      new Int32Array(2),
      new Int32Array(2),
      new Float64Array(2),
      new Int32Array(1),
    ];
    // The fields of a DecodeTopKGroupsArgs in native.ts's order: lp, V, rows, base, offsets, M,
    // hyp, token, score, counts (one group of two hypotheses).
    const ok: unknown[] = [
      lp,
      3,
      Int32Array.of(0, 1),
      Float64Array.of(0, 0),
      Int32Array.of(0, 2),
      2,
      ...out(),
    ];
    addon.decodeTopKGroups(...ok);
    assert.equal((ok[9] as Int32Array)[0], 2);
    const bad = (i: number, v: unknown, re: RegExp) => {
      const args = [...ok];
      args[i] = v;
      assert.throws(() => addon.decodeTopKGroups(...args), re);
    };
    bad(0, new Float64Array(6), /'lp'/);
    // lp holds lp.length / V rows: one here, and row 1 is asked for.
    bad(0, new Float32Array(5), /rows\[1\] = 1 is outside the 1 rows of lp/);
    bad(2, Int32Array.of(0, 2), /rows\[1\]/);
    bad(3, new Float64Array(1), /'base'/);
    bad(5, 3, /'hyp'/);
    bad(8, new Float32Array(2), /'score'/);
    bad(1, -1, /'V'/);
    assert.throws(() => addon.decodeTopKGroups(lp, 3), /expects 10 arguments/);
  });
});

/**
 * decodeCase with a position bias: one vector per head by distance (the layout of
 * src/attention/position-bias.ts) read at the offset of the query at position length - 1, with
 * a few -Infinity entries and room on both sides of what the step reads.
 */
function biasedCase(seed: number, R: number, P: number, H: number, Dh: number, cap: number) {
  const a = decodeCase(seed, R, P, H, Dh, cap);
  const rng = new Rng(seed + 1000);
  const headStride = 2 * cap + 3;
  const bias = rand(rng, H * headStride).map((x) => 3 * x);
  for (let n = 0; n < 2; n++) bias[rng.int(bias.length)] = Number.NEGATIVE_INFINITY;
  // The query at position length - 1 reads distances -(length - 1)..0 at offset cap - length.
  const biasOffset = Math.max(0, cap - a.length + 1);
  return { ...a, bias, biasOffset, biasHeadStride: headStride };
}

describe("decode attention with a position bias", () => {
  test("the reference equals fused attention over the gathered cache with the bias rows", () => {
    let changed = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const a = biasedCase(seed, 3, 2, 2, 5, 7);
      decodeAttentionReference(a);
      const out = fusedOverGatheredCache(a);
      for (let i = 0; i < out.length; i++)
        assert.ok(
          Math.abs(a.out[i] - out[i]) < 1e-6,
          `seed ${seed} [${i}]: ${a.out[i]} vs ${out[i]}`,
        );
      const plain = { ...a, bias: null, out: new Float32Array(a.out.length) };
      decodeAttentionReference(plain);
      if (plain.out.some((x, i) => Math.abs(x - a.out[i]) > 1e-4)) changed++;
    }
    // The bias changes most results (rows with one key kept or none are the same either way):
    // the comparison is not of two unbiased kernels.
    assert.ok(changed >= 6, `the bias changed ${changed} of 12 cases`);
  });

  test("native equals the reference (row maps, slot tables, -Infinity entries, SIMD tails)", {
    skip,
  }, () => {
    let seed = 300;
    for (const [R, P, H, Dh, cap] of [
      [1, 1, 4, 64, 40],
      [5, 5, 4, 64, 33],
      [5, 2, 3, 17, 9],
      [2, 3, 1, 1, 4],
    ]) {
      for (let t = 0; t < 4; t++) {
        const a = biasedCase(seed++, R, P, H, Dh, cap);
        const want = { ...a, out: a.out.slice() };
        decodeAttentionReference(want);
        nativeLikeReference(a, want.out, `${[R, P, H, Dh, cap]}`);
      }
    }
  });

  test("a bias too short for its offset and head stride throws on both backends", () => {
    const backends = skip ? [ref] : [ref, nat()];
    for (const be of backends) {
      let a = biasedCase(5, 2, 2, 2, 4, 6);
      for (let s = 6; a.length === 0; s++) a = biasedCase(s, 2, 2, 2, 4, 6);
      const last = a.biasOffset + a.biasHeadStride + a.length; // head 1's last read, plus one
      be.decodeAttention({ ...a, bias: a.bias.subarray(0, last) });
      assert.throws(
        () => be.decodeAttention({ ...a, bias: a.bias.subarray(0, last - 1) }),
        /bias/,
        `${be.name}: one value short`,
      );
      assert.throws(
        () => be.decodeAttention({ ...a, biasOffset: -1 }),
        /biasOffset/,
        `${be.name}: a negative offset`,
      );
    }
  });
});
