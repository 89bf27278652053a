// The CLI of /work/shared/CLI.md on the reference tokenizers, run as a child process:
// `tokenizer encode --json` (ids, tokens, offsets in code points), plain ids, `decode` with and
// without special tokens, Marian's --side, SentencePiece .model files, and `tokenizer chat`.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { expected, JSON_CASES, refDir, refFile } from "./ref.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
function run(args: string[], input: string): string[] {
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: "utf8",
    input,
    maxBuffer: 1 << 26,
  });
  assert.equal(r.status, 0, `maskwise ${args.join(" ")}: ${r.stderr}`);
  const out = r.stdout.split("\n");
  assert.equal(out.pop(), "");
  return out;
}
const jsonLines = (texts: readonly string[]) => texts.map((t) => `${JSON.stringify(t)}\n`).join("");
const idLines = (ids: readonly number[][]) => ids.map((x) => `${x.join(" ")}\n`).join("");

for (const c of JSON_CASES) {
  test(`CLI ${c}: encode --json with and without special tokens, decode, --skip-special-tokens`, () => {
    const rows = expected(c).rows;
    const texts = rows.map((r) => r.text);
    // The directory and the tokenizer.json itself are both accepted.
    const withSpecial = run(
      ["tokenizer", "encode", "--tokenizer", refDir(c), "--json", "--add-special-tokens"],
      jsonLines(texts),
    );
    const plain = run(
      ["tokenizer", "encode", "--tokenizer", refFile(c, "tokenizer.json"), "--json"],
      jsonLines(texts),
    );
    assert.equal(withSpecial.length, rows.length);
    rows.forEach((r, i) => {
      assert.deepEqual(
        JSON.parse(withSpecial[i]),
        { ids: r.ids, tokens: r.tokens, offsets: r.offsets },
        `${c} row ${i}`,
      );
      assert.deepEqual(
        JSON.parse(plain[i]),
        { ids: r.ids_no_special, tokens: r.tokens_no_special, offsets: r.offsets_no_special },
        `${c} row ${i} without special tokens`,
      );
    });
    // Texts without newlines also go through the plain form, one line of ids each.
    const oneLine = rows.filter((r) => !/[\r\n]/.test(r.text));
    const ids = run(
      ["tokenizer", "encode", "--tokenizer", refDir(c), "--add-special-tokens"],
      oneLine.map((r) => `${r.text}\n`).join(""),
    );
    oneLine.forEach((r, i) => {
      assert.equal(ids[i], r.ids.join(" "), `${c} plain ids`);
    });
    // A decoded text may hold newlines, so it may take several output lines.
    const dec = run(
      ["tokenizer", "decode", "--tokenizer", refDir(c)],
      idLines(rows.map((r) => r.ids)),
    );
    const skip = run(
      ["tokenizer", "decode", "--tokenizer", refDir(c), "--skip-special-tokens"],
      idLines(rows.map((r) => r.ids)),
    );
    const expectLines = (s: string) => s.split("\n");
    let k = 0;
    let m = 0;
    rows.forEach((r, i) => {
      const d = expectLines(r.decode);
      assert.deepEqual(dec.slice(k, k + d.length), d, `${c} row ${i} decode`);
      k += d.length;
      const s = expectLines(r.decode_skip_special);
      assert.deepEqual(
        skip.slice(m, m + s.length),
        s,
        `${c} row ${i} decode --skip-special-tokens`,
      );
      m += s.length;
    });
  });
}

test("CLI marian: --side source and target, decode", () => {
  const rows = expected("marian").rows;
  const texts = jsonLines(rows.map((r) => r.text));
  for (const side of ["source", "target"] as const) {
    const out = run(
      [
        "tokenizer",
        "encode",
        "--tokenizer",
        refDir("marian"),
        "--json",
        "--add-special-tokens",
        "--side",
        side,
      ],
      texts,
    );
    rows.forEach((r, i) => {
      const x = r[side] as { ids: number[]; tokens: string[]; decode_skip_special: string };
      const got = JSON.parse(out[i]);
      assert.deepEqual(got.ids, x.ids, `marian ${side} row ${i} ids`);
      assert.deepEqual(got.tokens, x.tokens, `marian ${side} row ${i} tokens`);
    });
    const dec = run(
      ["tokenizer", "decode", "--tokenizer", refDir("marian"), "--skip-special-tokens"],
      idLines(rows.map((r) => (r[side] as { ids: number[] }).ids)),
    );
    rows.forEach((r, i) => {
      const want = (r[side] as { decode_skip_special: string }).decode_skip_special;
      assert.equal(dec[i], want, `marian ${side} row ${i} decode`);
    });
  }
});

test("CLI SentencePiece .model files: ids as the sentencepiece library gives them", () => {
  for (const [c, file] of [
    ["t5_unigram", "spiece.model"],
    ["llama_spm_bpe", "tokenizer.model"],
  ] as const) {
    const rows = expected(c).rows;
    const out = run(
      ["tokenizer", "encode", "--tokenizer", refFile(c, file), "--json"],
      jsonLines(rows.map((r) => r.text)),
    );
    rows.forEach((r, i) => {
      const got = JSON.parse(out[i]);
      assert.deepEqual(got.ids, r.spm_ids, `${c} row ${i} ids`);
      assert.deepEqual(got.tokens, r.spm_pieces, `${c} row ${i} pieces`);
    });
  }
});

test("CLI chat: the qwen2_style template with and without the generation prompt", () => {
  const chats = expected("qwen2_style").chat ?? [];
  const input = chats.map((c) => `${JSON.stringify({ messages: c.messages })}\n`).join("");
  const withPrompt = run(
    ["tokenizer", "chat", "--tokenizer", refDir("qwen2_style"), "--add-generation-prompt"],
    input,
  );
  const without = run(["tokenizer", "chat", "--tokenizer", refDir("qwen2_style")], input);
  chats.forEach((c, i) => {
    assert.equal(JSON.parse(withPrompt[i]), c.text);
    assert.equal(JSON.parse(without[i]), c.text_no_generation_prompt);
  });
});

test("CLI errors: one line, status 2", () => {
  const bad = (args: string[], input: string, re: RegExp) => {
    const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr.trimEnd().split("\n").at(-1) ?? "", re);
  };
  bad(
    ["tokenizer", "encode", "--tokenizer", refDir("gpt2_bytelevel"), "--json"],
    "not json\n",
    /^maskwise: not a JSON string .*\(<stdin>:1\)/,
  );
  bad(
    ["tokenizer", "encode", "--tokenizer", refDir("marian"), "--side", "middle"],
    "x\n",
    /--side must be source or target/,
  );
  bad(
    ["tokenizer", "chat", "--tokenizer", refDir("gpt2_bytelevel")],
    '{"messages":[{"role":"user","content":"hi"}]}\n',
    /no chat template/,
  );
  bad(
    ["tokenizer", "chat", "--tokenizer", refDir("qwen2_style")],
    '{"messages":"hi"}\n',
    /no messages list \(<stdin>:1\)/,
  );
  bad(
    ["tokenizer", "encode", "--tokenizer", join(refDir("marian"), "nope")],
    "x\n",
    /^maskwise: tokenizer not found/,
  );
});
