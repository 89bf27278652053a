// `maskwise train` writes a run directory that `translate`, `forward` and `--resume` accept.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input, timeout: 120_000 });

test("train, resume, translate", () => {
  const dir = tempDir("train");
  const src = [
    "ein hund läuft",
    "eine katze schläft",
    "zwei hunde spielen",
    "ein mann liest",
    "eine frau singt",
    "kinder spielen",
  ];
  const tgt = [
    "a dog runs",
    "a cat sleeps",
    "two dogs play",
    "a man reads",
    "a woman sings",
    "children play",
  ];
  for (const [name, lines] of [
    ["train.de", src],
    ["train.en", tgt],
    ["valid.de", src.slice(0, 2)],
    ["valid.en", tgt.slice(0, 2)],
  ] as const) {
    writeFileSync(join(dir, name), `${lines.join("\n")}\n`);
  }
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      d_model: 16,
      encoder_layers: 1,
      decoder_layers: 1,
      encoder_attention_heads: 2,
      decoder_attention_heads: 2,
      encoder_ffn_dim: 32,
      decoder_ffn_dim: 32,
      tie_word_embeddings: true,
      share_embeddings: true,
    }),
  );
  const out = join(dir, "run");
  const common = [
    "--train-src",
    join(dir, "train.de"),
    "--train-tgt",
    join(dir, "train.en"),
    "--valid-src",
    join(dir, "valid.de"),
    "--valid-tgt",
    join(dir, "valid.en"),
    "--out",
    out,
  ];
  const first = run([
    "train",
    "--task",
    "translation",
    ...common,
    "--model",
    config,
    "--vocab-size",
    "60",
    "--max-steps",
    "4",
    "--eval-every",
    "2",
    "--max-tokens",
    "64",
    "--warmup",
    "2",
    "--bleu-sample",
    "2",
    "--bf16",
  ]);
  assert.equal(first.status, 0, first.stderr);
  assert.deepEqual(JSON.parse(first.stdout.trim().split("\n").pop() ?? "{}").step, 4);
  for (const f of [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "trainer_state.json",
    "optimizer.safetensors",
  ]) {
    assert.ok(existsSync(join(out, "checkpoints", "last", f)), `last/${f}`);
    assert.ok(existsSync(join(out, "checkpoints", "best", f)), `best/${f}`);
  }
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const evals = metrics.filter((m) => "valid_loss" in m);
  assert.equal(evals.length, 2);
  assert.ok(evals.every((m) => typeof m.valid_bleu === "number"));

  const resumed = run([
    "train",
    "--task",
    "translation",
    ...common,
    "--max-steps",
    "6",
    "--eval-every",
    "2",
    "--max-tokens",
    "64",
    "--warmup",
    "2",
    "--bleu-sample",
    "2",
    "--resume",
  ]);
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal(JSON.parse(resumed.stdout.trim().split("\n").pop() ?? "{}").step, 6);
  // --bf16 (mixed precision) is one of the run's options: saved, and kept on --resume.
  const state = JSON.parse(
    readFileSync(join(out, "checkpoints", "last", "trainer_state.json"), "utf8"),
  );
  assert.equal(state.options.matmulPrecision, "bfloat16");

  // Resuming without flags keeps the run's own limits: a finished run takes no new steps.
  const again = run(["train", "--task", "translation", ...common, "--resume"]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout.trim().split("\n").pop() ?? "{}").step, 6);

  const tr = run(
    ["translate", "--model", join(out, "checkpoints", "best"), "--beam", "2"],
    "ein hund läuft\n\neine katze schläft\n",
  );
  assert.equal(tr.status, 0, tr.stderr);
  const lines = tr.stdout.split("\n");
  assert.equal(lines.length, 4); // three outputs and the final newline
  assert.equal(lines[1], "");
  // --bf16 decodes the same input on bfloat16 weights: one line per input, blanks kept.
  const half = run(
    ["translate", "--model", join(out, "checkpoints", "best"), "--beam", "2", "--bf16"],
    "ein hund läuft\n\neine katze schläft\n",
  );
  assert.equal(half.status, 0, half.stderr);
  assert.equal(half.stdout.split("\n").length, 4);
  assert.equal(half.stdout.split("\n")[1], "");
  // --no-repeat-ngram-size reaches the search (its blocking is tested in tests/decode); a bad
  // value is an error that names the flag.
  const noRepeat = run(
    ["translate", "--model", join(out, "checkpoints", "best"), "--no-repeat-ngram-size", "2"],
    "ein hund läuft\n",
  );
  assert.equal(noRepeat.status, 0, noRepeat.stderr);
  assert.equal(noRepeat.stdout.split("\n").length, 2);
  const badNgram = run(
    ["translate", "--model", join(out, "checkpoints", "best"), "--no-repeat-ngram-size", "-1"],
    "ein hund läuft\n",
  );
  assert.equal(badNgram.status, 2);
  assert.match(badNgram.stderr, /no-repeat-ngram-size/);

  const missing = run([
    "train",
    "--task",
    "translation",
    "--train-src",
    join(dir, "nope.de"),
    "--train-tgt",
    join(dir, "train.en"),
    "--valid-src",
    join(dir, "valid.de"),
    "--valid-tgt",
    join(dir, "valid.en"),
    "--out",
    join(dir, "run2"),
  ]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.de/);
});
