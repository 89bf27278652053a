// `maskwise quickstart` end to end on a sliver of Multi30k, and its guidance without data.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const m30k = join(import.meta.dirname, "..", "..", "..", "shared", "data", "multi30k");
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, "quickstart", ...args], {
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, ...env },
  });

test("quickstart trains, translates test_2016_flickr and reports BLEU with its signature", (t) => {
  if (!existsSync(m30k)) {
    t.skip(`${m30k} is absent`);
    return;
  }
  const dir = tempDir("qs");
  const data = join(dir, "data");
  mkdirSync(data);
  for (const f of [
    "train.de",
    "train.en",
    "val.de",
    "val.en",
    "test_2016_flickr.de",
    "test_2016_flickr.en",
  ]) {
    const lines = readFileSync(join(m30k, f), "utf8")
      .split("\n")
      .slice(0, f.startsWith("train") ? 400 : 20);
    writeFileSync(join(data, f), `${lines.join("\n")}\n`);
  }
  const out = join(dir, "run");
  const r = run([
    "--data-dir",
    data,
    "--out",
    out,
    "--model",
    "tiny",
    "--vocab-size",
    "300",
    "--max-steps",
    "3",
    "--beam",
    "2",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /trained 3 steps \(max_steps\)/);
  assert.match(
    r.stdout,
    /test_2016_flickr, beam 2: BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = \d+\.\d\d /,
  );
  assert.match(r.stdout, /de: {3}.+\n {2}ref: {2}.+\n {2}hyp: {2}/);
  assert.equal(readFileSync(join(out, "test_2016_flickr.hyp.en"), "utf8").split("\n").length, 21);
  assert.ok(existsSync(join(out, "checkpoints", "best", "tokenizer.json")));
  // The curves sit beside the log; stderr is not a terminal here, so no progress was drawn.
  assert.ok(existsSync(join(out, "curves.svg")) && existsSync(join(out, "curves.png")));
  assert.equal(r.stderr, "");
});

test("without data or network it says how to proceed", () => {
  const dir = tempDir("qs");
  const missing = run(["--data-dir", dir]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /train\.de, train\.en, .* not found .*--data-dir needs/);
  // An unreachable mirror stands for no network.
  const offline = run(["--out", join(dir, "run"), "--cache", join(dir, "cache")], {
    MASKWISE_MIRROR: "http://127.0.0.1:9/",
  });
  assert.notEqual(offline.status, 0);
  assert.match(
    offline.stderr.trim().split("\n").pop() ?? "",
    /could not get Multi30k .*--data-dir/,
  );
});
