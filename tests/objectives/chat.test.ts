// Chat fine-tuning examples: the conversation is the template's text tokenized at once, and the
// labels are -100 exactly outside the assistant's turns (each turn's text and its end-of-turn
// token), found by prefixes or by {% generation %} markers; packed rows keep every
// conversation's tokens, labels, positions from 0 and a document id of its own.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import { chatExample, packExamples } from "../../src/objectives/chat.js";
import type { ChatMessage } from "../../src/tokenizer/index.js";
import { chatExamples } from "../../src/train/chat-task.js";
import { MaskwiseError } from "../../src/util/errors.js";
import {
  LLAMA2_TEMPLATE,
  MARKED_TEMPLATE,
  QWEN_DIR,
  withTemplate,
} from "../helpers/chat-tokenizers.js";

const TWO_TURNS: ChatMessage[] = [
  { role: "user", content: "What is 12345 + 678?" },
  { role: "assistant", content: "thinking|12345 + 678 = 13023." },
  { role: "user", content: "And times 2? That is 26046." },
  { role: "assistant", content: "That is 26046." },
];

/** The runs of consecutive labelled targets, as token ids. */
function labelRuns(labels: readonly number[]): number[][] {
  const runs: number[][] = [];
  let cur: number[] = [];
  for (const l of [...labels, -100]) {
    if (l !== -100) cur.push(l);
    else if (cur.length > 0) {
      runs.push(cur);
      cur = [];
    }
  }
  return runs;
}

test("ChatML (qwen2_style): the ids are transformers' and only assistant tokens are labelled", () => {
  const tok = loadModelTokenizer(QWEN_DIR);
  const expected = JSON.parse(readFileSync(join(QWEN_DIR, "expected.json"), "utf8"));
  // The ids apply_chat_template gives; labels only where there is an answer.
  for (const c of expected.chat) {
    const ex = chatExample(tok, c.messages);
    assert.deepEqual(ex.input_ids, c.ids_no_generation_prompt);
    const answers = c.messages.some((m: ChatMessage) => m.role === "assistant");
    assert.equal(
      ex.labels.some((l) => l !== -100),
      answers,
    );
  }
  const ex = chatExample(tok, TWO_TURNS);
  assert.equal(ex.rendered.method, "prefixes");
  // Independently: the prompt before each answer tokenized alone, then prompt + answer + <|im_end|>.
  const want = new Array<number>(ex.input_ids.length).fill(-100);
  TWO_TURNS.forEach((m, k) => {
    if (m.role !== "assistant") return;
    const prompt = tok.applyChatTemplate(TWO_TURNS.slice(0, k), { addGenerationPrompt: true });
    const n0 = tok.encode(prompt).ids.length;
    const n1 = tok.encode(`${prompt}${m.content}<|im_end|>`).ids.length;
    for (let t = n0; t < n1; t++) want[t - 1] = ex.input_ids[t];
  });
  assert.deepEqual(ex.labels, want);
  assert.deepEqual(
    labelRuns(ex.labels).map((r) => tok.decode(r)),
    ["thinking|12345 + 678 = 13023.<|im_end|>", "That is 26046.<|im_end|>"],
  );
  // The user's "That is 26046." is the same text as the second answer and carries no label.
  assert.equal(ex.labels.filter((l) => l !== -100).length, ex.assistant.filter((a) => a).length);
});

test("a Llama-2 style template (llama_spm_bpe): answers and their </s>, nothing of [INST]", () => {
  const tok = loadModelTokenizer(withTemplate("llama_spm_bpe", LLAMA2_TEMPLATE));
  const ex = chatExample(tok, TWO_TURNS);
  assert.equal(ex.rendered.text.slice(0, 9), "<s>[INST]");
  assert.deepEqual(
    labelRuns(ex.labels).map((r) => tok.decode(r)),
    ["thinking|12345 + 678 = 13023. </s>", "That is 26046. </s>"],
  );
  // Every label is the next token, and the first position (<s>) predicts nothing.
  ex.labels.forEach((l, t) => {
    if (l !== -100) assert.equal(l, ex.input_ids[t + 1]);
  });
  assert.equal(ex.input_ids[0], 1);
  assert.equal(ex.labels[ex.labels.length - 1], -100);
});

test("{% generation %} markers find answers a template renders differently later", () => {
  const tok = loadModelTokenizer(withTemplate("qwen2_style", MARKED_TEMPLATE));
  const ex = chatExample(tok, TWO_TURNS);
  assert.equal(ex.rendered.method, "generation-markers");
  // The earlier answer is rendered without its "thinking|" part, and learnt as rendered.
  assert.deepEqual(
    labelRuns(ex.labels).map((r) => tok.decode(r)),
    ["12345 + 678 = 13023.<|im_end|>", "That is 26046.<|im_end|>"],
  );
  // The same template without markers cannot be read by prefixes: an error, not wrong labels.
  const unmarked = MARKED_TEMPLATE.replace("{% generation %}", "").replace(
    "{% endgeneration %}",
    "",
  );
  const plain = loadModelTokenizer(withTemplate("qwen2_style", unmarked));
  assert.throws(
    () => chatExample(plain, TWO_TURNS),
    (e: unknown) => e instanceof MaskwiseError && /assistant message 1/.test(e.message),
  );
});

test("packing: conversations whole, labels with them, positions from 0, one document each", () => {
  const tok = loadModelTokenizer(QWEN_DIR);
  const convs: ChatMessage[][] = [
    [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
    ],
    TWO_TURNS,
    [
      { role: "user", content: "Bye" },
      { role: "assistant", content: "Goodbye." },
    ],
  ];
  const exs = convs.map((c) => chatExample(tok, c));
  const lens = exs.map((e) => e.input_ids.length);
  const rowLength = lens[0] + lens[2] + 3;
  assert.ok(lens[1] > rowLength - lens[0], "the long conversation does not fit beside the first");
  const rows = packExamples(exs, rowLength);
  // First row: conversation 0 alone (1 does not fit beside it); 1 is cut to a row; then 2.
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0].input_ids, exs[0].input_ids);
  assert.deepEqual(rows[0].labels, exs[0].labels);
  assert.deepEqual(rows[1].input_ids, exs[1].input_ids.slice(0, rowLength));
  assert.equal(rows[1].labels[rowLength - 1], -100, "a cut conversation's last label is dropped");
  assert.deepEqual(rows[2].input_ids, exs[2].input_ids);
  const two = packExamples([exs[0], exs[2]], rowLength);
  assert.equal(two.length, 1);
  assert.deepEqual(two[0].input_ids, [...exs[0].input_ids, ...exs[2].input_ids]);
  assert.deepEqual(two[0].labels, [...exs[0].labels, ...exs[2].labels]);
  assert.deepEqual(two[0].position_ids, [
    ...exs[0].input_ids.map((_, t) => t),
    ...exs[2].input_ids.map((_, t) => t),
  ]);
  assert.deepEqual(two[0].document_ids, [
    ...exs[0].input_ids.map(() => 0),
    ...exs[2].input_ids.map(() => 1),
  ]);
});

test("a conversation whose answers lie beyond --max-len is left out and named; all of them is an error", () => {
  const tok = loadModelTokenizer(QWEN_DIR);
  const long: ChatMessage[] = [
    { role: "user", content: "word ".repeat(200) },
    { role: "assistant", content: "Short." },
  ];
  const prompt = tok.encode(
    tok.applyChatTemplate(long.slice(0, 1), { addGenerationPrompt: true }),
    {
      addSpecialTokens: false,
    },
  ).ids.length;
  const maxLen = prompt - 5; // the cut lands inside the user's turn
  const conversations = [
    { messages: TWO_TURNS, where: "chat.jsonl:1" },
    { messages: long, where: "chat.jsonl:2" },
    { messages: TWO_TURNS, where: "chat.jsonl:3" },
  ];
  const heard: string[][] = [];
  const rows = chatExamples(conversations, tok, {
    maxLen,
    pack: 0,
    onSkipped: (w) => heard.push(w),
  });
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[1].input_ids, chatExample(tok, TWO_TURNS, { maxLen }).input_ids);
  assert.deepEqual(heard, [["chat.jsonl:2"]]);
  // Alone, the same conversation is an error naming its line.
  assert.throws(
    () => chatExamples([conversations[1]], tok, { maxLen, pack: 0 }),
    (e: unknown) =>
      e instanceof MaskwiseError && /chat\.jsonl:2/.test(String(e.where ?? e.message)),
  );
});
