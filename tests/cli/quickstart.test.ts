// `maskwise quickstart` end to end: by default on the Tatoeba corpus the package carries, with no
// network; on a sliver of Multi30k with --data-dir; and its guidance without data.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tatoebaSplit } from "../../src/node/tatoeba.js";
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
  // Multi30k keeps its batches and warmup: 4096 tokens, 150 updates.
  const state = JSON.parse(
    readFileSync(join(out, "checkpoints", "last", "trainer_state.json"), "utf8"),
  );
  assert.equal(state.options.maxTokens, 4096);
  assert.equal(state.options.schedule.warmup, 150);
  // The curves sit beside the log; stderr is not a terminal here, so no progress was drawn.
  assert.ok(existsSync(join(out, "curves.svg")) && existsSync(join(out, "curves.png")));
  assert.equal(r.stderr, "");
});

test("with no data flags it trains Chinese-English on the packaged Tatoeba corpus, offline", () => {
  const out = join(tempDir("qs-zh"), "run");
  // An unreachable mirror and hub stand for no network: nothing may be fetched.
  const r = run(
    ["--out", out, "--config", "tiny", "--vocab-size", "3500", "--max-steps", "2", "--beam", "1"],
    {
      MASKWISE_MIRROR: "http://127.0.0.1:9/",
      HF_ENDPOINT: "http://127.0.0.1:9",
      HF_HUB_OFFLINE: "1",
    },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /trained 2 steps \(max_steps\) on Tatoeba Chinese-English/);
  // English output: sacreBLEU's 13a tokenization, named in the signature.
  assert.match(
    r.stdout,
    /Tatoeba zh-en test, beam 1: BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = \d+\.\d\d .*ref_len = \d+\)/,
  );
  assert.equal((r.stdout.match(/\n {2}zh: {3}.+\n {2}ref: {2}.+\n {2}hyp: {2}/g) ?? []).length, 3);
  // The test set is the split's: 1,457 pairs, written beside the translations.
  const { test: pairs } = tatoebaSplit().split;
  assert.equal(pairs.length, 1457);
  const lines = (f: string) => readFileSync(join(out, f), "utf8").split("\n").slice(0, -1);
  assert.deepEqual(
    lines("test.src.zh"),
    pairs.map(([zh]) => zh),
  );
  assert.deepEqual(
    lines("test.ref.en"),
    pairs.map(([, en]) => en),
  );
  assert.equal(lines("test.hyp.en").length, 1457);
  // The tokenizer keeps Chinese characters whole and has byte pieces for the rare ones.
  const tok = JSON.parse(readFileSync(join(out, "checkpoints", "best", "tokenizer.json"), "utf8"));
  assert.equal(tok.model.byte_fallback, true);
  assert.ok("猫" in tok.model.vocab && "<0xE7>" in tok.model.vocab);
  // Chinese needs more updates in the same minutes: batches of 2048 tokens, the recipe's warmup.
  const state = JSON.parse(
    readFileSync(join(out, "checkpoints", "last", "trainer_state.json"), "utf8"),
  );
  assert.equal(state.options.maxTokens, 2048);
  assert.equal(state.options.schedule.warmup, 200);
  assert.equal(r.stderr, "");
});

test("--dataset names tatoeba-zh-en or multi30k; the download flags belong to Multi30k", () => {
  const dir = tempDir("qs-flags");
  const bad = run(["--dataset", "wmt14", "--out", join(dir, "a")]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^maskwise: --dataset must be tatoeba-zh-en or multi30k, got 'wmt14' /);
  assert.equal(bad.stderr.trim().split("\n").length, 1);
  const cache = run(["--cache", dir, "--out", join(dir, "b")]);
  assert.equal(cache.status, 2);
  assert.match(cache.stderr, /--cache only applies to the Multi30k download .*--dataset multi30k/);
  // --dataset tatoeba-zh-en --data-dir DIR reads DIR/cmn.txt.
  const none = run(["--dataset", "tatoeba-zh-en", "--data-dir", dir, "--out", join(dir, "c")]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /cmn\.txt not found .*maskwise data get tatoeba-zh/);
  assert.ok(!existsSync(join(dir, "a")) && !existsSync(join(dir, "c")));
});

test("without data or network it says how to proceed", () => {
  const dir = tempDir("qs");
  const missing = run(["--data-dir", dir]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /train\.de, train\.en, .* not found .*--data-dir needs/);
  // An unreachable mirror stands for no network.
  const offline = run(
    ["--dataset", "multi30k", "--out", join(dir, "run"), "--cache", join(dir, "cache")],
    {
      MASKWISE_MIRROR: "http://127.0.0.1:9/",
    },
  );
  assert.notEqual(offline.status, 0);
  assert.match(
    offline.stderr.trim().split("\n").pop() ?? "",
    /could not get Multi30k .*--data-dir/,
  );
});
