// `maskwise generate` on a prefix LM (`train --task lm --mask prefix`): the model directory's
// trainer_state.json makes it read prompts bidirectionally, so its output is what training's
// ROUGE decoder (src/train/generate.ts) continues the same prompt with; --mask overrides it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadDecoderOnly } from "../../src/node/model-dir.js";
import { loadTokenizer } from "../../src/node/training-setup.js";
import { continuePrompts, promptDecoder, trainedMask } from "../../src/train/generate.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[], input = "") =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input, timeout: 120_000 });

test("generate continues a prefix LM's prompt as training's decoder does", () => {
  const dir = tempDir("gen-prefix");
  const rows = [
    ["what is red", "an apple is red"],
    ["what is blue", "the sky is blue"],
    ["what is green", "the grass is green"],
    ["what is white", "the snow is white"],
  ];
  const data = join(dir, "qa.tsv");
  writeFileSync(data, `question\tanswer\n${rows.map((r) => r.join("\t")).join("\n")}\n`);
  const out = join(dir, "run");
  const t = run([
    ...["train", "--task", "lm", "--mask", "prefix", "--train", data, "--valid", data],
    ...["--source-field", "question", "--target-field", "answer", "--out", out],
    ...["--vocab-size", "80", "--model", "tiny", "--max-tokens", "1024", "--warmup", "2"],
    ...["--lr", "3e-3", "--dropout", "0", "--max-steps", "12"],
  ]);
  assert.equal(t.status, 0, t.stderr);
  const last = join(out, "checkpoints", "last");
  const model = loadDecoderOnly(last);
  const tok = loadTokenizer(join(last, "tokenizer.json"));
  const { bos_token_id: bos, eos_token_id: eos } = model.config;
  const prompts = ["what is red", "what is the sky"];
  const gen = (extra: string[]) => {
    const r = run(
      ["generate", "--model", last, "--max-new-tokens", "6", ...extra],
      prompts.join("\n"),
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").slice(0, prompts.length);
  };

  // The default is the model's: prefix, prompts as "<s> source </s>" (how training prompts them).
  const prefix = continuePrompts(
    model,
    tok,
    prompts.map((p) => [bos, ...tok.encode(p), eos]),
    { mask: "prefix", maxNewTokens: 6 },
  );
  assert.deepEqual(gen([]), prefix);
  assert.deepEqual(gen(["--mask", "prefix"]), prefix);
  // --mask causal: the same "<s> prompt </s>" (the model was trained on pairs), read causally.
  const causal = continuePrompts(
    model,
    tok,
    prompts.map((p) => [bos, ...tok.encode(p), eos]),
    { mask: "causal", maxNewTokens: 6 },
  );
  assert.deepEqual(gen(["--mask", "causal"]), causal);
  // The two masks give this model different next-token logits for the same prompts, so the
  // default above equals the prefix decoder's output because it reads the prompts as a prefix
  // (the greedy texts of so small a model may still coincide); trainedMask's choice is tested below.
  const ids = prompts.map((p) => [bos, ...tok.encode(p), eos]);
  const first = (mask: "prefix" | "causal") =>
    Array.from(promptDecoder(model, ids, mask).next(new Int32Array(ids.length)));
  const [a, b] = [first("prefix"), first("causal")];
  assert.ok(
    a.some((x, i) => Math.abs(x - b[i]) > 1e-4),
    "prefix and causal logits are equal",
  );

  const bad = run(["generate", "--model", last, "--mask", "bidi"], "x\n");
  assert.equal(bad.status === 0, false);
  assert.match(bad.stderr, /--mask must be prefix or causal/);
});

test("trainedMask: prefix only for a prefix LM trained on source/target pairs", () => {
  const state = (options: unknown) => ({ step: 3, options });
  assert.equal(
    trainedMask(state({ mask: "prefix", data: { task: "lm", targetField: "answer" } })),
    "prefix",
  );
  assert.equal(
    trainedMask(state({ mask: "prefix", data: { task: "summarization", targetField: "summary" } })),
    "prefix",
  );
  // A plain-text lm run has no source to read bidirectionally.
  assert.equal(trainedMask(state({ mask: "prefix", data: { task: "lm" } })), "causal");
  assert.equal(
    trainedMask(state({ mask: "causal", data: { task: "lm", targetField: "a" } })),
    "causal",
  );
  assert.equal(trainedMask(state({ data: { objective: "clm" } })), "causal");
  assert.equal(trainedMask(null), "causal");
  assert.equal(trainedMask({}), "causal");
});
