// Tokenizers with chat templates for the chat tests: the qwen2_style reference case as it is
// (ChatML), and the llama_spm_bpe case with a Llama-2 style template, or qwen2_style with a
// template that marks the assistant's text with {% generation %} and renders an earlier answer
// differently once later turns follow (as templates that drop earlier reasoning do).
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { saveModel } from "../../src/node/model-dir.js";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import { Rng } from "../../src/util/rng.js";
import { tempDir } from "./tmp.js";

export const REF_TOKENIZERS = join(
  import.meta.dirname,
  "..",
  "..",
  "..",
  "shared",
  "ref",
  "tokenizers",
);
export const QWEN_DIR = join(REF_TOKENIZERS, "qwen2_style");

export const LLAMA2_TEMPLATE =
  "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}" +
  "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}" +
  "{{ ' ' + message['content'] + ' ' + eos_token }}{% endif %}{% endfor %}";

/** ChatML whose earlier answers keep only their text after "|" (the last one is whole). */
export const MARKED_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}" +
  "{% if message['role'] == 'assistant' %}{% generation %}" +
  "{% if loop.last %}{{ message['content'] }}{% else %}{{ message['content'].split('|')[-1] }}{% endif %}" +
  "{{ '<|im_end|>' }}{% endgeneration %}{{ '\\n' }}" +
  "{% else %}{{ message['content'] + '<|im_end|>\\n' }}{% endif %}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** A copy of reference case `name` whose tokenizer_config.json has `template`. */
export function withTemplate(name: string, template: string): string {
  const dir = tempDir(`chat-tok-${name}`);
  copyFileSync(join(REF_TOKENIZERS, name, "tokenizer.json"), join(dir, "tokenizer.json"));
  const config = JSON.parse(
    readFileSync(join(REF_TOKENIZERS, name, "tokenizer_config.json"), "utf8"),
  );
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify({ ...config, chat_template: template }, null, 2),
  );
  return dir;
}

/**
 * A tiny GPT-2 or Qwen2 (transformers' layout, random weights) sized for the tokenizer in `tokDir`, with
 * that tokenizer's files beside it: a chat model directory. eos is the template's end of turn.
 */
export function makeChatModelDir(
  tokDir = QWEN_DIR,
  seed = 3,
  family: "gpt2" | "qwen2" = "gpt2",
): string {
  const dir = tempDir("chat-model");
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join(tokDir, f), join(dir, f));
  const tok = loadModelTokenizer(dir);
  const eos = tok.tokenToId(tok.config?.eosToken ?? "") ?? 0;
  const qwen2 = {
    model_type: "qwen2",
    vocab_size: tok.vocabSize,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 512,
    bos_token_id: eos,
    eos_token_id: eos,
    tie_word_embeddings: true,
  };
  const gpt2 = {
    model_type: "gpt2",
    vocab_size: tok.vocabSize,
    n_embd: 16,
    n_layer: 1,
    n_head: 2,
    n_inner: 32,
    n_positions: 512,
    bos_token_id: eos,
    eos_token_id: eos,
    activation_function: "gelu_new",
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: true,
  };
  const raw = family === "qwen2" ? qwen2 : gpt2;
  writeFileSync(join(dir, "config.json"), JSON.stringify(raw));
  const model = buildModel(resolveModelConfig(raw, "config.json"), seed);
  // Wider than training's init, so a random model's greedy reply is not one token repeated.
  for (const [, p] of model.namedParameters()) {
    const r = new Rng(seed + p.size);
    for (let i = 0; i < p.size; i++) p.f32[i] = 0.5 * r.normal();
  }
  saveModel(dir, model);
  return dir;
}

/** Three short conversations for fine-tuning tests (one with two answers, one with a system turn). */
export const CONVERSATIONS = [
  [
    { role: "user", content: "Hi" },
    { role: "assistant", content: "Hello there!" },
  ],
  [
    { role: "user", content: "How are you?" },
    { role: "assistant", content: "Fine, thanks." },
    { role: "user", content: "Good." },
    { role: "assistant", content: "Glad to hear." },
  ],
  [
    { role: "system", content: "Answer briefly." },
    { role: "user", content: "Bye" },
    { role: "assistant", content: "Goodbye!" },
  ],
];

/** A JSON-lines file of the conversations. */
export function conversationsFile(dir: string): string {
  const path = join(dir, "chat.jsonl");
  writeFileSync(path, CONVERSATIONS.map((messages) => JSON.stringify({ messages })).join("\n"));
  return path;
}
