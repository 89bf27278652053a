// `--base-precision bfloat16` on a LoRA run: the llama reference case trains an adapter on a
// base held in bfloat16 (the loss falls, checkpoints are the same PEFT adapter files), a resumed
// run holds its base the same way (saved with the run), `lora merge` takes the adapter onto the
// base file as stored, and the flag without --lora-r or with another value is refused.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { tokenizerToString, trainTokenizer } from "../../src/tokenizer/index.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { TINY_LINES } from "../helpers/tiny-model.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

function llamaDir(): string {
  const dir = tempDir("lora-bf16-llama");
  for (const f of ["config.json", "model.safetensors", "generation_config.json"])
    copyFileSync(join(HF_REF, "llama", f), join(dir, f));
  writeFileSync(
    join(dir, "tokenizer.json"),
    tokenizerToString(trainTokenizer(TINY_LINES, { vocabSize: 60 })),
  );
  return dir;
}

test("train --lora-r 4 --base-precision bfloat16: the loss falls; resume keeps it; merge works", () => {
  const dir = llamaDir();
  const text = join(tempDir("lora-bf16-text"), "text.jsonl");
  writeFileSync(text, `${TINY_LINES.map((t) => JSON.stringify({ text: t })).join("\n")}\n`);
  const out = join(tempDir("lora-bf16-run"), "run");
  const common = [
    ...["train", "--task", "lm", "--train", text, "--valid", text, "--out", out],
    ...["--log-every", "2"],
  ];
  const r = maskwise([
    ...common,
    ...["--init-from", dir, "--lora-r", "4", "--base-precision", "bfloat16"],
    ...["--max-steps", "16", "--warmup", "2", "--lr", "1e-2", "--eval-every", "4"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const records = () =>
    readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
  const valid = records()
    .filter((x) => typeof x.valid_loss === "number")
    .map((x) => x.valid_loss as number);
  assert.ok(valid.length >= 4 && valid[valid.length - 1] < valid[0] - 0.1, valid.join(" -> "));
  const last = join(out, "checkpoints", "last");
  const adapter = parseSafetensors(readFileSync(join(last, "adapter_model.safetensors")), "a");
  assert.ok([...adapter.tensors.keys()].every((n) => /\.(q|v)_proj\.lora_[AB]\.weight$/.test(n)));
  const state = JSON.parse(readFileSync(join(last, "trainer_state.json"), "utf8"));
  assert.equal(JSON.stringify(state).includes('"base-precision":"bfloat16"'), true);

  // Resumed with no flags: the same adapter continues on a base held the same way.
  const again = maskwise([...common, "--resume", "--max-steps", "18"]);
  assert.equal(again.status, 0, again.stderr);
  const steps = records()
    .filter((x) => typeof x.loss === "number")
    .map((x) => x.step as number);
  assert.equal(Math.max(...steps), 18);

  // Merged onto the base file as stored: only q_proj and v_proj change.
  const merged = join(tempDir("lora-bf16-merged"), "m");
  const m = maskwise(["lora", "merge", "--adapter", last, "--out", merged]);
  assert.equal(m.status, 0, m.stderr);
  const baseFile = parseSafetensors(readFileSync(join(dir, "model.safetensors")), "base");
  const mergedFile = parseSafetensors(readFileSync(join(merged, "model.safetensors")), "merged");
  for (const [n, t] of mergedFile.tensors) {
    const b = baseFile.tensors.get(n)?.data as Float32Array;
    const same = t.data.every((v, i) => Object.is(v, b[i]));
    assert.equal(same, !/self_attn\.(q|v)_proj\.weight$/.test(n), n);
  }
});

test("--base-precision without --lora-r, or not float32/bfloat16, is refused in one line", () => {
  const dir = llamaDir();
  const text = join(tempDir("lora-bf16-text"), "text.jsonl");
  writeFileSync(text, `${TINY_LINES.map((t) => JSON.stringify({ text: t })).join("\n")}\n`);
  const refuse = (args: string[], what: RegExp) => {
    const out = join(tempDir("lora-bf16-bad"), "run");
    const r = maskwise([
      ...["train", "--task", "lm", "--train", text, "--valid", text, "--init-from", dir],
      ...["--out", out],
      ...["--max-steps", "1", ...args],
    ]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, what);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  };
  refuse(["--base-precision", "bfloat16"], /--base-precision needs --lora-r/);
  refuse(
    ["--lora-r", "2", "--base-precision", "float16"],
    /--base-precision must be float32 or bfloat16/,
  );
});
