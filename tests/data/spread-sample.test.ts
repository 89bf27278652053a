// spreadSample: n items evenly spaced over an ordered list, so a length-sorted validation set's
// sample spans its short and long sentences instead of being its shortest ones.
import assert from "node:assert/strict";
import { test } from "node:test";
import { spreadSample } from "../../src/data/spread-sample.js";
import { tatoebaSplit } from "../../src/node/tatoeba.js";

test("n distinct items in order, one from each of n equal stretches", () => {
  const items = Array.from({ length: 1000 }, (_, i) => i);
  const s = spreadSample(items, 7);
  assert.equal(s.length, 7);
  s.forEach((x, i) => {
    assert.ok(x >= (i * 1000) / 7 && x < ((i + 1) * 1000) / 7, `item ${x} outside stretch ${i}`);
  });
  // A list barely longer than n: still n distinct items.
  const t = spreadSample(items.slice(0, 201), 200);
  assert.equal(new Set(t).size, 200);
  assert.deepEqual(
    t,
    [...t].sort((a, b) => a - b),
  );
});

test("a list of at most n items is returned whole, as a copy", () => {
  const items = ["a", "b", "c"];
  const s = spreadSample(items, 3);
  assert.deepEqual(s, items);
  assert.notEqual(s, items);
  assert.deepEqual(spreadSample([], 5), []);
});

test("on Tatoeba's valid part the sample spans short and long sentences, unlike its head", () => {
  const { valid } = tatoebaSplit().split;
  const words = (pairs: [string, string][]) =>
    pairs.reduce((n, [, en]) => n + en.split(" ").length, 0) / pairs.length;
  const head = valid.slice(0, 200);
  const spread = spreadSample(valid, 200);
  // The file is sorted by length: its first 200 valid pairs average little over half the
  // part's words (3.3 against 6.1).
  assert.ok(words(head) < 0.6 * words(valid), `head: ${words(head)} words`);
  // The spread sample's mean length is the whole part's, within a word.
  assert.ok(Math.abs(words(spread) - words(valid)) < 1, `${words(spread)} vs ${words(valid)}`);
  assert.equal(spread[199], valid[Math.floor((199.5 * valid.length) / 200)]);
});
