// Every tokenizer.json in ../shared/ref/tokenizers (T5 Unigram, Llama SentencePiece BPE in both
// layouts, GPT-2, a Qwen2-style byte-level BPE, BERT WordPiece) read as it is: ids, tokens and
// offsets (code points) with and without special tokens, decode with and without special tokens,
// and sentence pairs, each row against what transformers computed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { pretrainedFromString } from "../../src/tokenizer/index.js";
import { expected, JSON_CASES, refFile } from "./ref.js";

for (const c of JSON_CASES) {
  const path = refFile(c, "tokenizer.json");
  const tok = pretrainedFromString(readFileSync(path, "utf8"), path);
  const exp = expected(c);

  test(`${c}: every row's ids, tokens and offsets, with and without special tokens`, () => {
    assert.ok(exp.rows.length >= 75);
    exp.rows.forEach((r, i) => {
      const where = `${c} row ${i} ${JSON.stringify(r.text.slice(0, 40))}`;
      const e = tok.encode(r.text, null, { addSpecialTokens: true });
      assert.deepEqual(e.ids, r.ids, `${where}: ids`);
      assert.deepEqual(e.tokens, r.tokens, `${where}: tokens`);
      assert.deepEqual(e.offsets, r.offsets, `${where}: offsets`);
      const n = tok.encode(r.text);
      assert.deepEqual(n.ids, r.ids_no_special, `${where}: ids without special tokens`);
      assert.deepEqual(n.tokens, r.tokens_no_special, `${where}: tokens without special tokens`);
      assert.deepEqual(n.offsets, r.offsets_no_special, `${where}: offsets without special tokens`);
    });
  });

  test(`${c}: every row decodes as transformers, with and without special tokens`, () => {
    exp.rows.forEach((r, i) => {
      assert.equal(tok.decode(r.ids), r.decode, `${c} row ${i}: decode`);
      assert.equal(
        tok.decode(r.ids, { skipSpecialTokens: true }),
        r.decode_skip_special,
        `${c} row ${i}: decode skipping special tokens`,
      );
    });
  });

  if (exp.pairs !== undefined) {
    test(`${c}: sentence pairs: ids, tokens, offsets, type ids, decode`, () => {
      for (const p of exp.pairs ?? []) {
        // transformers treats an empty text_pair as no pair (README: disagreements).
        const e = tok.encode(p.text, p.pair === "" ? null : p.pair, { addSpecialTokens: true });
        const where = `${c} pair ${JSON.stringify(p.text.slice(0, 30))} / ${JSON.stringify(p.pair.slice(0, 30))}`;
        assert.deepEqual(e.ids, p.ids, `${where}: ids`);
        assert.deepEqual(e.tokens, p.tokens, `${where}: tokens`);
        assert.deepEqual(e.offsets, p.offsets, `${where}: offsets`);
        assert.deepEqual(e.typeIds, p.token_type_ids, `${where}: type ids`);
        assert.equal(tok.decode(e.ids), p.decode, `${where}: decode`);
      }
    });
  }
}

test("the six tokenizer.json cases are all found", () => {
  assert.equal(JSON_CASES.length, 6);
});
