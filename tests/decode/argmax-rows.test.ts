// Greedy's choice of every row at once on the backend's selection kernel (argmaxRows) makes the
// same choices as argmax row by row: the first of equal maxima, NaN never chosen (unless first,
// which argmax keeps), -Infinity only when the whole row is, +Infinity over any finite value.
import assert from "node:assert/strict";
import { test } from "node:test";
import { argmax, argmaxRows } from "../../src/decode/greedy.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

forEachBackend("argmaxRows", () => {
  test("equals argmax on each row: ties, NaN, -Infinity, +Infinity, SIMD tails", () => {
    const rng = new Rng(3);
    for (const V of [1, 7, 8, 17, 1000]) {
      const rows = 12;
      const x = new Float32Array(rows * V);
      for (let i = 0; i < x.length; i++) x[i] = Math.round(rng.normal() * 4) / 4; // many ties
      const row = (r: number) => x.subarray(r * V, (r + 1) * V);
      row(1).fill(Number.NEGATIVE_INFINITY);
      row(2)[0] = Number.NaN;
      row(3)[V - 1] = Number.NaN;
      row(4)[Math.floor(V / 2)] = Number.POSITIVE_INFINITY;
      row(5).fill(Number.NEGATIVE_INFINITY);
      row(5)[V - 1] = -1e30;
      row(6).fill(0.5); // all equal: the first
      row(7).fill(Number.NaN);
      for (let j = 0; j < V; j += 3) row(8)[j] = Number.NEGATIVE_INFINITY;
      const got = new Int32Array(rows);
      argmaxRows(x, rows, V, got);
      for (let r = 0; r < rows; r++) assert.equal(got[r], argmax(row(r)), `V ${V} row ${r}`);
    }
  });
});
