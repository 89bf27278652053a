// Fine-tuning a Marian (opus-mt) directory with its own tokenizer (tests/helpers/opus-like.ts):
// `train --init-from` encodes sources through source.spm and targets through target.spm into the
// joint ids, each ending with </s>, exactly as transformers' MarianTokenizer (text, text_target=)
// encodes them; the decoder starts from <pad>; the checkpoints carry the tokenizer files, so
// `tokenizer encode`, `translate` and a resumed run read them back.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resolveModelConfig } from "../../src/models/registry.js";
import { pretrainedRunTokenizer } from "../../src/node/pretrained-run-tokenizer.js";
import { collateSeq2Seq } from "../../src/train/collate.js";
import { textExamples } from "../../src/train/text-tasks.js";
import { pretrainedCodec } from "../../src/train/translate.js";
import {
  MARIAN_FILES as FILES,
  opusLike,
  MARIAN_PAD as PAD,
  MARIAN_PAIRS as PAIRS,
  MARIAN_TOKENIZERS as TOKENIZERS,
} from "../helpers/opus-like.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

test("train --init-from a Marian directory encodes pairs as transformers' MarianTokenizer", () => {
  const dir = opusLike();
  const { tokenizer } = pretrainedRunTokenizer(dir, undefined);
  const codec = pretrainedCodec(tokenizer, 0);
  const cfg = resolveModelConfig(
    JSON.parse(readFileSync(join(dir, "config.json"), "utf8")),
    "config.json",
  );
  const examples = textExamples(
    PAIRS.map(([s, t]) => [s.text, t.text]),
    codec,
    cfg,
    { task: "translation", structure: "encoder-decoder", maxLen: 256, training: true },
  );
  assert.equal(examples.length, PAIRS.length);
  examples.forEach((ex, i) => {
    // tokenizer(source) and tokenizer(text_target=target): pieces of each side's spm, then </s>.
    assert.deepEqual(ex.input_ids, PAIRS[i][0].source.ids, `source ${i}`);
    assert.deepEqual(ex.labels, PAIRS[i][1].target.ids, `labels ${i}`);
  });
  // The same English text through source.spm gives other ids: the sides are not interchangeable.
  assert.notDeepEqual(PAIRS[3][1].source.ids, PAIRS[3][1].target.ids);
  // Decoder inputs: the labels shifted right behind decoder_start_token_id (<pad>).
  const batch = collateSeq2Seq(examples.slice(0, 1), PAD, cfg.decoder_start_token_id);
  const T = examples[0].labels.length;
  assert.deepEqual(
    [...batch.decoder_input_ids.i32.subarray(0, T)],
    [PAD, ...examples[0].labels.slice(0, -1)],
  );
});

test("a fine-tuned Marian checkpoint carries its tokenizer: encode, translate and --resume read it", () => {
  const dir = opusLike();
  const data = tempDir("marian-ft-data");
  const src = join(data, "train.de");
  const tgt = join(data, "train.en");
  writeFileSync(src, `${PAIRS.map(([s]) => s.text).join("\n")}\n`);
  writeFileSync(tgt, `${PAIRS.map(([, t]) => t.text).join("\n")}\n`);
  const out = join(tempDir("marian-ft-run"), "run");
  const common = ["--train-src", src, "--train-tgt", tgt, "--valid-src", src, "--valid-tgt", tgt];
  const r = maskwise([
    "train",
    "--task",
    "translation",
    ...common,
    "--init-from",
    dir,
    "--out",
    out,
    "--max-steps",
    "3",
    "--eval-every",
    "3",
    "--bleu-sample",
    "2",
    "--lr",
    "1e-3",
    "--warmup",
    "1",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const evals = metrics.filter((m) => typeof m.valid_loss === "number");
  assert.ok(evals.length >= 1 && Number.isFinite(evals[0].valid_loss), JSON.stringify(metrics));
  assert.equal(typeof evals[0].valid_bleu, "number");

  const best = join(out, "checkpoints", "best");
  for (const f of FILES)
    assert.ok(readFileSync(join(best, f)).equals(readFileSync(join(TOKENIZERS, f))), f);
  assert.deepEqual(
    JSON.parse(readFileSync(join(best, "generation_config.json"), "utf8")),
    JSON.parse(readFileSync(join(dir, "generation_config.json"), "utf8")),
  );
  assert.equal(JSON.parse(readFileSync(join(best, "config.json"), "utf8")).model_type, "marian");

  // The checkpoint's target side encodes as transformers' text_target= does.
  const enc = maskwise(
    ["tokenizer", "encode", "--tokenizer", best, "--side", "target", "--add-special-tokens"],
    `${PAIRS[0][1].text}\n`,
  );
  assert.equal(enc.status, 0, enc.stderr);
  assert.deepEqual(enc.stdout.trim().split(" ").map(Number), PAIRS[0][1].target.ids);

  const tr = maskwise(
    ["translate", "--model", best, "--max-new-tokens", "4"],
    `${PAIRS[0][0].text}\n${PAIRS[1][0].text}\n`,
  );
  assert.equal(tr.status, 0, tr.stderr);
  assert.equal(tr.stdout.split("\n").length, 3);

  // A resumed run reads the tokenizer its checkpoint carries (there is no tokenizer.json).
  const again = maskwise(["train", "--resume", "--out", out, "--max-steps", "4"]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout.trim().split("\n").pop() as string).step, 4);
});

test("--init-from and --model take a hub name that the Hugging Face cache holds", () => {
  // The cache layout `maskwise hub get` writes: models--ORG--NAME/refs/main names the snapshot.
  const cache = tempDir("marian-hub-cache");
  const commit = "0123456789abcdef0123456789abcdef01234567";
  const repo = join(cache, "models--acme--opus-mt-de-en");
  const snapshot = join(repo, "snapshots", commit);
  cpSync(opusLike(), snapshot, { recursive: true });
  mkdirSync(join(repo, "refs"), { recursive: true });
  writeFileSync(join(repo, "refs", "main"), commit);
  const env = { HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "1" };
  const data = tempDir("marian-hub-data");
  const src = join(data, "train.de");
  const tgt = join(data, "train.en");
  writeFileSync(src, `${PAIRS.map(([s]) => s.text).join("\n")}\n`);
  writeFileSync(tgt, `${PAIRS.map(([, t]) => t.text).join("\n")}\n`);
  const out = join(tempDir("marian-hub-run"), "run");
  const pairs = ["--train-src", src, "--train-tgt", tgt, "--valid-src", src, "--valid-tgt", tgt];
  const r = maskwise(
    [
      "train",
      "--task",
      "translation",
      ...pairs,
      "--init-from",
      "acme/opus-mt-de-en",
      "--out",
      out,
    ].concat(["--max-steps", "1", "--bleu-sample", "0"]),
    undefined,
    env,
  );
  assert.equal(r.status, 0, r.stderr);
  const tr = maskwise(
    ["translate", "--model", "acme/opus-mt-de-en", "--max-new-tokens", "3"],
    `${PAIRS[0][0].text}\n`,
    env,
  );
  assert.equal(tr.status, 0, tr.stderr);
  const missing = maskwise(["translate", "--model", "acme/not-downloaded"], "x\n", env);
  assert.equal(missing.status, 2);
  assert.match(
    missing.stderr,
    /neither a folder nor in the Hugging Face cache.*maskwise hub get acme\/not-downloaded/,
  );
});
