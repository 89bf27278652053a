// `maskwise train --task chat` on a tiny GPT-2 with the qwen2_style tokenizer (ChatML): the
// validation loss falls, the checkpoints carry the tokenizer files as they were (the chat
// template with them) bound to the weights by tokenizer.json's hash, and the run records its
// packing so that --resume packs alike.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { tokenizerHash } from "../../src/node/training-setup.js";
import { conversationsFile, makeChatModelDir } from "../helpers/chat-tokenizers.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

test("train --task chat fine-tunes a decoder-only model and keeps its chat tokenizer", () => {
  const model = makeChatModelDir();
  const data = conversationsFile(tempDir("chat-data"));
  const out = join(tempDir("chat-run"), "run");
  const r = maskwise([
    ...["train", "--task", "chat", "--train", data, "--valid", data, "--init-from", model],
    ...["--out", out, "--max-steps", "24", "--lr", "3e-2", "--warmup", "1", "--eval-every", "8"],
    ...["--pack", "96", "--dropout", "0"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const valid = lines.filter((l) => typeof l.valid_loss === "number").map((l) => l.valid_loss);
  assert.ok(valid.length >= 3, `${valid.length} evaluations`);
  assert.ok(valid[valid.length - 1] < valid[0] - 0.5, `valid_loss ${valid.join(" -> ")}`);
  const last = join(out, "checkpoints", "last");
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    assert.equal(readFileSync(join(last, f), "utf8"), readFileSync(join(model, f), "utf8"), f);
  const weights = parseSafetensors(readFileSync(join(last, "model.safetensors")), "last");
  assert.equal(
    weights.metadata?.tokenizer_sha256,
    tokenizerHash(readFileSync(join(model, "tokenizer.json"), "utf8")),
  );
  const state = JSON.parse(readFileSync(join(last, "trainer_state.json"), "utf8"));
  assert.equal(state.options.data.task, "chat");
  assert.equal(state.options.data.pack, 96);
});

test("train --task chat refuses a tokenizer without a chat template", () => {
  const model = makeChatModelDir();
  writeFileSync(join(model, "tokenizer_config.json"), JSON.stringify({ eos_token: "<|im_end|>" }));
  const data = conversationsFile(tempDir("chat-data"));
  const r = maskwise([
    ...["train", "--task", "chat", "--train", data, "--valid", data, "--init-from", model],
    ...["--out", join(tempDir("chat-run"), "run"), "--max-steps", "1"],
  ]);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /^maskwise: the tokenizer has no chat template/);
});

test("a new maskwise decoder-only model trains on chats with a chat tokenizer's special ids", () => {
  const tokDir = makeChatModelDir();
  const dir = tempDir("chat-new");
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      d_model: 16,
      decoder_layers: 1,
      decoder_attention_heads: 2,
      decoder_ffn_dim: 32,
    }),
  );
  const data = conversationsFile(dir);
  const out = join(dir, "run");
  const r = maskwise([
    ...["train", "--task", "chat", "--train", data, "--valid", data, "--tokenizer", tokDir],
    ...["--config", config, "--out", out, "--max-steps", "2"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const last = join(out, "checkpoints", "last");
  const saved = JSON.parse(readFileSync(join(last, "config.json"), "utf8"));
  // pad_token <|endoftext|> = 4000, no bos_token: eos <|im_end|> = 4002.
  assert.equal(saved.maskwise_arch, "decoder-only");
  assert.deepEqual(
    [saved.pad_token_id, saved.bos_token_id, saved.eos_token_id],
    [4000, 4002, 4002],
  );
  const chat = maskwise(["chat", "--model", last, "--max-new-tokens", "3"], "Hi\n");
  assert.equal(chat.status, 0, chat.stderr);
  assert.equal(chat.stdout.split("\n").length, 2);
});
