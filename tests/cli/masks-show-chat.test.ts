// `maskwise masks show --chat`: a packed row of chat data shows which positions carry loss
// (those predicting the assistant's tokens) and which keys each query sees: causal within its
// own conversation, nothing of the other one; positions restart with the second conversation.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import { QWEN_DIR } from "../helpers/chat-tokenizers.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

const file = join(tempDir("masks-chat"), "chat.jsonl");
writeFileSync(
  file,
  [
    [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello!" },
    ],
    [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Bye" },
      { role: "assistant", content: "Ciao." },
    ],
  ]
    .map((messages) => JSON.stringify({ messages }))
    .join("\n"),
);

test("json: a packed row's loss positions and its causal & documents grid", () => {
  const r = maskwise([
    "masks",
    "show",
    "--chat",
    file,
    "--tokenizer",
    QWEN_DIR,
    "--pack",
    "100",
    "--format",
    "json",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const T = out.ids.length;
  assert.equal(out.q_len, T);
  const docs: number[] = out.document_ids;
  assert.deepEqual([...new Set(docs)], [0, 1], "both conversations in one row");
  const second = docs.indexOf(1);
  assert.equal(out.position_ids[second], 0, "positions restart");
  assert.equal(out.position_ids[second - 1], second - 1);
  for (let i = 0; i < T; i++)
    for (let j = 0; j < T; j++)
      assert.equal(out.attend[0][i][j], j <= i && docs[i] === docs[j], `query ${i}, key ${j}`);
  // The labelled targets are the two answers with their end-of-turn token, nothing else.
  const tok = loadModelTokenizer(QWEN_DIR);
  const targets = (d: number) =>
    tok.decode(out.labels.filter((l: number, t: number) => l !== -100 && docs[t] === d));
  assert.equal(targets(0), "Hello!<|im_end|>");
  assert.equal(targets(1), "Ciao.<|im_end|>");
  assert.deepEqual(
    out.loss,
    out.labels.map((l: number) => l !== -100),
  );
});

test("ascii: a token table with what each position predicts, then the grid", () => {
  const r = maskwise(["masks", "show", "--chat", file, "--tokenizer", QWEN_DIR, "--example", "1"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^row 1 of 2: \d+ tokens, 1 conversation\(s\), 5 carry loss\n/);
  assert.match(r.stdout, /"\\n" -> "C"/);
  assert.match(r.stdout, /mask: causal\(offset=0\) & documents\(/);
  const missing = maskwise([
    "masks",
    "show",
    "--chat",
    file,
    "--tokenizer",
    QWEN_DIR,
    "--example",
    "2",
  ]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^maskwise: there is no row 2: the data makes 2 rows/);
  const clash = maskwise(["masks", "show", "--chat", file, "--spec", "causal"]);
  assert.equal(clash.status, 2);
  assert.match(clash.stderr, /--spec does not apply/);
});
