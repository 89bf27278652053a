// LoRA through the command line, on the bart reference case (with a tokenizer that fits its
// 64-token vocabulary): `train --init-from DIR --lora-r 4` lowers the loss and writes PEFT's
// adapter files as its checkpoints, `--resume` continues it, `forward --adapter` runs base plus
// adapter, `lora merge` writes a model directory whose logits are the adapter's, and LoRA flags
// that cannot work are refused in one line.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { tokenizerToString, trainTokenizer } from "../../src/tokenizer/index.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { TINY_LINES } from "../helpers/tiny-model.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

/** The bart case's model directory with a small tokenizer. */
function base(): string {
  const dir = tempDir("lora-base");
  for (const f of ["config.json", "model.safetensors", "generation_config.json"])
    copyFileSync(join(HF_REF, "bart", f), join(dir, f));
  writeFileSync(
    join(dir, "tokenizer.json"),
    tokenizerToString(trainTokenizer(TINY_LINES, { vocabSize: 60 })),
  );
  return dir;
}

function data(): string[] {
  const d = tempDir("lora-data");
  const src = join(d, "src.txt");
  const tgt = join(d, "tgt.txt");
  writeFileSync(src, `${TINY_LINES.slice(0, 3).join("\n")}\n`);
  writeFileSync(tgt, `${TINY_LINES.slice(3).join("\n")}\n`);
  return [
    ...["--task", "translation", "--train-src", src, "--train-tgt", tgt],
    ...["--valid-src", src, "--valid-tgt", tgt, "--bleu-sample", "0"],
  ];
}

const validLosses = (out: string) =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => typeof r.valid_loss === "number")
    .map((r) => r.valid_loss as number);

/** The bart case's batch as `forward` reads it. */
function batchFile(d: string): string {
  const b = JSON.parse(readFileSync(join(HF_REF, "bart", "batch.json"), "utf8"));
  const batch = join(d, "batch.json");
  writeFileSync(
    batch,
    JSON.stringify({
      input_ids: b.input_ids,
      attention_mask: b.attention_mask,
      decoder_input_ids: b.decoder_input_ids,
      labels: b.labels,
    }),
  );
  return batch;
}

/** `forward` on the bart case's batch; returns the logits. */
function forward(args: string[]): Float32Array {
  const d = tempDir("lora-fwd");
  const batch = batchFile(d);
  const out = join(d, "out.safetensors");
  const r = maskwise(["forward", ...args, "--input", batch, "--out", out]);
  assert.equal(r.status, 0, r.stderr);
  return parseSafetensors(readFileSync(out), "out").tensors.get("logits")?.data as Float32Array;
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test("train --lora-r: the loss falls, checkpoints are PEFT adapters; resume, forward, merge", () => {
  const dir = base();
  const flags = data();
  const out = join(tempDir("lora-run"), "run");
  const lora = ["--lora-r", "4", "--lora-alpha", "8", "--lora-targets", "q_proj,v_proj"];
  const budget = ["--max-steps", "20", "--warmup", "2", "--lr", "1e-2", "--eval-every", "4"];
  const r = maskwise(["train", ...flags, "--init-from", dir, ...lora, "--out", out, ...budget]);
  assert.equal(r.status, 0, r.stderr);
  const l = validLosses(out);
  assert.ok(l.length >= 5 && l[l.length - 1] < l[0] - 0.1, `validation loss ${l.join(" -> ")}`);

  const last = join(out, "checkpoints", "last");
  assert.deepEqual(readdirSync(last).sort(), [
    "adapter_config.json",
    "adapter_model.safetensors",
    "generation_config.json",
    "optimizer.safetensors",
    "tokenizer.json",
    "trainer_state.json",
  ]);
  const cfg = JSON.parse(readFileSync(join(last, "adapter_config.json"), "utf8"));
  assert.equal(cfg.peft_type, "LORA");
  assert.equal(cfg.task_type, "SEQ_2_SEQ_LM");
  assert.equal(cfg.base_model_name_or_path, resolve(dir));
  assert.deepEqual([cfg.r, cfg.lora_alpha, cfg.target_modules], [4, 8, ["q_proj", "v_proj"]]);
  const names = [
    ...parseSafetensors(readFileSync(join(last, "adapter_model.safetensors")), "a").tensors.keys(),
  ];
  assert.ok(names.every((n) => /^base_model\.model\.model\..*_proj\.lora_[AB]\.weight$/.test(n)));
  assert.ok(existsSync(join(out, "checkpoints", "best", "adapter_model.safetensors")));

  // --resume continues from the adapter checkpoint (the base from --init-from).
  const again = maskwise(["train", "--resume", "--out", out, "--max-steps", "24"]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(JSON.parse(readFileSync(join(last, "trainer_state.json"), "utf8")).step, 24);

  // The checkpoint is an adapter: as --model it is refused with what to do instead.
  const wrong = maskwise(["translate", "--model", last]);
  assert.equal(wrong.status, 2);
  assert.match(wrong.stderr, /holds a LoRA adapter, not a model .*--adapter/);
  const plain = forward(["--model", dir]);
  const adapted = forward(["--model", dir, "--adapter", last]);
  assert.ok(maxDiff(plain, adapted) > 1e-3, "the adapter changes the logits");
  // Merging: the base named by the adapter, the result a plain bart directory.
  const merged = join(tempDir("lora-merged"), "m");
  const m = maskwise(["lora", "merge", "--adapter", last, "--out", merged]);
  assert.equal(m.status, 0, m.stderr);
  assert.deepEqual(readdirSync(merged).sort(), [
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "tokenizer.json",
  ]);
  assert.ok(maxDiff(forward(["--model", merged]), adapted) < 1e-5, "merged logits");
  // A second merge into the same folder is refused: nothing is overwritten.
  const twice = maskwise(["lora", "merge", "--adapter", last, "--out", merged]);
  assert.equal(twice.status, 2);
  // translate runs base plus adapter.
  const t = maskwise(["translate", "--model", dir, "--adapter", last, "--beam", "1"], "a dog\n");
  assert.equal(t.status, 0, t.stderr);
  assert.equal(t.stdout.split("\n").length, 2);
});

test("LoRA flags that cannot work are refused in one line", () => {
  const dir = base();
  const flags = data();
  const out = () => join(tempDir("lora-bad"), "run");
  const refuse = (args: string[], what: RegExp) => {
    const r = maskwise(["train", ...flags, "--max-steps", "1", "--out", out(), ...args]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, what);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  };
  refuse(["--lora-r", "4"], /--lora-r adapts a pretrained model.*--init-from/);
  refuse(["--init-from", dir, "--lora-alpha", "16"], /--lora-alpha needs --lora-r/);
  refuse(["--init-from", dir, "--lora-r", "4", "--lora-targets", "nope"], /no Linear layer/);
  refuse(["--init-from", dir, "--lora-r", "0"], /--lora-r/);
  refuse(["--init-from", dir, "--lora-r", "4", "--freeze", "encoder"], /--freeze/);
  const d = tempDir("lora-bad-fwd");
  const args = ["--input", batchFile(d), "--out", join(d, "o.safetensors")];
  const f = maskwise(["forward", "--model", dir, "--adapter", dir, ...args]);
  assert.equal(f.status, 2);
  assert.match(f.stderr, /^maskwise: no adapter_config\.json \(.*adapter_config\.json\)/);
});

test("train --task lm --init-from llama --lora-r 4: 20 updates lower the loss; only q/v adapters change", () => {
  const dir = tempDir("lora-llama");
  for (const f of ["config.json", "model.safetensors", "generation_config.json"])
    copyFileSync(join(HF_REF, "llama", f), join(dir, f));
  writeFileSync(
    join(dir, "tokenizer.json"),
    tokenizerToString(trainTokenizer(TINY_LINES, { vocabSize: 60 })),
  );
  const text = join(tempDir("lora-llama-text"), "text.jsonl");
  writeFileSync(text, `${TINY_LINES.map((t) => JSON.stringify({ text: t })).join("\n")}\n`);
  const out = join(tempDir("lora-llama-run"), "run");
  const r = maskwise([
    ...["train", "--task", "lm", "--train", text, "--valid", text, "--init-from", dir],
    ...["--lora-r", "4", "--lora-targets", "q_proj,v_proj", "--out", out],
    ...["--max-steps", "20", "--warmup", "2", "--lr", "1e-2", "--eval-every", "4"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const records = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const steps = records.filter((x) => typeof x.loss === "number").map((x) => x.step as number);
  assert.equal(Math.max(...steps), 20, "20 updates");
  const l = validLosses(out);
  assert.ok(l.length >= 5 && l[l.length - 1] < l[0] - 0.1, `validation loss ${l.join(" -> ")}`);

  const last = join(out, "checkpoints", "last");
  const cfg = JSON.parse(readFileSync(join(last, "adapter_config.json"), "utf8"));
  assert.equal(cfg.task_type, "CAUSAL_LM");
  const adapter = parseSafetensors(readFileSync(join(last, "adapter_model.safetensors")), "a");
  const want = JSON.parse(readFileSync(join(HF_REF, "llama_lora", "expected.json"), "utf8")).lora
    .adapter_tensors as Record<string, { shape: number[] }>;
  // The same tensors as PEFT's adapter of this architecture (v_proj's B is [kv_heads * 8, 4]).
  assert.deepEqual([...adapter.tensors.keys()], Object.keys(want));
  for (const [n, t] of adapter.tensors) assert.deepEqual(t.shape, want[n].shape, n);
  for (const [n, t] of adapter.tensors)
    if (n.endsWith("lora_B.weight"))
      assert.ok(
        t.data.some((v) => v !== 0),
        `${n} trained`,
      );
  const opt = parseSafetensors(readFileSync(join(last, "optimizer.safetensors")), "o");
  assert.ok([...opt.tensors.keys()].every((n) => /lora_[AB]\.weight$/.test(n)));

  // Merged: only the q_proj and v_proj weights differ from the base file, bit for bit.
  const merged = join(tempDir("lora-llama-merged"), "m");
  const m = maskwise(["lora", "merge", "--adapter", last, "--out", merged]);
  assert.equal(m.status, 0, m.stderr);
  const baseFile = parseSafetensors(readFileSync(join(dir, "model.safetensors")), "base");
  const mergedFile = parseSafetensors(readFileSync(join(merged, "model.safetensors")), "merged");
  assert.deepEqual([...mergedFile.tensors.keys()], [...baseFile.tensors.keys()]);
  for (const [n, t] of mergedFile.tensors) {
    const b = baseFile.tensors.get(n)?.data as Float32Array;
    const same = t.data.every((v, i) => Object.is(v, b[i]));
    assert.equal(same, !/self_attn\.(q|v)_proj\.weight$/.test(n), n);
  }
  // pretrain takes the same flags: causal-LM pretraining of an adapter.
  const plain = join(tempDir("lora-llama-text"), "text.txt");
  writeFileSync(plain, `${TINY_LINES.join("\n")}\n`);
  const pre = join(tempDir("lora-llama-pre"), "run");
  const p = maskwise([
    ...["pretrain", "--objective", "clm", "--train", plain, "--init-from", dir, "--out", pre],
    ...["--lora-r", "2", "--lora-targets", "all-linear", "--max-steps", "2"],
  ]);
  assert.equal(p.status, 0, p.stderr);
  const preCfg = JSON.parse(
    readFileSync(join(pre, "checkpoints", "last", "adapter_config.json"), "utf8"),
  );
  assert.deepEqual([preCfg.r, preCfg.target_modules], [2, "all-linear"]);
  const preAdapter = readFileSync(join(pre, "checkpoints", "last", "adapter_model.safetensors"));
  // 2 layers x 7 projections x (A, B); the head is not adapted.
  assert.equal(parseSafetensors(preAdapter, "pre").tensors.size, 2 * 7 * 2);
  // generate runs base plus adapter (how the run was trained: its trainer_state.json).
  const g = maskwise(
    ["generate", "--model", dir, "--adapter", last, "--max-new-tokens", "4"],
    `${TINY_LINES[0]}\n`,
  );
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.stdout.split("\n").length, 2);
});
