// SentencePiece `.model` files read directly (T5's Unigram spiece.model, Llama's BPE
// tokenizer.model with byte fallback) against the sentencepiece library's own encoding and
// decoding; Marian's two-model layout with its joint vocab.json against transformers'
// MarianTokenizer on both sides; and the Qwen2-style chat template against apply_chat_template.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import {
  ModelTokenizer,
  parseSentencePieceModel,
  sentencePieceFromBytes,
} from "../../src/tokenizer/index.js";
import { expected, refDir, refFile } from "./ref.js";

const SPM_CASES = [
  ["t5_unigram", "spiece.model"],
  ["llama_spm_bpe", "tokenizer.model"],
  ["llama_spm_bpe_legacy", "tokenizer.model"],
] as const;

for (const [c, file] of SPM_CASES) {
  test(`${c}/${file}: ids, pieces and decoding as the sentencepiece library gives them`, () => {
    const tok = sentencePieceFromBytes(readFileSync(refFile(c, file)), file);
    const rows = expected(c).rows;
    assert.ok(rows.length >= 75);
    rows.forEach((r, i) => {
      const where = `${c} row ${i} ${JSON.stringify(r.text.slice(0, 40))}`;
      const e = tok.encode(r.text);
      assert.deepEqual(e.ids, r.spm_ids, `${where}: ids`);
      assert.deepEqual(e.tokens, r.spm_pieces, `${where}: pieces`);
      assert.equal(tok.decode(r.spm_ids ?? []), r.spm_decode, `${where}: decode`);
    });
  });
}

test("a .model file's header: model type, byte fallback, special ids, normalizer", () => {
  const t5 = parseSentencePieceModel(readFileSync(refFile("t5_unigram", "spiece.model")));
  assert.equal(t5.modelType, 1);
  assert.equal(t5.pieces.length, 2000);
  assert.deepEqual(
    [t5.pieces[0].piece, t5.pieces[1].piece, t5.pieces[2].piece],
    ["<pad>", "</s>", "<unk>"],
  );
  assert.equal(t5.unkId, 2);
  assert.ok((t5.normalizer.charsmap?.length ?? 0) > 1000);
  const llama = parseSentencePieceModel(readFileSync(refFile("llama_spm_bpe", "tokenizer.model")));
  assert.equal(llama.modelType, 2);
  assert.equal(llama.byteFallback, true);
  assert.equal(llama.pieces[3].piece, "<0x00>");
  assert.equal(llama.normalizer.removeExtraWhitespaces, false);
});

test("a truncated .model file is an error that names the file", () => {
  const bytes = readFileSync(refFile("t5_unigram", "spiece.model")).subarray(0, 1001);
  assert.throws(() => sentencePieceFromBytes(bytes, "spiece.model"), /not a SentencePiece model.*/);
});

test("marian: source and target sides through source.spm / target.spm and vocab.json", () => {
  const tok = loadModelTokenizer(refDir("marian"));
  assert.equal(tok.kind, "marian");
  const rows = expected("marian").rows;
  assert.ok(rows.length >= 75);
  rows.forEach((r, i) => {
    for (const side of ["source", "target"] as const) {
      const x = r[side] as Record<string, unknown>;
      const where = `marian row ${i} ${side} ${JSON.stringify(r.text.slice(0, 30))}`;
      const e = tok.encode(r.text, { side, addSpecialTokens: true });
      assert.deepEqual(e.ids, x.ids, `${where}: ids`);
      assert.deepEqual(e.tokens, x.tokens, `${where}: tokens`);
      assert.deepEqual(tok.encode(r.text, { side }).ids, x.ids_no_special, `${where}: no </s>`);
      const ids = x.ids as number[];
      assert.equal(tok.decode(ids), x.decode, `${where}: decode`);
      assert.equal(
        tok.decode(ids, { skipSpecialTokens: true }),
        x.decode_skip_special,
        `${where}: decode skip`,
      );
      if (side === "target")
        assert.equal(
          tok.decode(ids, { skipSpecialTokens: true, side: "target" }),
          x.decode_target_spm,
          `${where}: decode with target.spm`,
        );
    }
  });
});

test("qwen2_style: chat template rendered as apply_chat_template, and its ids", () => {
  const tok = loadModelTokenizer(refDir("qwen2_style"));
  const chats = expected("qwen2_style").chat ?? [];
  assert.ok(chats.length >= 5);
  for (const c of chats) {
    const text = tok.applyChatTemplate(c.messages, { addGenerationPrompt: true });
    assert.equal(text, c.text);
    assert.deepEqual(tok.encode(text).ids, c.ids);
    const plain = tok.applyChatTemplate(c.messages);
    assert.equal(plain, c.text_no_generation_prompt);
    assert.deepEqual(tok.encode(plain).ids, c.ids_no_generation_prompt);
  }
});

test("a directory without a chat template says so", () => {
  const tok = loadModelTokenizer(refDir("gpt2_bytelevel"));
  assert.throws(() => tok.applyChatTemplate([{ role: "user", content: "hi" }]), /no chat template/);
});

test("tokenizer_config.json: special tokens, model_max_length, add_bos_token", () => {
  const t5 = loadModelTokenizer(refDir("t5_unigram"));
  assert.equal(t5.config?.eosToken, "</s>");
  assert.equal(t5.config?.modelMaxLength, 512);
  const qwen = loadModelTokenizer(refDir("qwen2_style"));
  assert.equal(qwen.config?.padToken, "<|endoftext|>");
  assert.equal(qwen.config?.bosToken, null);
});

test("clean_up_tokenization_spaces in tokenizer_config.json cleans decoded text as transformers", () => {
  const tokenizerJson = readFileSync(refFile("bert_wordpiece_chinese", "tokenizer.json"), "utf8");
  const config = JSON.parse(
    readFileSync(refFile("bert_wordpiece_chinese", "tokenizer_config.json"), "utf8"),
  );
  const plain = ModelTokenizer.fromFiles({ tokenizerJson, config: JSON.stringify(config) });
  const clean = ModelTokenizer.fromFiles({
    tokenizerJson,
    config: JSON.stringify({ ...config, clean_up_tokenization_spaces: true }),
  });
  const ids = plain.encode("it's here, isn't it?").ids;
  assert.equal(plain.decode(ids), "it ' s here, isn ' t it?");
  assert.equal(clean.decode(ids), "it's here, isn't it?");
});

test("marian: a leading >>lang<< code is one token (the joint vocabulary's id, or <unk>)", () => {
  const tok = loadModelTokenizer(refDir("marian"));
  const plain = tok.encode("Ein Hund läuft.");
  const coded = tok.encode(">>en<< Ein Hund läuft.");
  // This vocabulary has no language codes: the code is <unk>, the rest encodes as before.
  assert.deepEqual(coded.ids, [1, ...plain.ids]);
  assert.deepEqual(coded.tokens.slice(1), plain.tokens);
  assert.deepEqual(coded.offsets[0], [0, 6]);
  // The rest starts after the code and the space that SentencePiece drops.
  assert.deepEqual(
    coded.offsets.slice(1),
    plain.offsets.map(([s, e]) => [s + 7, e + 7]),
  );
  // Only at the start.
  assert.notEqual(tok.encode("Ein >>en<< Hund").ids[1], 1);
});
