// The KV cache: appends in place past its initial capacity, reorders through a row map (repeats
// and drops), keeps a slot table once reordered rows are appended to, and always shows the same
// [B, H, T, Dh] tensors as concatenating every step and picking rows would. Its storage comes
// from the buffer pool unzeroed (poisoned with NaN here, it holds the same values) and goes back
// there on release, for the next cache to take.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AttentionCache, cachedHeads } from "../../src/attention/cache.js";
import {
  clearF32Pool,
  poisonUnzeroedF32,
  pooledF32Bytes,
  withScratch,
} from "../../src/tensor/pool.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/util/rng.js";

const B = 3;
const H = 2;
const Dh = 3;

function randomStep(rng: Rng, rows: number, T: number): Tensor {
  const d = new Float32Array(rows * H * T * Dh);
  for (let i = 0; i < d.length; i++) d[i] = rng.normal();
  return new Tensor(d, [rows, H, T, Dh]);
}

/** Appends t [rows, H, T, Dh] as keys and values, handing them over token-major [rows, T, H * Dh]. */
function appendHeads(c: AttentionCache, t: Tensor): void {
  const [R, , T] = t.shape;
  const flat = new Float32Array(t.size);
  for (let b = 0; b < R; b++)
    for (let h = 0; h < H; h++)
      for (let j = 0; j < T; j++)
        flat.set(
          t.f32.subarray(((b * H + h) * T + j) * Dh, ((b * H + h) * T + j + 1) * Dh),
          ((b * T + j) * H + h) * Dh,
        );
  c.append(flat, flat, R, T, H, Dh);
}

/** What the cache must hold: per batch row, per head, the list of Dh-vectors so far. */
type Model = number[][][][];

function appendModel(m: Model, t: Tensor): Model {
  const [R, , T] = t.shape;
  return Array.from({ length: R }, (_, b) =>
    Array.from({ length: H }, (_, h) => [
      ...(m[b]?.[h] ?? []),
      ...Array.from({ length: T }, (_, j) =>
        Array.from(t.f32.subarray(((b * H + h) * T + j) * Dh, ((b * H + h) * T + j + 1) * Dh)),
      ),
    ]),
  );
}

function assertHolds(c: AttentionCache, m: Model, what: string) {
  const k = cachedHeads(c.view(), "k");
  const T = m[0]?.[0]?.length ?? 0;
  assert.deepEqual(k.shape, [m.length, H, T, Dh], `${what}: shape`);
  const want = m.flat(3);
  assert.deepEqual(Array.from(k.f32), want, what);
  // The raw view through the row map, or the slot table, holds the same values.
  const view = c.view();
  const row = (b: number, j: number) =>
    view.slots ? view.slots[b * view.slotStride + j] : view.rows[b];
  for (let b = 0; b < m.length; b++)
    for (let h = 0; h < H; h++)
      for (let j = 0; j < T; j++)
        for (let e = 0; e < Dh; e++) {
          const at = ((row(b, j) * H + h) * view.capacity + j) * Dh + e;
          assert.equal(view.k[at], Math.fround(m[b][h][j][e]), `${what}: view`);
        }
}

test("appends grow the storage in place and keep every earlier position", () => {
  const rng = new Rng(1);
  const c = new AttentionCache();
  let keys: Model = [];
  assert.equal(c.length, 0);
  for (const T of [5, 1, 1, 12, 1, 20]) {
    const k = randomStep(rng, B, T);
    appendHeads(c, k);
    keys = appendModel(keys, k);
    assertHolds(c, keys, `after ${c.length}`);
  }
  assert.equal(c.length, 40);
});

test("reorder with repeats and drops, then append: rows diverge, sharing what they share", () => {
  const rng = new Rng(2);
  const c = new AttentionCache();
  let keys: Model = [];
  const k0 = randomStep(rng, B, 4);
  appendHeads(c, k0);
  keys = appendModel(keys, k0);
  // Drops, repeats, a batch wider than the storage's rows (4 > 3), and three times over so that
  // the appends pass the initial capacity of 16 positions with a slot table.
  const keeps = [
    [2, 2, 0],
    [1, 0],
    [0, 0, 1, 1],
    [3, 2, 1, 0],
    [1, 1, 1, 1],
  ];
  for (const keep of [...keeps, ...keeps, ...keeps]) {
    c.reorder(keep);
    keys = keep.map((r) => keys[r]);
    assertHolds(c, keys, `after reorder ${keep}`);
    const step = randomStep(rng, keep.length, 1);
    appendHeads(c, step);
    keys = appendModel(keys, step);
    assertHolds(c, keys, `after append to ${keep}`);
    assert.ok(c.view().slots, "a slot table instead of copied rows");
  }
  assert.equal(c.length, 4 + 15);
  assert.ok(c.view().capacity > 16);
});

test("finished rows dropped one by one: the live rows keep their keys, nothing is copied", () => {
  const rng = new Rng(4);
  // A self-attention cache (appended every step) and a cross one (filled once), 8 sentences.
  const self = new AttentionCache();
  const cross = new AttentionCache();
  let selfKeys: Model = [];
  let crossKeys: Model = [];
  const first = randomStep(rng, 8, 1);
  appendHeads(self, first);
  selfKeys = appendModel(selfKeys, first);
  const memory = randomStep(rng, 8, 6);
  appendHeads(cross, memory);
  crossKeys = appendModel(crossKeys, memory);
  const storage = cross.view().k;
  // Greedy decoding's drops (rows in order, some finishing together), then beam search's
  // reorders of what is left (repeats), past the self cache's initial capacity.
  const keeps = [
    [0, 1, 2, 4, 5, 6, 7],
    [1, 2, 3, 5, 6],
    [0, 1, 3],
    [0, 2],
    [1, 1, 0, 0],
    [3, 1],
  ];
  for (const keep of [...keeps, ...Array.from({ length: 14 }, () => [0, 1])]) {
    self.reorder(keep);
    cross.reorder(keep);
    selfKeys = keep.map((r) => selfKeys[r]);
    crossKeys = keep.map((r) => crossKeys[r]);
    assertHolds(cross, crossKeys, `cross after ${keep}`);
    const step = randomStep(rng, keep.length, 1);
    appendHeads(self, step);
    selfKeys = appendModel(selfKeys, step);
    assertHolds(self, selfKeys, `self after append to ${keep}`);
    assert.equal(self.rows, keep.length);
    // The cross cache's rows are only remapped: its storage is never copied or compacted.
    assert.equal(cross.view().k, storage);
    assert.equal(cross.view().slots, null);
  }
  assert.equal(self.length, 1 + keeps.length + 14);
});

test("a wrong row or shape is an error", () => {
  const c = new AttentionCache();
  const k = randomStep(new Rng(3), B, 2);
  appendHeads(c, k);
  assert.throws(() => c.reorder([0, 3]), /outside/);
  assert.throws(() => appendHeads(c, randomStep(new Rng(4), 2, 1)), /rows/);
});

test("reserve before the first append: that many positions fit without regrowing, same contents", () => {
  const rng = new Rng(41);
  const steps = Array.from({ length: 40 }, () => randomStep(rng, B, 1));
  const reserved = new AttentionCache();
  reserved.reserve(40);
  const plain = new AttentionCache();
  appendHeads(reserved, steps[0]);
  const storage = reserved.view().k;
  assert.equal(reserved.view().capacity, 40);
  for (const [i, s] of steps.entries()) {
    if (i > 0) appendHeads(reserved, s);
    appendHeads(plain, s);
  }
  assert.equal(reserved.view().k, storage, "the storage of the first append is kept");
  assert.ok(plain.view().capacity > 40 && plain.view().k !== storage, "doubling from 16: 64");
  for (const which of ["k", "v"] as const)
    assert.deepEqual(cachedHeads(reserved.view(), which).f32, cachedHeads(plain.view(), which).f32);
  // Past what was reserved it grows as before.
  appendHeads(reserved, randomStep(rng, B, 1));
  assert.equal(reserved.length, 41);
  assert.ok(reserved.view().capacity >= 41);
});

test("storage from the pool unzeroed: filled with NaN, reorders and growth hold the same values", () => {
  poisonUnzeroedF32(true);
  try {
    const rng = new Rng(3);
    const c = new AttentionCache();
    // Past the pool's smallest pooled size, so that the storage is pooled and poisoned.
    c.reserve(300, 2 * B);
    let keys: Model = [];
    const k0 = randomStep(rng, B, 2);
    appendHeads(c, k0);
    keys = appendModel(keys, k0);
    assert.ok(Number.isNaN(c.view().k[c.view().k.length - 1]), "poisoned storage");
    for (let i = 0; i < 320; i++) {
      // Beams spread over the 3 rows, then a step that keeps all 6 as they are.
      const keep = i % 3 === 0 ? [1, 0, 2, 2, 0, 1] : [0, 1, 2, 3, 4, 5];
      c.reorder(keep);
      keys = keep.map((r) => keys[r]);
      const step = randomStep(rng, keys.length, 1);
      appendHeads(c, step);
      keys = appendModel(keys, step);
    }
    assert.ok(c.view().capacity > 300, "grown past the reserve with a copy");
    assertHolds(c, keys, "after 320 steps");
  } finally {
    poisonUnzeroedF32(false);
  }
});

test("release gives the storage back to the pool; the next cache takes it; scopes do not", () => {
  const rng = new Rng(4);
  // An empty pool: the cache's storage is fresh memory, not an idle buffer another test left.
  clearF32Pool();
  const first = new AttentionCache();
  first.reserve(500);
  // Filled inside a scratch scope (as the cross-attention caches are): the scope's end does not
  // take the cache's storage.
  const pooledBefore = pooledF32Bytes();
  const k0 = randomStep(rng, B, 3);
  withScratch(
    () => appendHeads(first, k0),
    () => [],
  );
  assert.equal(pooledF32Bytes(), pooledBefore, "the scope released nothing of the cache");
  assertHolds(first, appendModel([], k0), "after the scope");
  const storage = first.view().k.buffer;
  first.release();
  assert.equal(first.length, 0);
  assert.equal(first.rows, 0);
  assert.ok(pooledF32Bytes() >= pooledBefore + 2 * storage.byteLength, "keys and values pooled");
  const second = new AttentionCache();
  second.reserve(500);
  const k1 = randomStep(rng, B, 2);
  appendHeads(second, k1);
  const taken = [second.view().k.buffer, second.view().v.buffer];
  assert.ok(taken.includes(storage), "the released storage is reused");
  assertHolds(second, appendModel([], k1), "the second cache");
  // A released cache starts over on its next append.
  const k2 = randomStep(rng, 2, 1);
  appendHeads(first, k2);
  assertHolds(first, appendModel([], k2), "the first cache, reused");
});
