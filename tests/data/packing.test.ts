// Packing documents into fixed-length rows: nothing lost or reordered, segment ids that the
// packed-documents mask reads, positions that restart with each document.
import assert from "node:assert/strict";
import { test } from "node:test";
import { packDocuments } from "../../src/data/packing.js";
import { Rng } from "../../src/util/rng.js";

test("a small example, by hand", () => {
  const p = packDocuments(
    [
      [1, 2, 3],
      [4, 5],
      [6, 7, 8, 9],
    ],
    { rowLength: 4, padId: 0, separatorId: 99 },
  );
  assert.deepEqual(p.ids, [
    [1, 2, 3, 99],
    [4, 5, 99, 6],
    [7, 8, 9, 99],
  ]);
  assert.deepEqual(p.segmentIds, [
    [0, 0, 0, 0],
    [0, 0, 0, 1],
    [0, 0, 0, 0],
  ]);
  assert.deepEqual(p.positionIds, [
    [0, 1, 2, 3],
    [0, 1, 2, 0],
    [1, 2, 3, 4],
  ]);
  assert.deepEqual(p.lengths, [4, 4, 4]);
  const noSplit = packDocuments(
    [
      [1, 2, 3],
      [4, 5],
    ],
    { rowLength: 4, padId: 0, split: false },
  );
  assert.deepEqual(noSplit.ids, [
    [1, 2, 3, 0],
    [4, 5, 0, 0],
  ]);
  assert.deepEqual(noSplit.segmentIds, [
    [0, 0, 0, 1],
    [0, 0, 1, 1],
  ]);
  assert.deepEqual(noSplit.lengths, [3, 2]);
});

test("random documents: the real tokens are the documents in order, segments never decrease", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 100; trial++) {
    const docs = Array.from({ length: 1 + rng.int(30) }, () =>
      Array.from({ length: rng.int(25) }, () => 1 + rng.int(1000)),
    );
    const rowLength = 1 + rng.int(32);
    const split = rng.uniform() < 0.5;
    const p = packDocuments(docs, { rowLength, padId: 0, split });
    const real = p.ids.flatMap((row, r) => row.slice(0, p.lengths[r]));
    assert.deepEqual(real, docs.flat());
    for (const [r, row] of p.ids.entries()) {
      assert.equal(row.length, rowLength);
      assert.ok(row.slice(p.lengths[r]).every((x) => x === 0));
      const seg = p.segmentIds[r];
      for (let k = 1; k < seg.length; k++) assert.ok(seg[k] >= seg[k - 1]);
      // A new segment starts exactly where positions restart at 0 (within the real tokens).
      for (let k = 1; k < p.lengths[r]; k++) {
        assert.equal(seg[k] !== seg[k - 1], p.positionIds[r][k] === 0);
      }
    }
    if (split) assert.ok(p.lengths.slice(0, -1).every((l) => l === rowLength));
  }
});
