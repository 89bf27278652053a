// `maskwise eval bleu|chrf|rouge` as a user runs it: sacreBLEU's line on stdout, --json, and one
// clear line on stderr with status 2 for files that cannot be scored.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { SHARED, skipWithoutShared } from "./shared.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, "eval", ...args], { encoding: "utf8" });

const dir = mkdtempSync(join(tmpdir(), "maskwise-eval-"));
after(() => rmSync(dir, { recursive: true, force: true }));
function file(name: string, content: string | Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

const hyp = file("hyp.txt", "The cat sat on the mat.\nHello , world !\n");
const ref = file("ref.txt", "The cat is sitting on the mat.\nHello, world!\n");

describe("maskwise eval on small files", () => {
  test("bleu prints sacreBLEU's line, signature first", () => {
    const r = run("bleu", "--ref", ref, "--hyp", hyp);
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout.trim(),
      /^BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = \d+\.\d\d [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ \(BP = \d\.\d{3} ratio = \d\.\d{3} hyp_len = 11 ref_len = 12\)$/,
    );
  });

  test("bleu --json has the fixed keys", () => {
    const r = run("bleu", "--ref", ref, "--hyp", hyp, "--json", "--tokenize", "intl");
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    for (const k of ["score", "precisions", "bp", "ratio", "hyp_len", "ref_len", "signature"]) {
      assert.ok(k in j, k);
    }
    assert.equal(j.precisions.length, 4);
    assert.equal(j.signature, "nrefs:1|case:mixed|eff:no|tok:intl|smooth:exp|version:2.6.0");
  });

  test("bleu with two references, lowercase, floor smoothing, sentence level", () => {
    const ref2 = file("ref2.txt", "A cat sat on the mat.\nhello world\n");
    const r = run(
      "bleu",
      "--ref",
      ref,
      ref2,
      "--hyp",
      hyp,
      "--lowercase",
      "--smooth-method",
      "floor",
      "--sentence-level",
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.length, 2);
    for (const l of lines) {
      assert.match(l, /^BLEU\|nrefs:2\|case:lc\|eff:yes\|tok:13a\|smooth:floor\[0\.10\]\|/);
    }
  });

  test("chrf and chrF++ print sacreBLEU's line; --json has score and signature", () => {
    const r = run("chrf", "--ref", ref, "--hyp", hyp, "--word-order", "2");
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout.trim(),
      /^chrF2\+\+\|nrefs:1\|case:mixed\|eff:yes\|nc:6\|nw:2\|space:no\|version:2\.6\.0 = \d+\.\d\d$/,
    );
    const j = JSON.parse(run("chrf", "--ref", ref, "--hyp", hyp, "--json").stdout);
    assert.equal(j.name, "chrF2");
    assert.equal(typeof j.score, "number");
    assert.equal(j.signature, "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0");
  });

  test("rouge prints three lines; --json has precision, recall and F per type", () => {
    const r = run("rouge", "--ref", ref, "--hyp", hyp, "--stem");
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n");
    assert.deepEqual(
      lines.map((l) => l.split("|")[0]),
      ["rouge1", "rouge2", "rougeL"],
    );
    const j = JSON.parse(run("rouge", "--ref", ref, "--hyp", hyp, "--json").stdout);
    assert.equal(j.n, 2);
    for (const t of ["rouge1", "rouge2", "rougeL"]) {
      assert.deepEqual(Object.keys(j[t]), ["precision", "recall", "fmeasure"]);
    }
    // Pair 2 is identical after tokenization, pair 1 shares 5 of 6 and 7 words.
    assert.ok(Math.abs(j.rouge1.precision - (5 / 6 + 1) / 2) < 1e-12);
  });

  test("an empty line is an empty segment, scored as sacreBLEU 2.6.0 scores it", () => {
    const gap = file("gap.txt", "The cat.\n\n");
    const h2 = file("h2.txt", "The cat.\nsomething here\n");
    // sacreBLEU 2.6.0: sacrebleu gap.txt -i h2.txt -m bleu chrf -f text -w 2
    const bleu = run("bleu", "--ref", gap, "--hyp", h2);
    assert.equal(bleu.status, 0, bleu.stderr);
    assert.equal(
      bleu.stdout.trim(),
      "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 0.00 60.0/66.7/100.0/0.0 (BP = 1.000 ratio = 1.667 hyp_len = 5 ref_len = 3)",
    );
    assert.equal(
      run("chrf", "--ref", gap, "--hyp", h2).stdout.trim(),
      "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 100.00",
    );
  });

  test("--hyp - reads the hypothesis from standard input", () => {
    const r = spawnSync(
      process.execPath,
      [bin, "eval", "bleu", "--ref", ref, "--hyp", "-", "--json"],
      { encoding: "utf8", input: "The cat sat on the mat.\nHello , world !\n" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).hyp_len, 11);
    const short = spawnSync(process.execPath, [bin, "eval", "bleu", "--ref", ref, "--hyp", "-"], {
      encoding: "utf8",
      input: "The cat sat on the mat.\n",
    });
    assert.equal(short.status, 2);
    assert.match(short.stderr, /has 2 lines but <stdin> has 1 line \(<stdin>:2\)/);
  });

  test("--help documents each command", () => {
    for (const c of ["bleu", "chrf", "rouge"]) {
      const r = run(c, "--help");
      assert.equal(r.status, 0);
      assert.match(r.stdout, new RegExp(`^Usage: maskwise eval ${c}`));
    }
  });
});

describe("maskwise eval refuses input it cannot score, in one line", () => {
  const fails = (args: string[], pattern: RegExp) => {
    const r = run(...args);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stdout, "");
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^maskwise: .+ \(.+\): .+$/);
    assert.match(lines[0], pattern);
  };

  test("mismatched line counts name the short file and its first missing line", () => {
    const short = file("short.txt", "The cat sat.\n");
    fails(
      ["bleu", "--ref", short, "--hyp", hyp],
      /has 1 line but .* has 2 lines \(.*short\.txt:2\)/,
    );
    fails(
      ["chrf", "--ref", ref, "--hyp", short],
      /ref\.txt has 2 lines but .*short\.txt has 1 line/,
    );
    fails(["rouge", "--ref", short, "--hyp", hyp], /short\.txt:2/);
  });

  test("an empty file", () => {
    const empty = file("empty.txt", "");
    fails(["bleu", "--ref", ref, "--hyp", empty], /the file is empty \(.*empty\.txt\)/);
    fails(["rouge", "--ref", empty, "--hyp", hyp], /the file is empty/);
  });

  test("invalid UTF-8 names file, line and byte", () => {
    const bad = file("latin1.txt", Buffer.from("ok\nM\xe4nner\n", "latin1"));
    fails(
      ["bleu", "--ref", ref, "--hyp", bad],
      /invalid UTF-8 \(byte 0xe4 at column 2\) \(.*latin1\.txt:2\)/,
    );
    // A truncated sequence at the end, and an encoded surrogate.
    const cut = file("cut.txt", Uint8Array.from([0x61, 0x0a, 0x62, 0xe2, 0x82]));
    fails(["chrf", "--ref", cut, "--hyp", hyp], /invalid UTF-8 .*cut\.txt:2/);
    const sur = file("sur.txt", Uint8Array.from([0x61, 0x0a, 0xed, 0xa0, 0x80, 0x0a]));
    fails(
      ["rouge", "--ref", sur, "--hyp", hyp],
      /invalid UTF-8 \(byte 0xed at column 1\) .*sur\.txt:2/,
    );
  });

  test("a missing file, a missing flag, an unknown tokenizer, a bad number", () => {
    fails(["bleu", "--ref", join(dir, "nope.txt"), "--hyp", hyp], /no such file \(.*nope\.txt\)/);
    fails(["bleu", "--hyp", hyp], /--ref is required \(maskwise eval bleu\)/);
    fails(["bleu", "--ref", ref, "--hyp", hyp, "--tokenize", "moses"], /unknown tokenizer 'moses'/);
    fails(["chrf", "--ref", ref, "--hyp", hyp, "--word-order", "x"], /--word-order must be/);
  });
});

describe("maskwise eval on WMT22 agrees with sacreBLEU's figures", () => {
  if (skipWithoutShared) {
    test("WMT22 files", { skip: skipWithoutShared }, () => {});
    return;
  }
  const w = (f: string) => join(SHARED, "data", "wmt22", `generaltest2022.${f}`);
  test("en-de Online-B: BLEU line and JSON, chrF line", () => {
    const args = ["--ref", w("en-de.ref.A.de"), "--hyp", w("en-de.hyp.Online-B.de")];
    const text = run("bleu", ...args);
    assert.equal(text.status, 0, text.stderr);
    assert.equal(
      text.stdout.trim(),
      "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 38.37 66.9/44.1/31.6/23.3 (BP = 1.000 ratio = 1.005 hyp_len = 39114 ref_len = 38914)",
    );
    const j = JSON.parse(run("bleu", ...args, "--json").stdout);
    assert.ok(Math.abs(j.score - 38.36852355513645) < 0.005);
    assert.deepEqual(j.counts, [26182, 16334, 11061, 7685]);
    const chrf = run("chrf", ...args);
    assert.equal(
      chrf.stdout.trim(),
      "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 64.64",
    );
  });
});
