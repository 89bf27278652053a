// WordPiece (BERT-style): a maskwise-trained tokenizer.json encodes and decodes exactly as the Rust
// `tokenizers` package (0.23) reads it, cased and uncased, on Multi30k val, German, Chinese and
// emoji; pairs carry BERT's type ids; the model's greedy longest-match rules on a fixed vocabulary.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  type Tokenizer,
  tokenizerFromString,
  tokenizerToString,
  trainTokenizer,
  WordPieceModel,
} from "../../src/tokenizer/index.js";
import { HARD_TEXT, multi30k, oracle, tatoeba } from "./oracle.js";

const dir = mkdtempSync(join(tmpdir(), "maskwise-wp-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function assertSame(tok: Tokenizer, name: string, texts: string[]) {
  const path = join(dir, `${name}.json`);
  const text = tokenizerToString(tok);
  writeFileSync(path, text);
  const ref = oracle.Tokenizer.fromFile(path);
  // The file maskwise reads back is the same tokenizer.
  const back = tokenizerFromString(text, path);
  for (const addSpecialTokens of [false, true]) {
    const encs = await ref.encodeBatch(texts, { addSpecialTokens });
    texts.forEach((t, i) => {
      const got = tok.encode(t, { addSpecialTokens });
      assert.deepEqual(got, encs[i].getIds(), `${name} ${JSON.stringify(t)} ${addSpecialTokens}`);
      assert.deepEqual(back.encode(t, { addSpecialTokens }), got);
    });
  }
  const ids = texts.map((t) => tok.encode(t, { addSpecialTokens: true }));
  for (const skip of [false, true]) {
    const want = await ref.decodeBatch(ids, skip);
    assert.deepEqual(
      ids.map((x) => tok.decode(x, { skipSpecialTokens: skip })),
      want,
      `${name} decode skipSpecialTokens=${skip}`,
    );
  }
  return ref;
}

const train = [...multi30k("train.de"), ...multi30k("train.en")];
const valid = [...multi30k("val.de"), ...multi30k("val.en")];
const { en, zh } = tatoeba(3000);
const extra = [...zh.slice(0, 2000), ...en.slice(0, 2000)];

for (const lowercase of [false, true]) {
  const name = lowercase ? "uncased" : "cased";
  test(`WordPiece ${name}: 8,000 tokens from Multi30k train encode val like tokenizers 0.23`, async () => {
    const tok = trainTokenizer([...train, ...extra], {
      vocabSize: 8000,
      model: "wordpiece",
      lowercase,
    });
    assert.equal(tok.vocabSize, 8000);
    assert.ok(tok.tokenToId("##en") !== undefined, "continuation pieces are learned");
    const texts = [...valid, ...zh.slice(2000), ...en.slice(2000), ...HARD_TEXT];
    texts.push("a".repeat(101), "[CLS] Ein Hund [MASK] läuft. [SEP]", "Ünïcödé ÀÉÎ Σίσυφος ΣΑΣ");
    const ref = await assertSame(tok, `wp-${name}`, texts);
    // Pairs: [CLS] A [SEP] B [SEP] with type ids 0 … 0 1 … 1.
    for (let i = 0; i < 50; i++) {
      const want = await ref.encode(valid[i], valid[i + 1014], { addSpecialTokens: true });
      const got = tok.encodeFull(valid[i], valid[i + 1014], { addSpecialTokens: true });
      assert.deepEqual(got.ids, want.getIds());
      assert.deepEqual(got.typeIds, want.getTypeIds());
      assert.deepEqual(got.attentionMask, want.getAttentionMask());
    }
  });
}

test("WordPiece training is deterministic: line order does not change the vocabulary", () => {
  const a = trainTokenizer(valid, { vocabSize: 1500, model: "wordpiece" });
  const b = trainTokenizer([...valid].reverse(), { vocabSize: 1500, model: "wordpiece" });
  assert.equal(tokenizerToString(a), tokenizerToString(b));
});

test("WordPiece model: longest match first, ## continuations, unknown words whole", () => {
  const vocab = new Map(
    ["[UNK]", "un", "##aff", "##able", "una", "##ff", "a"].map((t, i) => [t, i]),
  );
  const m = new WordPieceModel(vocab, "[UNK]", "##", 8);
  assert.deepEqual(m.encodeWord("unaffable"), [0]); // 9 characters > 8
  const m2 = new WordPieceModel(vocab, "[UNK]");
  assert.deepEqual(m2.encodeWord("unaffable"), [4, 5, 3]); // una ##ff ##able, not un ##aff
  assert.deepEqual(m2.encodeWord("unx"), [0]); // x is not coverable: the whole word is unknown
  assert.deepEqual(m2.encodeWord("a"), [6]);
});
