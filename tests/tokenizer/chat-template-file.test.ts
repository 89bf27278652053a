// Chat templates kept in their own files, as transformers >= 4.43 saves them: chat_template.jinja
// (the default template) and additional_chat_templates/NAME.jinja. They are read in place of
// tokenizer_config.json's chat_template (transformers reads them so: the files win over the
// config), and a chat run's checkpoints carry them in the same files.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { chatCheckpointFiles } from "../../src/node/chat-data.js";
import { DirectoryStore } from "../../src/node/run-store.js";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import { QWEN_DIR } from "../helpers/chat-tokenizers.js";
import { tempDir } from "../helpers/tmp.js";

interface ChatCase {
  messages: { role: string; content: string }[];
  text: string;
  text_no_generation_prompt: string;
}

const expected = JSON.parse(readFileSync(join(QWEN_DIR, "expected.json"), "utf8")) as {
  chat: ChatCase[];
};
const config = JSON.parse(readFileSync(join(QWEN_DIR, "tokenizer_config.json"), "utf8"));
const TEMPLATE: string = config.chat_template;

/** The qwen2_style case with its template moved to chat_template.jinja; `inConfig` stays behind. */
function fixture(inConfig?: string): string {
  const dir = tempDir("chat-template-file");
  copyFileSync(join(QWEN_DIR, "tokenizer.json"), join(dir, "tokenizer.json"));
  const { chat_template: _moved, ...rest } = config;
  writeFileSync(
    join(dir, "tokenizer_config.json"),
    JSON.stringify(inConfig === undefined ? rest : { ...rest, chat_template: inConfig }, null, 2),
  );
  writeFileSync(join(dir, "chat_template.jinja"), TEMPLATE);
  return dir;
}

test("chat_template.jinja renders transformers' reference conversations", () => {
  const tok = loadModelTokenizer(fixture());
  assert.ok(expected.chat.length > 0);
  for (const c of expected.chat) {
    assert.equal(tok.applyChatTemplate(c.messages, { addGenerationPrompt: true }), c.text);
    assert.equal(tok.applyChatTemplate(c.messages), c.text_no_generation_prompt);
  }
});

test("the files win over tokenizer_config.json's chat_template; named ones come from their folder", () => {
  const dir = fixture("CONFIG {{ messages[0]['content'] }}");
  mkdirSync(join(dir, "additional_chat_templates"));
  writeFileSync(
    join(dir, "additional_chat_templates", "short.jinja"),
    "S {{ messages[0]['content'] }}",
  );
  const tok = loadModelTokenizer(dir);
  const messages = [{ role: "user", content: "Hi" }];
  // What transformers 5.18 renders for this directory (AutoTokenizer, apply_chat_template).
  assert.equal(
    tok.applyChatTemplate(messages),
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
  );
  assert.equal(tok.applyChatTemplate(messages, { name: "short" }), "S Hi");
  assert.deepEqual([...(tok.config?.chatTemplates.keys() ?? [])], ["default", "short"]);
  // Without the files, the config's template is the one.
  const bare = tempDir("chat-template-config");
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join(dir, f), join(bare, f));
  assert.equal(loadModelTokenizer(bare).applyChatTemplate(messages), "CONFIG Hi");
});

test("a chat checkpoint carries the template files as they are", () => {
  const dir = fixture();
  mkdirSync(join(dir, "additional_chat_templates"));
  writeFileSync(join(dir, "additional_chat_templates", "short.jinja"), "S {{ bos_token }}");
  const { extraFiles } = chatCheckpointFiles(dir);
  assert.equal(extraFiles["chat_template.jinja"], TEMPLATE);
  assert.equal(extraFiles["additional_chat_templates/short.jinja"], "S {{ bos_token }}");
  const run = tempDir("chat-template-run");
  new DirectoryStore(run).writeCheckpoint("last", extraFiles);
  const saved = join(run, "checkpoints", "last");
  assert.equal(readFileSync(join(saved, "chat_template.jinja"), "utf8"), TEMPLATE);
  assert.equal(
    JSON.parse(readFileSync(join(saved, "tokenizer_config.json"), "utf8")).chat_template,
    undefined,
  );
  const tok = loadModelTokenizer(saved);
  const c = expected.chat[0];
  assert.equal(tok.applyChatTemplate(c.messages, { addGenerationPrompt: true }), c.text);
  assert.deepEqual([...(tok.config?.chatTemplates.keys() ?? [])], ["default", "short"]);
});
