// Fine-tuning transformers' directories through `train --init-from` (the bart and bert reference
// cases, with a tokenizer that fits their 64-token vocabulary): 20 updates lower the loss, the
// checkpoints stay in transformers' layout (its tensor names, config.json keys), and a directory
// without a tokenizer is refused instead of being paired with a new one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { tokenizerToString, trainTokenizer } from "../../src/tokenizer/index.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { TINY_LINES } from "../helpers/tiny-model.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 });

/** A case's model directory with a small tokenizer (ids below the case's vocabulary of 64). */
function withTokenizer(name: string): { dir: string; tok: string } {
  const dir = tempDir(`ft-${name}`);
  for (const f of ["config.json", "model.safetensors", "generation_config.json"])
    if (existsSync(join(HF_REF, name, f))) copyFileSync(join(HF_REF, name, f), join(dir, f));
  const tok = join(dir, "tokenizer.json");
  writeFileSync(tok, tokenizerToString(trainTokenizer(TINY_LINES, { vocabSize: 60 })));
  return { dir, tok };
}

/** Validation losses of a run, in order (the validation set is the training set here). */
function losses(out: string): number[] {
  return readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => typeof r.valid_loss === "number")
    .map((r) => r.valid_loss as number);
}

const budget = ["--max-steps", "20", "--warmup", "2", "--lr", "3e-3", "--eval-every", "4"];

test("bart fine-tunes on pairs through --init-from; checkpoints keep transformers' layout", () => {
  const { dir } = withTokenizer("bart");
  const data = tempDir("ft-data");
  const src = join(data, "src.txt");
  const tgt = join(data, "tgt.txt");
  writeFileSync(src, `${TINY_LINES.slice(0, 3).join("\n")}\n`);
  writeFileSync(tgt, `${TINY_LINES.slice(3).join("\n")}\n`);
  const out = join(tempDir("ft-bart-run"), "run");
  const r = run([
    "train",
    "--task",
    "translation",
    "--train-src",
    src,
    "--train-tgt",
    tgt,
    "--valid-src",
    src,
    "--valid-tgt",
    tgt,
    "--init-from",
    dir,
    "--out",
    out,
    "--bleu-sample",
    "0",
    ...budget,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const l = losses(out);
  assert.ok(l.length >= 5, `${l.length} evaluations`);
  // Lower at every evaluation, and by more than a tenth of a nat over the 20 updates.
  assert.ok(
    l.every((x, i) => i === 0 || x < l[i - 1]) && l[l.length - 1] < l[0] - 0.1,
    `validation loss ${l.join(" -> ")}`,
  );
  const last = join(out, "checkpoints", "last");
  const header = JSON.parse(readFileSync(join(HF_REF, "bart", "safetensors_header.json"), "utf8"));
  const saved = parseSafetensors(readFileSync(join(last, "model.safetensors")), "last");
  assert.deepEqual([...saved.tensors.keys()].sort(), [...header.header_key_order].sort());
  const config = JSON.parse(readFileSync(join(last, "config.json"), "utf8"));
  const original = JSON.parse(readFileSync(join(HF_REF, "bart", "config.json"), "utf8"));
  assert.deepEqual(Object.keys(config).sort(), Object.keys(original).sort());
  assert.equal(config.model_type, "bart");
  assert.equal(config.decoder_start_token_id, original.decoder_start_token_id);
  // The generation settings travel with the checkpoint, as transformers' generate reads them.
  assert.deepEqual(
    JSON.parse(readFileSync(join(last, "generation_config.json"), "utf8")),
    JSON.parse(readFileSync(join(HF_REF, "bart", "generation_config.json"), "utf8")),
  );
});

test("bert fine-tunes with the masked-LM objective through --init-from", () => {
  const { dir } = withTokenizer("bert");
  const text = join(tempDir("ft-text"), "text.txt");
  writeFileSync(text, `${[...TINY_LINES, ...TINY_LINES].join("\n")}\n`);
  const out = join(tempDir("ft-bert-run"), "run");
  const r = run([
    "pretrain",
    "--objective",
    "mlm",
    "--train",
    text,
    "--valid",
    text,
    "--init-from",
    dir,
    "--out",
    out,
    ...budget,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const l = losses(out);
  assert.ok(l.length >= 5, `${l.length} evaluations`);
  assert.ok(l[l.length - 1] < l[0], `validation loss ${l.join(" -> ")}`);
  const config = JSON.parse(readFileSync(join(out, "checkpoints", "last", "config.json"), "utf8"));
  assert.equal(config.model_type, "bert");
});

/** The case fine-tuned through `args` (train or pretrain): validation loss lower at the end. */
function fineTunes(name: string, args: string[]): void {
  const { dir } = withTokenizer(name);
  const out = join(tempDir(`ft-${name}-run`), "run");
  const r = run([...args, "--init-from", dir, "--out", out, ...budget]);
  assert.equal(r.status, 0, r.stderr);
  const l = losses(out);
  assert.ok(l.length >= 5 && l[l.length - 1] < l[0], `${name}: validation loss ${l.join(" -> ")}`);
  const config = JSON.parse(readFileSync(join(out, "checkpoints", "last", "config.json"), "utf8"));
  assert.equal(
    config.model_type,
    JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).model_type,
  );
}

test("mbart, marian and t5 fine-tune on pairs; roberta on masked LM; gpt2 as a language model", () => {
  const data = tempDir("ft-all");
  const src = join(data, "src.txt");
  const tgt = join(data, "tgt.txt");
  const text = join(data, "text.jsonl");
  writeFileSync(src, `${TINY_LINES.slice(0, 3).join("\n")}\n`);
  writeFileSync(tgt, `${TINY_LINES.slice(3).join("\n")}\n`);
  writeFileSync(text, `${TINY_LINES.map((t) => JSON.stringify({ text: t })).join("\n")}\n`);
  const pairs = ["--train-src", src, "--train-tgt", tgt, "--valid-src", src, "--valid-tgt", tgt];
  for (const name of ["mbart", "marian", "t5"])
    fineTunes(name, ["train", "--task", "translation", ...pairs, "--bleu-sample", "0"]);
  const lines = join(data, "lines.txt");
  writeFileSync(lines, `${[...TINY_LINES, ...TINY_LINES].join("\n")}\n`);
  fineTunes("roberta", ["pretrain", "--objective", "mlm", "--train", lines, "--valid", lines]);
  fineTunes("gpt2", ["train", "--task", "lm", "--train", text, "--valid", text]);
});

test("--init-from a directory without tokenizer.json is refused, naming --tokenizer", () => {
  const out = join(tempDir("ft-none"), "run");
  const text = join(tempDir("ft-none-text"), "t.txt");
  writeFileSync(text, `${TINY_LINES.join("\n")}\n`);
  const r = run([
    "pretrain",
    "--objective",
    "mlm",
    "--train",
    text,
    "--init-from",
    join(HF_REF, "bert"),
    "--out",
    out,
    ...budget,
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^maskwise: .*has no tokenizer\.json.*--tokenizer/);
});
