// A run directory is never overwritten by accident: a fresh run refuses a folder that holds one
// (or anything else) unless --resume or --overwrite says what to do; a run that fails to start
// leaves no folder behind; average refuses to write over a checkpoint.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";

const lines = (f: string) => readFileSync(f, "utf8").trim().split("\n").length;

test("train and pretrain refuse an --out holding a run unless --resume or --overwrite", () => {
  const { dir, flags, config } = tinyTranslation("rundir");
  const out = join(dir, "run1");
  const first = maskwise(["train", ...flags, "--out", out, "--max-steps", "2", "--log-every", "1"]);
  assert.equal(first.status, 0, first.stderr);
  const best = readFileSync(join(out, "checkpoints", "best", "model.safetensors"));
  const logged = lines(join(out, "metrics.jsonl"));

  const again = maskwise(["train", ...flags, "--out", out, "--max-steps", "2"]);
  assert.equal(again.status, 2);
  assert.match(
    again.stderr,
    /^maskwise: --out already holds a run \(.*run1\): .*--resume.*--overwrite/,
  );
  assert.equal(again.stderr.trim().split("\n").length, 1);
  const clm = maskwise([
    ...["pretrain", "--objective", "clm", "--train", join(dir, "text.txt"), "--model", config],
    ...["--vocab-size", "50", "--max-steps", "1", "--out", out],
  ]);
  assert.equal(clm.status, 2);
  assert.match(clm.stderr, /already holds a run/);
  // Nothing was touched.
  assert.deepEqual(readFileSync(join(out, "checkpoints", "best", "model.safetensors")), best);
  assert.equal(lines(join(out, "metrics.jsonl")), logged);
  assert.match(
    readFileSync(join(out, "checkpoints", "last", "config.json"), "utf8"),
    /encoder-decoder/,
  );

  // --overwrite starts afresh: the log holds the new run's lines only.
  const fresh = maskwise([
    ...["train", ...flags, "--out", out, "--max-steps", "1", "--log-every", "1"],
    "--overwrite",
  ]);
  assert.equal(fresh.status, 0, fresh.stderr);
  const records = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    records.map((r) => r.step),
    [1, 1],
    "one training line and one evaluation",
  );
  const both = maskwise(["train", ...flags, "--out", out, "--resume", "--overwrite"]);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--resume and --overwrite/);

  // A folder with other files is not a run, and is refused too (nothing is written into it).
  writeFileSync(join(dir, "keep.txt"), "x");
  const notEmpty = maskwise(["train", ...flags, "--out", dir, "--max-steps", "1"]);
  assert.equal(notEmpty.status, 2);
  assert.match(notEmpty.stderr, /--out is not empty/);
  assert.ok(!existsSync(join(dir, "metrics.jsonl")) && !existsSync(join(dir, "checkpoints")));
});

test("a run that fails to start leaves no folder behind", () => {
  const { dir, flags } = tinyTranslation("nostart");
  const out = join(dir, "never");
  const r = maskwise([
    ...["train", ...flags, "--out", out, "--max-steps", "1"],
    ...["--train-src", join(dir, "missing.de")],
  ]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /missing\.de/);
  assert.ok(!existsSync(out), "no empty OUT/checkpoints/");
});

test("average refuses a non-empty --out; --overwrite drops the old optimizer state", () => {
  const { dir, flags } = tinyTranslation("avgout");
  const out = join(dir, "run");
  const r = maskwise(["train", ...flags, "--out", out, "--max-steps", "2", "--eval-every", "1"]);
  assert.equal(r.status, 0, r.stderr);
  const best = join(out, "checkpoints", "best");
  const last = join(out, "checkpoints", "last");
  const refused = maskwise(["average", "--out", last, best, last]);
  assert.equal(refused.status, 2);
  assert.match(refused.stderr, /--out is not empty .*--overwrite/);
  assert.ok(existsSync(join(last, "optimizer.safetensors")), "left as it was");
  const replaced = maskwise(["average", "--out", last, "--overwrite", best, last]);
  assert.equal(replaced.status, 0, replaced.stderr);
  assert.ok(!existsSync(join(last, "optimizer.safetensors")));
  assert.ok(!existsSync(join(last, "trainer_state.json")));
  assert.ok(existsSync(join(last, "model.safetensors")));
});
