// `maskwise pretrain` end to end: an mlm run resumed after an interruption logs the same losses
// as one that ran straight through; its encoder starts an encoder-decoder (`train --init-from`),
// stays bit-identical under --freeze encoder, and a tokenizer or vocabulary that does not fit
// fails with a message naming the file and the tensor.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { initFrom } from "../../src/node/training-setup.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 });

const sentences = [
  "the cat sat on the mat",
  "the dog sat on the log",
  "a bird sang in the tree",
  "the cat saw the bird",
  "a dog ran to the tree",
  "the bird flew over the mat",
  "a cat ran on the log",
  "the dog saw a cat",
];
const weights = (dir: string) =>
  parseSafetensors(readFileSync(join(dir, "model.safetensors"))).tensors;
const lossLines = (out: string) =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((m) => "loss" in m || "valid_loss" in m)
    .map(({ step, loss, valid_loss, valid_mlm_accuracy }) => ({
      step,
      loss,
      valid_loss,
      valid_mlm_accuracy,
    }));

test("pretrain mlm: exact resume, init-from into an encoder-decoder, freeze, mismatches", () => {
  const dir = tempDir("pretrain");
  const text = join(dir, "text.txt");
  writeFileSync(text, `${sentences.join("\n")}\n`);
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
  const pretrain = (out: string, extra: string[]) =>
    run([
      "pretrain",
      "--objective",
      "mlm",
      "--train",
      text,
      "--valid",
      text,
      "--out",
      out,
      "--model",
      config,
      "--vocab-size",
      "60",
      "--max-tokens",
      "40",
      "--warmup",
      "2",
      "--eval-every",
      "3",
      "--mask-rate",
      "0.3",
      "--whole-word",
      ...extra,
    ]);
  const straight = join(dir, "straight");
  const a = pretrain(straight, ["--max-steps", "12"]);
  assert.equal(a.status, 0, a.stderr);
  const cut = join(dir, "cut");
  const b1 = pretrain(cut, ["--max-steps", "5"]);
  assert.equal(b1.status, 0, b1.stderr);
  const b2 = run([
    "pretrain",
    "--objective",
    "mlm",
    "--train",
    text,
    "--valid",
    text,
    "--out",
    cut,
    "--resume",
    "--max-steps",
    "12",
  ]);
  assert.equal(b2.status, 0, b2.stderr);
  // The interrupted run evaluated once more (at its stop, step 5); every other line is identical.
  const resumed = lossLines(cut).filter((m) => !(m.step === 5 && m.valid_loss !== undefined));
  assert.ok(resumed.some((m) => m.loss !== undefined && m.step === 10));
  assert.deepEqual(resumed, lossLines(straight));
  assert.ok(lossLines(straight).some((m) => typeof m.valid_mlm_accuracy === "number"));

  // The MLM encoder starts an encoder-decoder: encoder tensors copied, the decoder fresh.
  const mlmDir = join(straight, "checkpoints", "last");
  const mlm = weights(mlmDir);
  const cfg = JSON.parse(readFileSync(join(mlmDir, "config.json"), "utf8"));
  const model = new EncoderDecoderModel(
    resolveConfig({ ...cfg, maskwise_arch: "encoder-decoder" }),
    3,
  );
  const fresh = new EncoderDecoderModel(
    resolveConfig({ ...cfg, maskwise_arch: "encoder-decoder" }),
    3,
  );
  initFrom(model, mlmDir);
  const freshByName = new Map(fresh.namedParameters());
  let copied = 0;
  for (const [name, p] of model.namedParameters()) {
    if (name.startsWith("model.encoder.")) {
      assert.deepEqual(p.f32, Float32Array.from(mlm.get(name)?.data ?? []), name);
      copied++;
    } else if (name.startsWith("model.decoder.layers.")) {
      assert.deepEqual(p.f32, freshByName.get(name)?.f32, name);
    }
  }
  assert.ok(copied > 5);
  // A model with another vocabulary cannot take these weights.
  const other = new EncoderDecoderModel(
    resolveConfig({ ...cfg, vocab_size: cfg.vocab_size + 5, maskwise_arch: "encoder-decoder" }),
    3,
  );
  assert.throws(
    () => initFrom(other, mlmDir),
    (e: Error) =>
      /model\.encoder\.embed_tokens\.weight/.test(e.message) &&
      /model\.safetensors/.test(`${e.message} ${(e as { where?: string }).where}`) &&
      /vocabulary/.test(e.message),
  );

  // Fine-tuning from it with the encoder frozen leaves the encoder bit-identical.
  const pairs = join(dir, "pairs.tsv");
  writeFileSync(
    pairs,
    sentences.map((s) => `${s}\t${s.split(" ").slice(0, 3).join(" ")}`).join("\n"),
  );
  const ft = join(dir, "ft");
  const f = run([
    "train",
    "--task",
    "summarization",
    "--train",
    pairs,
    "--valid",
    pairs,
    "--init-from",
    mlmDir,
    "--freeze",
    "encoder",
    "--out",
    ft,
    "--max-steps",
    "3",
    "--max-tokens",
    "64",
    "--warmup",
    "1",
    "--lr",
    "1e-2",
    "--weight-decay",
    "0.1",
    "--rouge-sample",
    "1",
  ]);
  assert.equal(f.status, 0, f.stderr);
  const tuned = weights(join(ft, "checkpoints", "last"));
  for (const [name, t] of tuned) {
    if (!name.startsWith("model.encoder.")) continue;
    assert.deepEqual(t.data, mlm.get(name)?.data, `${name} changed under --freeze encoder`);
  }
  // Another tokenizer than the model's is refused.
  writeFileSync(join(dir, "other.txt"), "completely different words here\n");
  const otherTok = join(dir, "other.json");
  const t = run([
    "tokenizer",
    "train",
    "--input",
    join(dir, "other.txt"),
    "--vocab-size",
    "40",
    "--out",
    otherTok,
  ]);
  assert.equal(t.status, 0, t.stderr);
  const bad = run([
    "train",
    "--task",
    "summarization",
    "--train",
    pairs,
    "--valid",
    pairs,
    "--init-from",
    mlmDir,
    "--tokenizer",
    otherTok,
    "--out",
    join(dir, "bad"),
    "--max-steps",
    "1",
  ]);
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /tokenizer .*other\.json differs/);
});
