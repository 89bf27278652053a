// The sharded writer against save_pretrained's own output (tests/fixtures/safetensors/
// gpt2_sharded: gpt2 with max_shard_size="12KB"): the same shard files and the same index, byte
// for byte; one shard is a plain model.safetensors; stale shards of an earlier save are removed.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "node:test";
import {
  compareCodePoints,
  dotNaturalCompare,
  parseShardSize,
  planShards,
} from "../../src/io/shards-write.js";
import { loadWeights } from "../../src/node/weights.js";
import { saveWeightsLikeHf } from "../../src/node/weights-save.js";
import { tempDir } from "../helpers/tmp.js";

const fixture = join(import.meta.dirname, "..", "fixtures", "safetensors", "gpt2_sharded");

test("gpt2 re-sharded at 12KB: every file equals what save_pretrained wrote", () => {
  const { tensors } = loadWeights(fixture);
  // transformers 5 sorts gpt2's names with its dot-natural key before splitting.
  const ordered = [...tensors].sort(([a], [b]) => dotNaturalCompare(a, b));
  const dir = tempDir("save-sharded");
  const written = saveWeightsLikeHf(dir, ordered, { maxShardSize: "12KB" });
  assert.deepEqual(written.map((p) => basename(p)).sort(), readdirSync(fixture).sort());
  for (const name of readdirSync(fixture)) {
    const want = readFileSync(join(fixture, name));
    const got = readFileSync(join(dir, name));
    assert.ok(got.equals(want), `${name} differs`);
  }
});

test("one shard is model.safetensors without an index, and replaces an earlier sharded save", () => {
  const { tensors } = loadWeights(fixture);
  const dir = tempDir("save-one");
  saveWeightsLikeHf(dir, [...tensors], { maxShardSize: "12KB" });
  assert.equal(readdirSync(dir).length, 4);
  writeFileSync(join(dir, "config.json"), "{}");
  const written = saveWeightsLikeHf(dir, [...tensors]);
  assert.deepEqual(written, [join(dir, "model.safetensors")]);
  assert.deepEqual(readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
  assert.ok(!existsSync(join(dir, "model.safetensors.index.json")));
  const back = loadWeights(dir).tensors;
  for (const [n, t] of tensors) assert.deepEqual(back.get(n)?.data, t.data, n);
});

test("the splitter: greedy in the given order, an oversized tensor alone and ahead of the open shard", () => {
  const t = (n: number) => ({ shape: [n], data: new Float32Array(n) });
  const plan = planShards(
    [
      ["a", t(2)],
      ["b", t(2)],
      ["big", t(10)],
      ["c", t(1)],
      ["d", t(2)],
    ],
    16,
  );
  assert.deepEqual(plan.shards, [
    ["model-00001-of-00003.safetensors", ["big"]],
    ["model-00002-of-00003.safetensors", ["a", "b"]],
    ["model-00003-of-00003.safetensors", ["c", "d"]],
  ]);
  assert.equal(plan.totalSize, 68);
  assert.equal(plan.totalParameters, 17);
  assert.equal(parseShardSize("12KB"), 12000);
  assert.equal(parseShardSize("0.5 gb"), 5e8);
  assert.throws(() => parseShardSize("5GiB"), /not a number with a unit/);
});

// The expected order is what transformers' dot_natural_key gives for these names.
test("dot-natural order: numbers as numbers and before words, trailing digits numerically", () => {
  const names = ["h.10.w", "h.2.w", "h.2.b", "ln_f", "ln_1", "shard_11", "shard_2", "h.x"];
  assert.deepEqual(names.sort(dotNaturalCompare), [
    "h.2.b",
    "h.2.w",
    "h.10.w",
    "h.x",
    "ln_1",
    "ln_f",
    "shard_2",
    "shard_11",
  ]);
  assert.ok(compareCodePoints("\uFF21", "\u{1F600}") < 0);
});
