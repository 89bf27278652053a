// The KV-cache append kernel (CacheWriteArgs): token-major source rows, possibly inside wider
// rows at an offset (a fused projection's output), copied into head-major cache storage
// [P, H, capacity, Dh] at positions t0..t0 + T - 1. The reference against the definition written
// out per destination element, native against the reference bit for bit, and every bad argument
// refused on both backends before anything is written.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FIELD_ORDERS, NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import type { Backend, CacheWriteArgs } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
const ref: Backend = new ReferenceBackend();
const backends = (): Backend[] => {
  if ("error" in loaded) {
    if (skip) return [ref];
    throw new Error(loaded.error);
  }
  return [ref, new NativeBackend(loaded.addon)];
};

function rand(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.uniform() - 1;
  return a;
}

/**
 * A call with room around what it touches: source rows wider than H * Dh at offsets, cache
 * storage with more physical rows than B and positions on both sides of t0..t0 + T - 1, and
 * the cache filled with values no source holds (so an element written where it should not be,
 * or not written, shows).
 */
function writeCase(
  seed: number,
  [B, T, H, Dh]: readonly number[],
  { pad = 0, t0 = 0, spare = 0, extraRows = 0, values = true } = {},
): CacheWriteArgs {
  const rng = new Rng(seed);
  const width = H * Dh;
  const srcStride = width + pad;
  // Keys and values of one array, as a fused projection [B * T, srcStride] holds them, or two.
  const kOffset = 1 + rng.int(3);
  const vOffset = kOffset + width + rng.int(2);
  const src = rand(rng, vOffset + B * T * srcStride + rng.int(3));
  const capacity = t0 + T + spare;
  const P = B + extraRows;
  const cache = () => Float32Array.from({ length: P * H * capacity * Dh }, (_, i) => 100 + i);
  return {
    B,
    T,
    H,
    Dh,
    k: src,
    kOffset,
    v: values ? (seed % 2 ? src : src.slice()) : null,
    vOffset,
    srcStride,
    kCache: cache(),
    vCache: values ? cache() : null,
    capacity,
    t0,
  };
}

/** A copy of the call's arrays, so that each backend writes its own. */
function fresh(a: CacheWriteArgs): CacheWriteArgs {
  const v = a.v === a.k ? null : a.v;
  const k = a.k.slice();
  return {
    ...a,
    k,
    v: a.v === null ? null : (v?.slice() ?? k),
    kCache: a.kCache.slice(),
    vCache: a.vCache?.slice() ?? null,
  };
}

/** What the cache must hold after the call, each destination element by its own index. */
function expected(a: CacheWriteArgs, src: Float32Array, offset: number, before: Float32Array) {
  const { B, T, H, Dh, capacity, t0, srcStride } = a;
  return before.map((x, i) => {
    const e = i % Dh;
    const t = Math.floor(i / Dh) % capacity;
    const h = Math.floor(i / (Dh * capacity)) % H;
    const b = Math.floor(i / (Dh * capacity * H));
    if (b >= B || t < t0 || t >= t0 + T) return x;
    return src[offset + (b * T + (t - t0)) * srcStride + h * Dh + e];
  });
}

/** [B, T, H, Dh] shapes: single elements, one step of many rows, prompts (T > 1). */
const SHAPES = [
  [1, 1, 1, 1],
  [3, 1, 2, 5],
  [2, 4, 3, 8],
  [5, 3, 4, 16],
  [7, 1, 4, 64],
  [1, 9, 1, 3],
] as const;

describe("the KV-cache append", () => {
  test("the reference writes each row's heads at their positions, and nothing else", () => {
    let seed = 1;
    for (const shape of SHAPES)
      for (const opts of [
        {},
        { pad: 3, t0: 2, spare: 1 },
        { pad: 2 * shape[2] * shape[3], t0: 5, extraRows: 2 },
      ]) {
        const a = writeCase(seed++, shape, opts);
        const k0 = a.kCache.slice();
        const v0 = a.vCache?.slice() ?? new Float32Array(0);
        ref.cacheWrite(a);
        const what = `${shape} ${JSON.stringify(opts)}`;
        assert.deepEqual(a.kCache, expected(a, a.k, a.kOffset, k0), `${what}: keys`);
        assert.deepEqual(a.vCache, expected(a, a.v ?? a.k, a.vOffset, v0), `${what}: values`);
      }
  });

  test("keys only: v and vCache null", () => {
    for (const be of backends()) {
      const a = writeCase(40, [3, 2, 2, 4], { pad: 1, t0: 3, values: false });
      const k0 = a.kCache.slice();
      be.cacheWrite(a);
      assert.deepEqual(a.kCache, expected(a, a.k, a.kOffset, k0), be.name);
    }
  });

  test("a fused projection's rows [B, 3 * H * Dh]: keys at H * Dh, values at 2 * H * Dh", () => {
    const [B, H, Dh] = [6, 4, 8];
    const width = H * Dh;
    const qkv = rand(new Rng(50), B * 3 * width);
    // The keys and values as separate token-major arrays [B, H * Dh], the plain append.
    const part = (at: number) =>
      Float32Array.from(
        { length: B * width },
        (_, i) => qkv[Math.floor(i / width) * 3 * width + at + (i % width)],
      );
    const capacity = 5;
    const base = {
      B,
      T: 1,
      H,
      Dh,
      capacity,
      t0: 2,
    };
    for (const be of backends()) {
      const fused = {
        ...base,
        k: qkv,
        kOffset: width,
        v: qkv,
        vOffset: 2 * width,
        srcStride: 3 * width,
        kCache: new Float32Array(B * H * capacity * Dh),
        vCache: new Float32Array(B * H * capacity * Dh),
      };
      const plain = {
        ...base,
        k: part(width),
        kOffset: 0,
        v: part(2 * width),
        vOffset: 0,
        srcStride: width,
        kCache: new Float32Array(B * H * capacity * Dh),
        vCache: new Float32Array(B * H * capacity * Dh),
      };
      be.cacheWrite(fused);
      be.cacheWrite(plain);
      assert.deepEqual(fused.kCache, plain.kCache, `${be.name}: keys`);
      assert.deepEqual(fused.vCache, plain.vCache, `${be.name}: values`);
      assert.notDeepEqual(fused.kCache, fused.vCache);
    }
  });

  test("native equals the reference bit for bit (strides, offsets, T > 1, t0 > 0, P > B)", {
    skip,
  }, () => {
    const [, nat] = backends();
    const rng = new Rng(60);
    for (let n = 0; n < 40; n++) {
      const shape = [1 + rng.int(9), 1 + rng.int(4), 1 + rng.int(5), 1 + rng.int(70)];
      const a = writeCase(100 + n, shape, {
        pad: rng.int(2) * rng.int(2 * shape[2] * shape[3] + 1),
        t0: rng.int(6),
        spare: rng.int(3),
        extraRows: rng.int(2),
        values: n % 5 !== 0,
      });
      const want = fresh(a);
      const got = fresh(a);
      ref.cacheWrite(want);
      nat.cacheWrite(got);
      assert.deepEqual(got.kCache, want.kCache, `${shape}: keys`);
      assert.deepEqual(got.vCache, want.vCache, `${shape}: values`);
    }
  });

  test("bad arguments throw on both backends and leave the cache as it was", () => {
    const ok = writeCase(70, [3, 2, 2, 4], { pad: 2, t0: 1 });
    const { B, T, H, Dh, capacity } = ok;
    const last = ok.vOffset + (B * T - 1) * ok.srcStride + H * Dh;
    const bad: [Partial<CacheWriteArgs> | ((a: CacheWriteArgs) => CacheWriteArgs), RegExp][] = [
      // Sources too short for the last row read.
      [{ k: ok.k.subarray(0, ok.kOffset + (B * T - 1) * ok.srcStride + H * Dh - 1) }, /'k'/],
      [{ v: ok.k.subarray(0, last - 1) }, /'v'/],
      [{ kOffset: ok.k.length - H * Dh }, /'k'/],
      [{ vOffset: ok.vOffset + 3 }, /'v'/],
      // A stride narrower than a row's heads.
      [{ srcStride: H * Dh - 1 }, /srcStride/],
      // Positions past the capacity, or a cache too short for its capacity.
      [{ t0: capacity - T + 1 }, /capacity/],
      [{ kCache: ok.kCache.subarray(1) }, /'kCache'/],
      [{ vCache: new Float32Array(B * H * capacity * Dh - 1) }, /'vCache'/],
      [{ capacity: capacity + 1 }, /'kCache'/],
      [{ B: B + 1 }, /'k'|'kCache'/],
      // One of the values pair without the other.
      [{ v: null }, /both/],
      [{ vCache: null }, /both/],
      // Not sizes.
      [{ B: -1 }, /'B'/],
      [{ Dh: 1.5 }, /'Dh'/],
      [{ kOffset: -1 }, /'kOffset'/],
      [{ t0: Number.NaN }, /'t0'/],
      // A source inside its destination.
      [(a) => ({ ...a, k: a.kCache, kOffset: 0 }), /overlaps/],
      [(a) => ({ ...a, v: a.kCache.subarray(3), vOffset: 0 }), /overlaps/],
    ];
    for (const be of backends()) {
      for (const [change, re] of bad) {
        const a = fresh(ok);
        const args = typeof change === "function" ? change(a) : { ...a, ...change };
        const k0 = a.kCache.slice();
        const v0 = a.vCache?.slice();
        assert.throws(() => be.cacheWrite(args), re, `${be.name}: ${String(re)}`);
        assert.deepEqual(a.kCache, k0, `${be.name} ${String(re)}: keys untouched`);
        assert.deepEqual(a.vCache, v0, `${be.name} ${String(re)}: values untouched`);
      }
      // Nothing to copy: the offsets and the source bound nothing; the cache still must fit.
      be.cacheWrite({ ...fresh(ok), T: 0, t0: capacity, k: new Float32Array(0), kOffset: 9 });
      be.cacheWrite({ ...fresh(ok), Dh: 0, srcStride: 0 });
    }
    if (skip) return;
    // The addon directly: its one-line errors name the kernel and the argument.
    const addon = (loaded as { addon: unknown }).addon as Record<
      string,
      (...x: unknown[]) => unknown
    >;
    const spread = (b: Record<string, unknown>) => FIELD_ORDERS.cacheWrite.map((key) => b[key]);
    const a = fresh(ok) as unknown as Record<string, unknown>;
    addon.cacheWrite(...spread(a));
    assert.throws(
      () => addon.cacheWrite(...spread({ ...a, k: new Float64Array(100) })),
      /^Error: native cacheWrite: argument 'k' must be a Float32Array, got a Float64Array$/,
    );
    assert.throws(
      () => addon.cacheWrite(...spread({ ...a, kCache: new Float32Array(3) })),
      /^Error: native cacheWrite: array 'kCache' is too short: the sizes need \d+ elements, it has 3$/,
    );
    assert.throws(() => addon.cacheWrite(...spread(a).slice(1)), /expects 13 arguments/);
  });
});
