// The Llama family through the command line: `train --task lm --init-from` the llama reference
// case (with a tokenizer that fits its 64-token vocabulary) runs 20 updates, the validation loss
// falls, and the checkpoint keeps transformers' layout (tensor names, shapes, config.json keys);
// the checkpoint continues prompts (`generate`, greedy and beam search); `convert` writes each
// case back as transformers wrote it; `forward --model` on the case's own directory gives
// transformers' logits and loss.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { tokenizerToString, trainTokenizer } from "../../src/tokenizer/index.js";
import { assertSameConfig, flat, HF_REF, readCase } from "../helpers/hf-ref.js";
import { TINY_LINES } from "../helpers/tiny-model.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 });

test("llama fine-tunes as a language model through --init-from; the checkpoint keeps its layout", () => {
  const dir = tempDir("ft-llama");
  for (const f of ["config.json", "model.safetensors", "generation_config.json"])
    if (existsSync(join(HF_REF, "llama", f))) copyFileSync(join(HF_REF, "llama", f), join(dir, f));
  writeFileSync(
    join(dir, "tokenizer.json"),
    tokenizerToString(trainTokenizer(TINY_LINES, { vocabSize: 60 })),
  );
  const text = join(tempDir("ft-llama-text"), "text.jsonl");
  writeFileSync(text, `${TINY_LINES.map((t) => JSON.stringify({ text: t })).join("\n")}\n`);
  const out = join(tempDir("ft-llama-run"), "run");
  const r = run([
    "train",
    "--task",
    "lm",
    "--train",
    text,
    "--valid",
    text,
    "--init-from",
    dir,
    "--out",
    out,
    "--max-steps",
    "20",
    "--warmup",
    "2",
    "--lr",
    "3e-3",
    "--eval-every",
    "4",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n");
  const records = lines.map((l) => JSON.parse(l));
  const updates = records.filter((x) => typeof x.loss === "number").map((x) => x.step as number);
  assert.equal(Math.max(...updates), 20, "20 updates");
  const l = records.filter((x) => typeof x.valid_loss === "number").map((x) => x.valid_loss);
  assert.ok(l.length >= 5, `${l.length} evaluations`);
  assert.ok(
    l.every((x: number, i: number) => i === 0 || x < l[i - 1]) && l[l.length - 1] < l[0] - 0.1,
    `validation loss ${l.join(" -> ")}`,
  );
  const last = join(out, "checkpoints", "last");
  const c = readCase("llama");
  const saved = parseSafetensors(readFileSync(join(last, "model.safetensors")), "last");
  assert.deepEqual([...saved.tensors.keys()].sort(), [...c.header.header_key_order].sort());
  for (const [n, t] of saved.tensors)
    assert.deepEqual(t.shape, c.header.tensors[n].shape, `${n} shape`);
  const config = JSON.parse(readFileSync(join(last, "config.json"), "utf8"));
  const original = JSON.parse(readFileSync(join(HF_REF, "llama", "config.json"), "utf8"));
  assert.deepEqual(Object.keys(config).sort(), Object.keys(original).sort());
  assert.deepEqual(config.rope_parameters, original.rope_parameters);
  assert.equal(config.num_key_value_heads, original.num_key_value_heads);
  // The checkpoint continues prompts with the cached decoder (beam search reorders its rows).
  for (const extra of [[], ["--beam", "3"]]) {
    const g = spawnSync(
      process.execPath,
      [bin, "generate", "--model", last, "--max-new-tokens", "5", ...extra],
      { encoding: "utf8", timeout: 120_000, input: `${TINY_LINES[0]}\n${TINY_LINES[1]}\n` },
    );
    assert.equal(g.status, 0, g.stderr);
    assert.equal(g.stdout.split("\n").length, 3, `two continuations: ${JSON.stringify(g.stdout)}`);
  }
});

test("convert writes each Llama-family case back as transformers wrote it", () => {
  for (const name of ["llama", "llama_tied", "qwen2", "mistral"]) {
    const out = join(tempDir(`convert-${name}`), "out");
    const r = run(["convert", "--model", join(HF_REF, name), "--out", out]);
    assert.equal(r.status, 0, r.stderr);
    const c = readCase(name);
    const saved = parseSafetensors(readFileSync(join(out, "model.safetensors")), name);
    assert.deepEqual(
      [...saved.tensors.keys()],
      c.header.header_key_order,
      `${name} names, in order`,
    );
    for (const [n, t] of saved.tensors) {
      assert.deepEqual(t.shape, c.header.tensors[n].shape, `${name} ${n} shape`);
      assert.equal(c.header.tensors[n].dtype, "F32", `${name} ${n} dtype`);
    }
    assert.ok(
      readFileSync(join(out, "model.safetensors")).equals(
        readFileSync(join(c.dir, "model.safetensors")),
      ),
      `${name}: model.safetensors differs from transformers' bytes`,
    );
    assertSameConfig(out, c.dir);
  }
});

test("forward --model on the llama case gives transformers' logits and loss", () => {
  const c = readCase("llama");
  const b = c.batch;
  const work = tempDir("fw-llama");
  const input = join(work, "batch.json");
  // forward's labels are aligned with the logits: transformers' shifted by one.
  const labels = (b.labels as number[][]).map((row) => [...row.slice(1), -100]);
  writeFileSync(
    input,
    JSON.stringify({ input_ids: b.input_ids, attention_mask: b.attention_mask, labels }),
  );
  const outFile = join(work, "out.safetensors");
  const r = run(["forward", "--model", c.dir, "--input", input, "--out", outFile]);
  assert.equal(r.status, 0, r.stderr);
  const saved = parseSafetensors(readFileSync(outFile), "out");
  const logits = saved.tensors.get("logits");
  const loss = saved.tensors.get("loss");
  assert.ok(logits && loss);
  const want = c.expected.with_position_ids_from_mask as {
    logits: { shape: number[]; data: unknown };
    loss_f64_recomputed: number;
  };
  assert.deepEqual(logits.shape, want.logits.shape);
  const expected = flat(want.logits);
  const valid = c.expected.valid_positions.flat();
  const V = want.logits.shape[2];
  let worst = 0;
  valid.forEach((ok, p) => {
    if (!ok) return;
    for (let v = 0; v < V; v++)
      worst = Math.max(worst, Math.abs(Number(logits.data[p * V + v]) - expected[p * V + v]));
  });
  assert.ok(worst <= 1e-4, `logits differ by ${worst}`);
  assert.ok(
    Math.abs(Number(loss.data[0]) - want.loss_f64_recomputed) <= 1e-5,
    `loss ${loss.data[0]}`,
  );
});
