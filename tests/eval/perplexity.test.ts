import assert from "node:assert/strict";
import { test } from "node:test";
import {
  argmaxAccuracy,
  perplexity,
  perplexityFromLogProbs,
  perplexityFromLoss,
  tokenAccuracy,
} from "../../src/eval/index.js";

test("perplexity is exp of the mean negative log-likelihood", () => {
  // A uniform model over 8 symbols has perplexity 8, however many tokens it sees.
  const lp = Array.from({ length: 5 }, () => Math.log(1 / 8));
  assert.ok(Math.abs(perplexityFromLogProbs(lp) - 8) < 1e-12);
  assert.ok(Math.abs(perplexity(5 * Math.log(8), 5) - 8) < 1e-12);
  assert.ok(Math.abs(perplexityFromLoss(Math.log(8)) - 8) < 1e-12);
  assert.equal(perplexityFromLoss(0), 1);
  assert.ok(Number.isNaN(perplexity(0, 0)));
});

test("token accuracy skips positions labelled -100", () => {
  const r = tokenAccuracy([1, 2, 3, 4, 5], [1, 0, 3, -100, -100]);
  assert.deepEqual(r, { correct: 2, total: 3, accuracy: 2 / 3 });
  assert.ok(Number.isNaN(tokenAccuracy([1], [-100]).accuracy));
  assert.throws(() => tokenAccuracy([1, 2], [1]), RangeError);
});

test("argmax accuracy picks the highest logit, the lowest id on a tie", () => {
  // Rows: argmax 2, argmax 0 (tie between 0 and 1), argmax 1 (ignored label).
  const logits = new Float32Array([0, 1, 5, 3, 3, 1, 0, 9, 0]);
  const r = argmaxAccuracy(logits, 3, [2, 0, -100]);
  assert.deepEqual(r, { correct: 2, total: 2, accuracy: 1 });
  assert.equal(argmaxAccuracy(logits, 3, [2, 1, 0]).correct, 1);
  assert.throws(() => argmaxAccuracy(logits, 4, [0, 0]), RangeError);
});
