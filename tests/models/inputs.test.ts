import assert from "node:assert/strict";
import { test } from "node:test";
import { decoderMaskFromLabels, defaultMask, shiftTokensRight } from "../../src/models/inputs.js";
import { positionsFromMask } from "../../src/nn/positions.js";
import * as T from "../../src/tensor/index.js";

test("labels shift right behind the start token, -100 back to padding", () => {
  const labels = T.intTensor([10, 11, 2, -100, 20, 2, -100, -100], [2, 4]);
  assert.deepEqual(shiftTokensRight(labels, 0, 1).toArray(), [
    [1, 10, 11, 2],
    [1, 20, 2, 0],
  ]);
  assert.deepEqual(decoderMaskFromLabels(labels).toArray(), [
    [1, 1, 1, 1],
    [1, 1, 1, 0],
  ]);
});

test("default masks: padding is masked, a start token equal to padding is not", () => {
  const ids = T.intTensor([0, 5, 6, 0], [1, 4]);
  assert.deepEqual(defaultMask(ids, 0, true).toArray(), [[1, 1, 1, 0]]);
  assert.deepEqual(defaultMask(ids, 0, false).toArray(), [[0, 1, 1, 0]]);
});

test("positions count real tokens: left padding safe, cache offsets continue", () => {
  const mask = T.intTensor([0, 0, 1, 1, 1, 1, 1, 0], [2, 4]);
  assert.deepEqual(positionsFromMask(mask).toArray(), [
    [-1, -1, 0, 1],
    [0, 1, 2, 2],
  ]);
  assert.deepEqual(positionsFromMask(T.intTensor([1, 1], [2, 1]), Int32Array.of(3, 5)).toArray(), [
    [3],
    [5],
  ]);
});
