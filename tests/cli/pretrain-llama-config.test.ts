// A new Llama-family model from a transformers config.json alone, as the llama-dialogsum-lora
// recipe builds one: `pretrain --objective clm --config config.json` (no --init-from) trains a
// LlamaForCausalLM with transformers' tensor names and grouped-query shapes, and its checkpoint,
// given a chat template, is a base that `train --task chat --lora-r` adapts and
// `generate --chat --adapter` decodes.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

const LINES = [
  "the dog runs in the park",
  "a cat sleeps on the warm mat",
  "two dogs play with a red ball",
  "the man reads a long book",
  "a woman walks to the old market",
  "the children sing in the garden",
];

test("pretrain --objective clm --config <llama config.json> trains a Llama model; LoRA chat SFT adapts it", () => {
  const dir = tempDir("llama-config");
  const text = join(dir, "text.txt");
  writeFileSync(text, `${LINES.join("\n")}\n`);
  const config = join(dir, "config.json");
  // D = 16, H = 4 query heads of Dh = 4 over 2 key/value heads.
  writeFileSync(
    config,
    JSON.stringify({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      vocab_size: 90,
      hidden_size: 16,
      intermediate_size: 40,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      max_position_embeddings: 128,
      rms_norm_eps: 1e-5,
      tie_word_embeddings: true,
      bos_token_id: 0,
      pad_token_id: 1,
      eos_token_id: 2,
    }),
  );
  const pre = join(dir, "clm");
  const p = maskwise([
    ...["pretrain", "--objective", "clm", "--config", config, "--train", text, "--valid", text],
    ...["--out", pre, "--vocab-size", "90", "--max-steps", "30", "--lr", "1e-2", "--warmup", "1"],
    ...["--eval-every", "10", "--dropout", "0"],
  ]);
  assert.equal(p.status, 0, p.stderr);
  const best = join(pre, "checkpoints", "best");
  const saved = JSON.parse(readFileSync(join(best, "config.json"), "utf8"));
  assert.equal(saved.model_type, "llama");
  assert.equal(saved.num_key_value_heads, 2);
  const weights = parseSafetensors(readFileSync(join(best, "model.safetensors")), "best").tensors;
  // k_proj: [KVH * Dh, D] = [8, 16]; q_proj: [H * Dh, D] = [16, 16]; no bias anywhere.
  assert.deepEqual(weights.get("model.layers.1.self_attn.k_proj.weight")?.shape, [8, 16]);
  assert.deepEqual(weights.get("model.layers.1.self_attn.q_proj.weight")?.shape, [16, 16]);
  assert.ok(weights.has("model.layers.0.mlp.gate_proj.weight"));
  assert.ok(![...weights.keys()].some((n) => n.endsWith(".bias")));
  const valid = readFileSync(join(pre, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((l) => typeof l.valid_loss === "number")
    .map((l) => l.valid_loss as number);
  assert.ok(valid[valid.length - 1] < valid[0] - 0.5, `valid_loss ${valid.join(" -> ")}`);

  // The checkpoint as a transformers directory with a chat template, as the recipe makes it.
  const base = join(dir, "base");
  mkdirSync(base);
  for (const f of ["config.json", "model.safetensors", "tokenizer.json"])
    copyFileSync(join(best, f), join(base, f));
  writeFileSync(
    join(base, "tokenizer_config.json"),
    JSON.stringify({
      bos_token: "<s>",
      eos_token: "</s>",
      chat_template:
        "{% for m in messages %}{% if m['role'] == 'user' %}{{ bos_token + m['content'] + ' :' }}" +
        "{% else %}{{ ' ' + m['content'] + eos_token }}{% endif %}{% endfor %}",
    }),
  );
  const chats = join(dir, "chats.jsonl");
  const conv = (u: string, a?: string) =>
    JSON.stringify({
      messages: [{ role: "user", content: u }, ...(a ? [{ role: "assistant", content: a }] : [])],
    });
  writeFileSync(chats, `${conv(LINES[0], "dog")}\n${conv(LINES[1], "cat")}\n`);
  const sft = join(dir, "sft");
  const t = maskwise([
    ...["train", "--task", "chat", "--train", chats, "--valid", chats, "--init-from", base],
    ...["--out", sft, "--lora-r", "2", "--lora-targets", "all-linear", "--max-steps", "2"],
  ]);
  assert.equal(t.status, 0, t.stderr);
  const adapter = join(sft, "checkpoints", "last");
  const adapterConfig = JSON.parse(readFileSync(join(adapter, "adapter_config.json"), "utf8"));
  assert.equal(adapterConfig.r, 2);
  const g = maskwise(
    ["generate", "--chat", "--model", base, "--adapter", adapter, "--max-new-tokens", "3"],
    `${conv(LINES[2])}\n${conv(LINES[3])}\n`,
  );
  assert.equal(g.status, 0, g.stderr);
  assert.equal(g.stdout.split("\n").length, 3, g.stdout);
});
