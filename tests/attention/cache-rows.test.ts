// The KV cache's appends on each backend's cacheWrite: keys and values read from inside wider
// rows (a fused projection's output [B * T, (H + 2 Hkv) * Dh], one array for both) hold what
// the plain append of the same keys and values holds, through reorders, slot tables and growth;
// keys and values land in their own storage; rows that do not fit are refused before anything
// changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AttentionCache, cachedHeads } from "../../src/attention/cache.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

const H = 2;
const Dh = 5;
const Q = 4; // query heads in the fused rows, ahead of the keys
const width = H * Dh;
const stride = (Q + 2 * H) * Dh;

/** Fused rows [B * T, stride]: queries, keys, values, each row random. */
function fusedRows(rng: Rng, B: number, T: number): Float32Array {
  return Float32Array.from({ length: B * T * stride }, () => rng.normal());
}

/** The keys (at) or values of fused rows as the plain append takes them, [B, T, H * Dh]. */
function part(rows: Float32Array, at: number): Float32Array {
  const n = rows.length / stride;
  const out = new Float32Array(n * width);
  for (let r = 0; r < n; r++)
    out.set(rows.subarray(r * stride + at, r * stride + at + width), r * width);
  return out;
}

forEachBackend("cache appends from wider rows", () => {
  test("appendRows from fused rows holds what append of the parts holds, reorders included", () => {
    const rng = new Rng(9);
    const fused = new AttentionCache();
    const plain = new AttentionCache();
    const kAt = Q * Dh;
    const vAt = (Q + H) * Dh;
    const step = (B: number, T: number) => {
      const rows = fusedRows(rng, B, T);
      fused.appendRows(rows, kAt, rows, vAt, stride, B, T, H, Dh);
      plain.append(part(rows, kAt), part(rows, vAt), B, T, H, Dh);
    };
    const same = (what: string) => {
      assert.equal(fused.length, plain.length, what);
      for (const which of ["k", "v"] as const)
        assert.deepEqual(
          cachedHeads(fused.view(), which).f32,
          cachedHeads(plain.view(), which).f32,
          `${what}: ${which}`,
        );
    };
    step(3, 4);
    same("a prompt");
    // Beam search's reorders (repeats, drops, more rows than stored) past the initial capacity.
    const keeps = [
      [0, 0, 1, 2],
      [3, 1, 0],
      [2, 2, 1, 0, 0],
    ];
    for (const keep of [...keeps, ...keeps, ...keeps, ...keeps, ...keeps]) {
      fused.reorder(keep);
      plain.reorder(keep);
      step(keep.length, 1);
      same(`after ${keep}`);
    }
    assert.ok(fused.view().slots && fused.view().capacity > 16);
  });

  test("keys and values go to their own storage, at the positions appended", () => {
    const c = new AttentionCache();
    // Keys 1.., values -1.. for [B = 2, T = 3, H * Dh].
    const n = 2 * 3 * width;
    const k = Float32Array.from({ length: n }, (_, i) => i + 1);
    const v = k.map((x) => -x);
    c.append(k, v, 2, 3, H, Dh);
    const view = c.view();
    for (let b = 0; b < 2; b++)
      for (let t = 0; t < 3; t++)
        for (let h = 0; h < H; h++)
          for (let e = 0; e < Dh; e++) {
            const at = ((b * H + h) * view.capacity + t) * Dh + e;
            const want = ((b * 3 + t) * H + h) * Dh + e + 1;
            assert.equal(view.k[at], want);
            assert.equal(view.v[at], -want);
          }
  });

  test("rows that do not fit are refused, and the cache stays as it was", () => {
    const c = new AttentionCache();
    const rows = fusedRows(new Rng(3), 2, 1);
    c.appendRows(rows, Q * Dh, rows, (Q + H) * Dh, stride, 2, 1, H, Dh);
    const before = cachedHeads(c.view(), "k").f32;
    const tries: [number, number, number][] = [
      [Q * Dh, stride, stride], // values' last row past the array
      [-1, 0, stride],
      [0, 0, width - 1], // a stride narrower than the heads
      [0.5, 0, stride],
    ];
    for (const [kOffset, vOffset, s] of tries)
      assert.throws(
        () => c.appendRows(rows, kOffset, rows, vOffset, s, 2, 1, H, Dh),
        /do not fit/,
        `${[kOffset, vOffset, s]}`,
      );
    assert.equal(c.length, 1);
    assert.deepEqual(cachedHeads(c.view(), "k").f32, before);
  });
});

forEachBackend("cache rows reserved ahead", () => {
  test("a cache with beam rows reserved holds what one that adds them holds, step for step", () => {
    const rng = new Rng(10);
    const ahead = new AttentionCache();
    const later = new AttentionCache();
    // 3 sentences x beam 4: the rows the search will hold, reserved before the first append.
    ahead.reserve(12, 12);
    later.reserve(12);
    const step = (B: number) => {
      const k = Float32Array.from({ length: B * width }, () => rng.normal());
      const v = Float32Array.from({ length: B * width }, () => rng.normal());
      ahead.append(k, v, B, 1, H, Dh);
      later.append(k, v, B, 1, H, Dh);
      assert.equal(ahead.view().P, 12, "the reserved rows are the storage from the first step");
      for (const which of ["k", "v"] as const)
        assert.deepEqual(
          cachedHeads(ahead.view(), which).f32,
          cachedHeads(later.view(), which).f32,
          `step ${ahead.length}: ${which}`,
        );
    };
    step(3);
    for (const keep of [
      [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2],
      [3, 1, 0, 0, 5, 6, 7, 4, 8, 8, 9, 10],
      [0, 1, 2, 3, 8, 9, 10, 11],
      [7, 6, 5, 4, 3],
    ]) {
      ahead.reorder(keep);
      later.reorder(keep);
      step(keep.length);
    }
  });
});
