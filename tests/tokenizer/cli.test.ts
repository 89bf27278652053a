// `maskwise tokenizer train` and `encode` as /work/shared/CLI.md fixes them: a tokenizer.json the
// Rust library reads, one line of ids per input line, special tokens only when asked, and
// one-line errors with status 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { multi30k, oracle, shared } from "./oracle.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input });
/** The error line: the last line on stderr (a backend notice may come before it). */
const errorLine = (stderr: string) => stderr.trimEnd().split("\n").at(-1) ?? "";
const dir = mkdtempSync(join(tmpdir(), "maskwise-tok-cli-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = (...p: string[]) => join(shared, "data", ...p);

test("train then encode: ids as tokenizers 0.23 gives them, with and without special tokens", async () => {
  const out = join(dir, "tokenizer.json");
  const input = join(dir, "train.txt");
  writeFileSync(
    input,
    [...multi30k("train.de"), ...multi30k("train.en")].slice(0, 20000).join("\n"),
  );
  const r = run([
    "tokenizer",
    "train",
    "--input",
    input,
    "--input",
    data("multi30k", "val.en"),
    "--vocab-size",
    "3000",
    "--out",
    out,
    "--sentinels",
    "2",
    "--special",
    "de_DE",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(Object.keys(json.model.vocab).length, 3000);
  assert.deepEqual(
    json.added_tokens.map((t: { content: string }) => t.content),
    ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<extra_id_0>", "<extra_id_1>", "de_DE"],
  );
  const ref = oracle.Tokenizer.fromFile(out);
  const text = [...multi30k("val.de").slice(0, 50), "", "de_DE Ein Hund <mask>.", "漢字 😀"];
  for (const special of [false, true]) {
    const e = run(
      ["tokenizer", "encode", "--tokenizer", out, ...(special ? ["--add-special-tokens"] : [])],
      `${text.join("\n")}\n`,
    );
    assert.equal(e.status, 0, e.stderr);
    const encs = await ref.encodeBatch(text, { addSpecialTokens: special });
    assert.equal(e.stdout, encs.map((x) => `${x.getIds().join(" ")}\n`).join(""));
    // And back: decode gives what the Rust library's decode gives.
    const d = run(["tokenizer", "decode", "--tokenizer", out, "--skip-special-tokens"], e.stdout);
    assert.equal(d.status, 0, d.stderr);
    const texts = await ref.decodeBatch(
      encs.map((x) => x.getIds()),
      true,
    );
    assert.equal(d.stdout, texts.map((t) => `${t}\n`).join(""));
  }
  // Sentence pairs from TSV lines: the template's pair form, as the Rust library's encode(a, b).
  const de = multi30k("val.de").slice(0, 20);
  const en = multi30k("val.en").slice(0, 20);
  const p = run(
    ["tokenizer", "encode", "--tokenizer", out, "--pair", "--add-special-tokens"],
    de.map((t, i) => `${t}\t${en[i]}\n`).join(""),
  );
  assert.equal(p.status, 0, p.stderr);
  const want: string[] = [];
  for (let i = 0; i < de.length; i++) {
    const enc = await ref.encode(de[i], en[i], { addSpecialTokens: true });
    want.push(`${enc.getIds().join(" ")}\n`);
  }
  assert.equal(p.stdout, want.join(""));
  const noTab = run(["tokenizer", "encode", "--tokenizer", out, "--pair"], "one\ntwo three\n");
  assert.equal(noTab.status, 2);
  assert.match(errorLine(noTab.stderr), /no tab \(<stdin>:1\)/);
});

test("errors: missing flags, a missing file, invalid UTF-8, a bad tokenizer.json", () => {
  let r = run(["tokenizer", "train", "--input", data("multi30k", "val.en"), "--out", "x.json"]);
  assert.equal(r.status, 2);
  assert.match(
    errorLine(r.stderr),
    /^maskwise: --vocab-size is required \(maskwise tokenizer train\)/,
  );
  r = run([
    "tokenizer",
    "train",
    "--input",
    join(dir, "nope.txt"),
    "--vocab-size",
    "100",
    "--out",
    join(dir, "n.json"),
  ]);
  assert.equal(r.status, 2);
  assert.match(errorLine(r.stderr), /^maskwise: file not found \(.*nope\.txt\): check the path$/);
  const badUtf8 = join(dir, "bad.txt");
  writeFileSync(badUtf8, Buffer.from([0x61, 0x0a, 0x62, 0x0a, 0xc3, 0x28, 0x0a]));
  r = run([
    "tokenizer",
    "train",
    "--input",
    badUtf8,
    "--vocab-size",
    "100",
    "--out",
    join(dir, "b.json"),
  ]);
  assert.equal(r.status, 2);
  assert.match(
    errorLine(r.stderr),
    /^maskwise: invalid UTF-8 \(.*bad\.txt:3\): re-save the file as UTF-8$/,
  );
  r = run([
    "tokenizer",
    "train",
    "--input",
    data("multi30k", "val.en"),
    "--vocab-size",
    "5",
    "--out",
    join(dir, "s.json"),
  ]);
  assert.equal(r.status, 2);
  assert.match(errorLine(r.stderr), /vocabulary size 5 is smaller .* use at least \d+/);
  const badJson = join(dir, "bad.json");
  writeFileSync(badJson, JSON.stringify({ model: { type: "CharLevel" } }));
  r = run(["tokenizer", "encode", "--tokenizer", badJson], "hello\n");
  assert.equal(r.status, 2);
  assert.match(
    errorLine(r.stderr),
    /^maskwise: model type "CharLevel" is not supported \(.*bad\.json: model\.type\)/,
  );
  r = run(["tokenizer", "encode"], "hello\n");
  assert.equal(r.status, 2);
  assert.match(errorLine(r.stderr), /--tokenizer is required/);
  r = run(["tokenizer", "decode", "--tokenizer", join(dir, "tokenizer.json")], "1 2\n3 x\n");
  assert.equal(r.status, 2);
  assert.match(errorLine(r.stderr), /^maskwise: 'x' is not a token id \(0\.\.2999\) \(<stdin>:2\)/);
});

test("--help describes both commands", () => {
  for (const c of ["train", "encode", "decode"]) {
    const r = run(["tokenizer", c, "--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, new RegExp(`Usage: maskwise tokenizer ${c}`));
  }
});

test("train --model wordpiece: a BERT-style tokenizer.json that tokenizers 0.23 encodes the same", async () => {
  const out = join(dir, "wordpiece.json");
  const r = run([
    "tokenizer",
    "train",
    "--model",
    "wordpiece",
    "--lowercase",
    "--input",
    data("multi30k", "val.en"),
    "--input",
    data("multi30k", "val.de"),
    "--vocab-size",
    "2000",
    "--out",
    out,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const json = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(json.model.type, "WordPiece");
  assert.equal(json.model.continuing_subword_prefix, "##");
  assert.equal(json.model.vocab["[CLS]"], 2);
  const ref = oracle.Tokenizer.fromFile(out);
  const de = multi30k("test_2016_flickr.de").slice(0, 30);
  const en = multi30k("test_2016_flickr.en").slice(0, 30);
  const p = run(
    ["tokenizer", "encode", "--tokenizer", out, "--pair", "--add-special-tokens"],
    de.map((t, i) => `${t}\t${en[i]}\n`).join(""),
  );
  assert.equal(p.status, 0, p.stderr);
  const want: string[] = [];
  for (let i = 0; i < de.length; i++) {
    const enc = await ref.encode(de[i], en[i], { addSpecialTokens: true });
    want.push(`${enc.getIds().join(" ")}\n`);
  }
  assert.equal(p.stdout, want.join(""));
  const bad = run([
    "tokenizer",
    "train",
    "--model",
    "unigram",
    "--input",
    out,
    "--vocab-size",
    "9",
    "--out",
    "x",
  ]);
  assert.equal(bad.status, 2);
  assert.match(errorLine(bad.stderr), /unknown model 'unigram'/);
});
