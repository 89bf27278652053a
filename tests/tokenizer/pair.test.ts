// Sentence pairs: ids, type ids and attention mask of (text, pair) through the template match
// the Rust `tokenizers` package (0.23) reading the file maskwise writes.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Tokenizer, tokenizerToString, trainTokenizer } from "../../src/tokenizer/index.js";
import { HARD_TEXT, multi30k, oracle } from "./oracle.js";

const dir = mkdtempSync(join(tmpdir(), "maskwise-pair-"));
after(() => rmSync(dir, { recursive: true, force: true }));

export async function assertSamePairs(tok: Tokenizer, name: string, pairs: [string, string][]) {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, tokenizerToString(tok));
  const ref = oracle.Tokenizer.fromFile(path);
  for (const addSpecialTokens of [false, true]) {
    for (const [a, b] of pairs) {
      const want = await ref.encode(a, b, { addSpecialTokens });
      const got = tok.encodeFull(a, b, { addSpecialTokens });
      const what = `${name} ${JSON.stringify([a, b])} addSpecialTokens=${addSpecialTokens}`;
      assert.deepEqual(got.ids, want.getIds(), what);
      assert.deepEqual(got.typeIds, want.getTypeIds(), what);
      assert.deepEqual(got.attentionMask, want.getAttentionMask(), what);
    }
  }
}

const de = multi30k("val.de");
const en = multi30k("val.en");
const pairs: [string, string][] = de.slice(0, 150).map((d, i) => [d, en[i]]);
pairs.push(
  ...HARD_TEXT.map((t, i): [string, string] => [t, HARD_TEXT[(i + 3) % HARD_TEXT.length]]),
);

for (const kind of ["metaspace", "byte-level"] as const) {
  test(`${kind}: pairs <s> A </s> </s> B </s> encode like tokenizers 0.23`, async () => {
    const tok = trainTokenizer([...de, ...en], { vocabSize: 2000, preTokenizer: kind });
    const enc = tok.encodeFull("a", "b", { addSpecialTokens: true });
    assert.deepEqual(enc.ids.slice(0, 1), [tok.tokenToId("<s>")]);
    await assertSamePairs(tok, `pair-${kind}`, pairs);
  });
}

test("T5-style specials (no <s>): pairs A </s> B </s> encode like tokenizers 0.23", async () => {
  const tok = trainTokenizer([...de, ...en], {
    vocabSize: 1500,
    specialTokens: ["<pad>", "</s>", "<unk>"],
  });
  await assertSamePairs(tok, "pair-t5", pairs.slice(0, 40));
});
