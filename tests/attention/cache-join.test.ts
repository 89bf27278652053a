// The KV cache's rows for continuous batching (sentences joining a running batch), on each
// backend's cacheWrite: a self-attention cache's added rows read nothing of their own below the
// length and then write their own positions, while the other rows keep theirs; a cross-attention
// cache's joining rows take the physical rows no batch row reads, grow the storage when longer,
// and leave every kept row as it was; dropping the front positions moves the rest to the front,
// slot table included. Each against a cache that held the same rows from the start.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AttentionCache, type CacheView, cachedHeads } from "../../src/attention/cache.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

const H = 2;
const Dh = 3;
const width = H * Dh;

function random(rng: Rng, B: number, T: number): Float32Array {
  return Float32Array.from({ length: B * T * width }, () => rng.normal());
}

/** Keys (or values) of batch row b at positions from..to-1: [H, to - from, Dh] flattened. */
function rowOf(view: CacheView, which: "k" | "v", b: number, from: number, to: number): number[] {
  const all = cachedHeads(view, which).f32;
  const len = view.length;
  const out: number[] = [];
  for (let h = 0; h < H; h++)
    for (let j = from; j < to; j++) {
      const at = ((b * H + h) * len + j) * Dh;
      out.push(...all.subarray(at, at + Dh));
    }
  return out;
}

/** The keys the append of x [B, T, width] gave batch row b: [H, T, Dh] flattened. */
function appended(x: Float32Array, b: number, T: number): number[] {
  const out: number[] = [];
  for (let h = 0; h < H; h++)
    for (let t = 0; t < T; t++) {
      const at = (b * T + t) * width + h * Dh;
      out.push(...x.subarray(at, at + Dh));
    }
  return out;
}

forEachBackend("cache rows joining a running batch", () => {
  test("self-attention: added rows write their own positions; the others keep theirs", () => {
    const rng = new Rng(3);
    const cache = new AttentionCache();
    const steps: Float32Array[][] = [[], [], [], [], []]; // keys appended per batch row
    const append = (rows: number[]) => {
      const k = random(rng, rows.length, 1);
      cache.append(
        k,
        k.map((x) => -x),
        rows.length,
        1,
        H,
        Dh,
      );
      rows.forEach((r, b) => {
        steps[r].push(k.slice(b * width, (b + 1) * width));
      });
    };
    append([0, 1, 2]);
    append([0, 1, 2]);
    // Row 1 finished; rows 3 and 4 join.
    cache.reorder([0, 2]);
    cache.addBatchRows(2);
    assert.equal(cache.rows, 4);
    assert.ok(cache.view().slots, "a slot table names each row's positions");
    for (let s = 0; s < 20; s++) append([0, 2, 3, 4]); // past the initial capacity of 16
    const view = cache.view();
    assert.equal(view.length, 22);
    [0, 2, 3, 4].forEach((r, b) => {
      const from = r < 3 ? 0 : 2;
      const want: number[] = [];
      for (let h = 0; h < H; h++)
        for (const k of steps[r]) want.push(...k.subarray(h * Dh, (h + 1) * Dh));
      assert.deepEqual(rowOf(view, "k", b, from, 22), want, `row ${r}: keys`);
      assert.deepEqual(
        rowOf(view, "v", b, from, 22),
        want.map((x) => -x),
        `row ${r}: values`,
      );
    });
  });

  test("dropFront moves every row's later positions to the front, slot table included", () => {
    const rng = new Rng(4);
    const cache = new AttentionCache();
    for (let s = 0; s < 6; s++) {
      const k = random(rng, 3, 1);
      cache.append(k, k, 3, 1, H, Dh);
    }
    cache.reorder([2, 2, 0]); // a slot table once appended to
    const k = random(rng, 3, 1);
    cache.append(k, k, 3, 1, H, Dh);
    const before = cache.view();
    const want = [0, 1, 2].map((b) => rowOf(before, "k", b, 4, 7));
    cache.dropFront(4);
    const after = cache.view();
    assert.equal(after.length, 3);
    [0, 1, 2].forEach((b) => {
      assert.deepEqual(rowOf(after, "k", b, 0, 3), want[b], `row ${b}`);
    });
    assert.throws(() => cache.dropFront(4), /cannot drop 4 of the cache's 3 positions/);
  });

  test("cross-attention: joining rows take the free physical rows, or new ones, and may be longer", () => {
    const rng = new Rng(5);
    const cache = new AttentionCache();
    const first = random(rng, 3, 4);
    assert.deepEqual([...cache.appendBatchRows(first, first, 3, 4, H, Dh)], [0, 1, 2]);
    cache.reorder([0, 2]); // sentence 1 finished: physical row 1 is free
    const second = random(rng, 2, 20); // longer than the storage's 16 positions
    const taken = cache.appendBatchRows(
      second,
      second.map((x) => 2 * x),
      2,
      20,
      H,
      Dh,
    );
    assert.deepEqual([...taken], [1, 3]);
    const view = cache.view();
    assert.equal(view.length, 20);
    assert.deepEqual([...view.rows], [0, 2, 1, 3]);
    assert.deepEqual(rowOf(view, "k", 0, 0, 4), appended(first, 0, 4), "kept row 0");
    assert.deepEqual(rowOf(view, "k", 1, 0, 4), appended(first, 2, 4), "kept row 2");
    for (const b of [0, 1]) {
      assert.deepEqual(rowOf(view, "k", 2 + b, 0, 20), appended(second, b, 20), `joined ${b}`);
      assert.deepEqual(
        rowOf(view, "v", 2 + b, 0, 20),
        appended(second, b, 20).map((x) => 2 * x),
        `joined ${b}: values`,
      );
    }
  });

  test("a cross cache with a slot table, or rows of another width, refuses joining rows", () => {
    const rng = new Rng(6);
    const cache = new AttentionCache();
    const k = random(rng, 2, 1);
    cache.append(k, k, 2, 1, H, Dh);
    cache.reorder([1, 0]);
    cache.append(k, k, 2, 1, H, Dh);
    assert.throws(() => cache.appendBatchRows(k, k, 2, 1, H, Dh), /with a slot table/);
    const plain = new AttentionCache();
    plain.append(k, k, 2, 1, H, Dh);
    const wide = random(rng, 1, 1).subarray(0, 3);
    assert.throws(() => plain.appendBatchRows(wide, wide, 1, 1, 1, 3), /cannot join/);
    assert.throws(() => plain.addBatchRows(-1), /cannot add -1 rows/);
  });
});
