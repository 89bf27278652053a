// `train --keep-epochs N` keeps the last N epoch checkpoints; `maskwise average` turns them into
// one model directory whose weights are their mean, and refuses checkpoints of different models.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input, timeout: 120_000 });

const tinyConfig = (d: number) => ({
  d_model: d,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 32,
  decoder_ffn_dim: 32,
  tie_word_embeddings: true,
  share_embeddings: true,
});

const weights = (dir: string) =>
  parseSafetensors(readFileSync(join(dir, "model.safetensors"))).tensors;

test("keep-epochs keeps the last epochs; average writes their mean; mismatched configs refused", () => {
  const dir = tempDir("average");
  const src = ["ein hund läuft", "eine katze schläft", "zwei hunde spielen", "ein mann liest"];
  const tgt = ["a dog runs", "a cat sleeps", "two dogs play", "a man reads"];
  writeFileSync(join(dir, "s"), `${src.join("\n")}\n`);
  writeFileSync(join(dir, "t"), `${tgt.join("\n")}\n`);
  const train = (name: string, d: number, extra: string[]) => {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(tinyConfig(d)));
    const r = run([
      "train",
      "--task",
      "translation",
      ...["--train-src", join(dir, "s"), "--train-tgt", join(dir, "t")],
      ...["--valid-src", join(dir, "s"), "--valid-tgt", join(dir, "t")],
      ...["--out", join(dir, name), "--model", join(dir, `${name}.json`)],
      ...["--vocab-size", "60", "--max-tokens", "16", "--bleu-sample", "2", "--seed", "3"],
      ...extra,
    ]);
    assert.equal(r.status, 0, r.stderr);
    return join(dir, name, "checkpoints");
  };
  const ckpt = train("a", 16, ["--max-epochs", "4", "--keep-epochs", "2"]);
  const kept = readdirSync(ckpt)
    .filter((n) => n.startsWith("epoch-"))
    .sort();
  assert.deepEqual(kept, ["epoch-3", "epoch-4"]);
  // The last epoch checkpoint holds the same weights as checkpoints/last (saved at that boundary).
  const last = weights(join(ckpt, "last"));
  const e4 = weights(join(ckpt, "epoch-4"));
  for (const [name, t] of last) assert.deepEqual(e4.get(name)?.data, t.data, name);

  const out = join(dir, "avg");
  const r = run(["average", "--out", out, join(ckpt, "epoch-3"), join(ckpt, "epoch-4")]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { out, averaged: 2 });
  assert.ok(existsSync(join(out, "tokenizer.json")));
  assert.equal(
    readFileSync(join(out, "config.json"), "utf8"),
    readFileSync(join(ckpt, "epoch-3", "config.json"), "utf8"),
  );
  const e3 = weights(join(ckpt, "epoch-3"));
  const avg = weights(out);
  let differs = 0;
  for (const [name, t] of avg) {
    const a = e3.get(name)?.data as Float32Array;
    const b = e4.get(name)?.data as Float32Array;
    t.data.forEach((x, k) => {
      assert.ok(Math.abs(x - (a[k] + b[k]) / 2) < 1e-6, `${name}[${k}]`);
      if (a[k] !== b[k]) differs++;
    });
  }
  assert.ok(differs > 0, "the two epochs hold different weights");
  // The averaged directory is a model directory translate accepts.
  const tr = run(["translate", "--model", out], "ein hund läuft\n");
  assert.equal(tr.status, 0, tr.stderr);
  assert.equal(tr.stdout.split("\n").length, 2);

  const other = train("b", 8, ["--max-steps", "1"]);
  const bad = run([
    "average",
    "--out",
    join(dir, "bad"),
    join(ckpt, "epoch-4"),
    join(other, "last"),
  ]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /config\.json differs.*d_model: 16 vs 8/);
  assert.ok(!existsSync(join(dir, "bad")));

  const none = run(["average", "--out", join(dir, "none"), dir]);
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /not a model directory/);
});

test("--max-minutes stops a run by training time; a budget of 0 is refused", () => {
  const dir = tempDir("budget");
  writeFileSync(join(dir, "s"), "ein hund läuft\neine katze schläft\n");
  writeFileSync(join(dir, "t"), "a dog runs\na cat sleeps\n");
  writeFileSync(join(dir, "m.json"), JSON.stringify(tinyConfig(16)));
  const args = (minutes: string) => [
    "train",
    "--task",
    "translation",
    ...["--train-src", join(dir, "s"), "--train-tgt", join(dir, "t")],
    ...["--valid-src", join(dir, "s"), "--valid-tgt", join(dir, "t")],
    ...["--out", join(dir, `run${minutes}`), "--model", join(dir, "m.json")],
    ...["--vocab-size", "60", "--bleu-sample", "1", "--max-minutes", minutes],
  ];
  // A budget of 60 ns ends after the first update (no update is that fast, however idle the
  // machine); with no --max-epochs the run is not capped at the default 10 epochs, so only the
  // time limit can have stopped it.
  const r = run(args("1e-9"));
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim().split("\n").at(-1) as string);
  assert.equal(line.stopped_by, "max_time");
  assert.equal(line.step, 1);
  const zero = run(args("0"));
  assert.equal(zero.status, 2);
  assert.match(zero.stderr, /--max-minutes must be above 0/);
  // --schedule linear over 10 updates: the rate falls to lr / 10 at the last, and is saved with
  // the run (a resumed run keeps it); an unknown schedule is refused by name.
  const lin = run([
    ...args("5").map((a) => (a === join(dir, "run5") ? join(dir, "lin") : a)),
    ...["--max-steps", "10", "--schedule", "linear", "--lr", "1e-3", "--warmup", "0"],
  ]);
  assert.equal(lin.status, 0, lin.stderr);
  const lrs = readFileSync(join(dir, "lin", "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((m) => "lr" in m);
  assert.ok(Math.abs(lrs.at(-1).lr - 1e-4) < 1e-12, `last lr ${lrs.at(-1).lr}`);
  const state = JSON.parse(
    readFileSync(join(dir, "lin", "checkpoints", "last", "trainer_state.json"), "utf8"),
  );
  assert.equal(state.options.schedule.kind, "linear");
  const bad = run([...args("5"), "--schedule", "step"]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--schedule must be inverse-sqrt, linear or cosine, got 'step'/);
});
