// Readers on the real corpora (Multi30k, Tatoeba cmn.txt with its BOM and attribution column,
// DialogSum JSON lines) and on broken files: each error names file, line and what is wrong.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { newStats } from "../../src/data/records.js";
import { type Example, readJsonl, readParallel, readTsv } from "../../src/node/readers.js";
import { MaskwiseError } from "../../src/util/errors.js";

const data = join(import.meta.dirname, "..", "..", "..", "shared", "data");
const dir = mkdtempSync(join(tmpdir(), "maskwise-data-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function all(gen: AsyncGenerator<Example>): Promise<Example[]> {
  const out: Example[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function rejects(gen: AsyncGenerator<Example>, where: RegExp, message: RegExp) {
  await assert.rejects(all(gen), (e: unknown) => {
    assert.ok(e instanceof MaskwiseError, String(e));
    assert.match(e.where ?? "", where);
    assert.match(e.message, message);
    return true;
  });
}

test("Multi30k train: 29,000 aligned pairs", async () => {
  const stats = newStats();
  const xs = await all(
    readParallel([join(data, "multi30k", "train.de"), join(data, "multi30k", "train.en")], {
      stats,
    }),
  );
  assert.equal(xs.length, 29000);
  assert.equal(stats.read, 29000);
  assert.equal(xs[0].line, 1);
  assert.match(xs[0].texts[0], /^Zwei junge weiße Männer/);
  assert.match(xs[0].texts[1], /^Two young, White males/);
});

test("Tatoeba cmn.txt: the BOM is gone, columns English and Chinese, attribution left out", async () => {
  const xs = await all(readTsv(join(data, "tatoeba-cmn", "cmn.txt"), [1, 0]));
  assert.equal(xs.length, 29155);
  assert.deepEqual(xs[0].texts, ["嗨。", "Hi."]);
  assert.ok(xs.every((x) => x.texts.length === 2 && !x.texts[1].includes("CC-BY")));
});

test("DialogSum: dialogue and summary fields; a missing field names file and line", async () => {
  const path = join(data, "dialogsum", "dialogsum.dev.jsonl");
  const xs = await all(readJsonl(path, ["dialogue", "summary"]));
  assert.equal(xs.length, 500);
  assert.match(xs[0].texts[0], /^#Person1#/);
  await rejects(
    readJsonl(join(data, "dialogsum", "dialogsum.test.jsonl"), ["dialogue", "summary"]),
    /dialogsum\.test\.jsonl:1$/,
    /field "summary" is missing/,
  );
});

test("different line counts name the shorter file and the line", async () => {
  const a = file("a.txt", "one\ntwo\nthree\n");
  const b = file("b.txt", "eins\nzwei\n");
  await rejects(readParallel([a, b]), /a\.txt:3$/, /b\.txt ends after 2 lines/);
  await rejects(readParallel([b, a]), /a\.txt:3$/, /b\.txt ends after 2 lines/);
});

test("invalid UTF-8 names file and line", async () => {
  const bad = file(
    "bad.tsv",
    Buffer.concat([Buffer.from("a\tb\nc\t"), Buffer.from([0xff]), Buffer.from("\n")]),
  );
  await rejects(readTsv(bad, [0, 1]), /bad\.tsv:2$/, /invalid UTF-8/);
});

test("empty lines: skipped and counted, or an error with strict", async () => {
  const a = file("ea.txt", "one\n\nthree\n   \nfive\n");
  const b = file("eb.txt", "eins\nzwei\ndrei\nvier\nfünf\n");
  const stats = newStats();
  const xs = await all(readParallel([a, b], { stats }));
  assert.deepEqual(
    xs.map((x) => x.line),
    [1, 3, 5],
  );
  assert.equal(stats.skippedEmpty, 2);
  assert.match(stats.skippedAt[0], /ea\.txt:2/);
  await rejects(readParallel([a, b], { empty: "fail" }), /ea\.txt:2/, /empty line/);
  const j = file("e.jsonl", '{"x":"a"}\n\n{"x":""}\n{"x":"b"}\n');
  const js = newStats();
  assert.equal((await all(readJsonl(j, ["x"], { stats: js }))).length, 2);
  assert.equal(js.skippedEmpty, 2);
});

test("bad rows: a missing TSV column, broken JSON, a field that is not text", async () => {
  await rejects(readTsv(file("c.tsv", "a\tb\nonly\n"), [0, 1]), /c\.tsv:2$/, /column 2 is missing/);
  await rejects(
    readJsonl(file("j.jsonl", '{"x": "a"}\n{"x": \n'), ["x"]),
    /j\.jsonl:2$/,
    /not valid JSON/,
  );
  await rejects(
    readJsonl(file("k.jsonl", '{"x": ["a"]}\n'), ["x"]),
    /k\.jsonl:1$/,
    /is a list, not text/,
  );
  await rejects(readTsv(join(dir, "missing.tsv"), [0]), /missing\.tsv$/, /file not found/);
});

test("CRLF line ends and a final line without a newline", async () => {
  const xs = await all(readTsv(file("crlf.tsv", "a\tb\r\nc\td"), [1, 0]));
  assert.deepEqual(
    xs.map((x) => x.texts),
    [
      ["b", "a"],
      ["d", "c"],
    ],
  );
});
