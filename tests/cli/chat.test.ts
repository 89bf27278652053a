// `maskwise chat` and `maskwise generate --chat` on a small chat model (GPT-2 with the
// qwen2_style ChatML tokenizer): fine-tuned with `train --task chat` on three conversations, it
// answers them as trained, turn after turn, from a non-terminal stdin; chat's multi-turn replies
// (KV cache kept) are generate --chat's replies to the same histories; a seed fixes sampling.
import assert from "node:assert/strict";
import { join } from "node:path";
import { before, test } from "node:test";
import { CONVERSATIONS, conversationsFile, makeChatModelDir } from "../helpers/chat-tokenizers.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

let trained = "";
before(() => {
  const data = conversationsFile(tempDir("chat-data"));
  const out = join(tempDir("chat-run"), "run");
  const r = maskwise([
    ...["train", "--task", "chat", "--train", data, "--valid", data],
    ...["--init-from", makeChatModelDir(), "--out", out, "--max-steps", "150", "--lr", "3e-2"],
    ...["--warmup", "1", "--eval-every", "150", "--dropout", "0", "--pack", "128"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  trained = join(out, "checkpoints", "last");
});

test("a fine-tuned model answers as trained, one reply a line, over several turns", () => {
  const two = maskwise(["chat", "--model", trained], "How are you?\nGood.\n");
  assert.equal(two.status, 0, two.stderr);
  assert.equal(two.stdout, "Fine, thanks.\nGlad to hear.\n");
  const sys = maskwise(["chat", "--model", trained, "--system", "Answer briefly."], "Bye\n");
  assert.equal(sys.stdout, "Goodbye!\n");
  const gen = maskwise(
    ["generate", "--chat", "--model", trained],
    `${CONVERSATIONS.map((c) => JSON.stringify({ messages: c.slice(0, 1) })).join("\n")}\n`,
  );
  assert.equal(gen.status, 0, gen.stderr);
  assert.deepEqual(gen.stdout.split("\n").slice(0, 2), ["Hello there!", "Fine, thanks."]);
});

test("chat's turns are generate --chat's replies to the same histories", () => {
  const model = makeChatModelDir();
  const flags = ["--max-new-tokens", "8", "--repetition-penalty", "1.3"];
  const chat = maskwise(["chat", "--model", model, ...flags], "Hi\nWhat now?\n");
  assert.equal(chat.status, 0, chat.stderr);
  const [r1, r2] = chat.stdout.split("\n");
  const histories = [
    [{ role: "user", content: "Hi" }],
    [
      { role: "user", content: "Hi" },
      { role: "assistant", content: r1 },
      { role: "user", content: "What now?" },
    ],
  ];
  const gen = maskwise(
    ["generate", "--chat", "--model", model, ...flags],
    histories.map((messages) => JSON.stringify({ messages })).join("\n"),
  );
  assert.equal(gen.status, 0, gen.stderr);
  assert.equal(gen.stdout, `${r1}\n${r2}\n`);
});

test("sampling: the same seed gives the same conversation, another seed another", () => {
  const model = makeChatModelDir();
  const run = (seed: string) =>
    maskwise(
      ["chat", "--model", model, "--temperature", "1", "--top-p", "0.95", "--seed", seed],
      "Hi\nMore\n",
    ).stdout;
  const a = run("4");
  assert.equal(a.split("\n").length, 3);
  assert.equal(run("4"), a);
  assert.notEqual(run("5"), a);
});

test("a LoRA chat run's adapter: chat --adapter talks as the merged model does", () => {
  const base = makeChatModelDir(undefined, 3, "qwen2");
  const data = conversationsFile(tempDir("chat-data"));
  const out = join(tempDir("chat-lora"), "run");
  const r = maskwise([
    ...["train", "--task", "chat", "--train", data, "--valid", data, "--init-from", base],
    ...["--out", out, "--max-steps", "20", "--lr", "3e-2", "--warmup", "1", "--lora-r", "4"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const adapter = join(out, "checkpoints", "last");
  const merged = join(tempDir("chat-merged"), "m");
  const m = maskwise(["lora", "merge", "--adapter", adapter, "--out", merged]);
  assert.equal(m.status, 0, m.stderr);
  const say = (args: string[]) =>
    maskwise(["chat", ...args, "--max-new-tokens", "8"], "How are you?\nGood.\n").stdout;
  const withAdapter = say(["--model", base, "--adapter", adapter]);
  assert.equal(withAdapter.split("\n").length, 3);
  assert.equal(say(["--model", merged]), withAdapter);
  assert.notEqual(say(["--model", base]), withAdapter);
});

test("chat refuses what it cannot do, in one line", () => {
  const model = makeChatModelDir();
  const topP = maskwise(["chat", "--model", model, "--top-p", "0"], "");
  assert.equal(topP.status, 2);
  const rp = maskwise(["generate", "--model", model, "--repetition-penalty", "1.2"], "");
  assert.match(rp.stderr, /only applies with --chat/);
});
