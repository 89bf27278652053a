// The Tatoeba corpus the package carries and the fixed split quickstart trains and tests on: the
// gzip holds exactly the file `maskwise data get tatoeba-zh` pins, and the split is a function of
// line numbers alone.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { gunzipSync } from "node:zlib";
import { findDataset } from "../../src/data/datasets.js";
import { splitTatoeba, tatoebaPart } from "../../src/data/tatoeba-split.js";
import { PACKAGED_TATOEBA, readTatoebaText, tatoebaSplit } from "../../src/node/tatoeba.js";
import type { MaskwiseError } from "../../src/util/errors.js";
import { tempDir } from "../helpers/tmp.js";

const shared = join(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "shared",
  "data",
  "tatoeba-cmn",
  "cmn.txt",
);

test("the packaged gzip is the pinned cmn.txt, attribution column included", () => {
  const bytes = gunzipSync(readFileSync(PACKAGED_TATOEBA));
  const pinned = findDataset("tatoeba-zh")?.files[0].sha256;
  assert.ok(pinned);
  assert.equal(createHash("sha256").update(bytes).digest("hex"), pinned);
  const lines = readTatoebaText(PACKAGED_TATOEBA).split("\n");
  assert.ok(lines[0].startsWith("Hi.\t"), "the byte-order mark is gone");
  assert.match(lines[0], /\tCC-BY 2\.0 \(France\) Attribution: tatoeba\.org #\d+ \(.+\) & #\d+/);
});

test("the split is by line number: test n % 20 = 0, valid n % 20 = 1, train otherwise", () => {
  const { split: a } = tatoebaSplit();
  const { split: b } = tatoebaSplit();
  assert.deepEqual(a, b);
  assert.deepEqual([a.train.length, a.valid.length, a.test.length], [26240, 1458, 1457]);
  const lines = readTatoebaText(PACKAGED_TATOEBA).split("\n");
  // Line 20 is the first test pair, line 21 the second valid one (line 1 the first).
  const pair = (n: number) => {
    const [en, zh] = lines[n - 1].split("\t");
    return [zh, en];
  };
  assert.deepEqual(a.test[0], pair(20));
  assert.deepEqual(a.test[1456], pair(29140));
  assert.deepEqual(a.valid[0], pair(1));
  assert.deepEqual(a.valid[1], pair(21));
  assert.deepEqual(a.train[0], pair(2));
  assert.deepEqual(a.train[18], pair(22));
  assert.deepEqual([19, 20, 21, 40, 41, 42].map(tatoebaPart), [
    "train",
    "test",
    "valid",
    "test",
    "valid",
    "train",
  ]);
});

test("a cmn.txt given as --data-dir splits the same, plain or gzipped; bad lines name their line", () => {
  if (existsSync(shared)) {
    const dir = join(shared, "..");
    assert.deepEqual(tatoebaSplit(dir).split, tatoebaSplit().split);
  }
  const text = "\uFEFFa\t甲\tx\nb\t乙\tx\r\n\nc\t丙\tx\n";
  const s = splitTatoeba(text, "t.txt");
  assert.deepEqual(s.valid, [["甲", "a"]]);
  assert.deepEqual(s.train, [
    ["乙", "b"],
    ["丙", "c"],
  ]);
  const fails = (text: string, what: RegExp, where: string) =>
    assert.throws(
      () => splitTatoeba(text, "t.txt"),
      (e: MaskwiseError) => what.test(e.message) && e.where === where,
    );
  fails("a\t甲\nno tab here\n", /column 2 is missing/, "t.txt:2");
  fails("a\t \tx\n", /empty side/, "t.txt:1");
  const gz = tempDir("tatoeba-gz");
  copyFileSync(PACKAGED_TATOEBA, join(gz, "cmn.txt.gz"));
  assert.deepEqual(tatoebaSplit(gz).split.test, tatoebaSplit().split.test);
  const dir = tempDir("tatoeba-bad");
  assert.throws(() => tatoebaSplit(dir), /cmn\.txt not found/);
});
