// Components the reference files do not use, checked against the Rust `tokenizers` package on
// variants of those files: other normalizers, pre-tokenizers (every Split behaviour, invert,
// Punctuation, Digits, Whitespace), post-processors (BertProcessing, RobertaProcessing with
// trimmed offsets, Sequence), decoders (BPEDecoder, Strip, Replace), WordLevel, BPE with a
// continuation prefix and an end-of-word suffix, added-token options (lstrip, rstrip,
// single_word, normalized), truncation and padding. Each variant encodes random strings, alone
// and as pairs, and must give the same ids, tokens, offsets, type ids, masks and decoding.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { pretrainedFromJson } from "../../src/tokenizer/index.js";
import { combiningClass } from "../../src/tokenizer/unicode-ccc.js";
import { Rng } from "../../src/util/rng.js";
import { randomText } from "./fuzz-text.js";
import { oracle } from "./oracle.js";
import { refFile } from "./ref.js";

type Json = Record<string, unknown>;
const base = (c: string): Json => JSON.parse(readFileSync(refFile(c, "tokenizer.json"), "utf8"));
const added = (content: string, id: number, o: Partial<Record<string, boolean>> = {}) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
  ...o,
});

/** A small BPE with "##" continuations and "</w>" word ends, built from a few words. */
function prefixSuffixBpe(): Json {
  const vocab: Record<string, number> = { "[UNK]": 0 };
  const add = (t: string) => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  for (const c of "abcdefghijklmnopqrstuvwxyz.,'")
    for (const t of [c, `##${c}`, `${c}</w>`, `##${c}</w>`]) add(t);
  const merges: [string, string][] = [];
  for (const w of ["the", "and", "hund", "haus", "man", "in", "ein", "der", "die"]) {
    // Left to right: a word's pieces join one by one, the last carrying </w>.
    let left = w[0];
    for (let i = 1; i < w.length; i++) {
      const right = `##${w[i]}${i === w.length - 1 ? "</w>" : ""}`;
      merges.push([left, right]);
      left += right.slice(2);
      add(left);
    }
  }
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [added("[UNK]", 0)],
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: { type: "BPEDecoder", suffix: "</w>" },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      end_of_word_suffix: "</w>",
      fuse_unk: true,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

const VARIANTS: [string, () => Json][] = [
  [
    "WordPiece: NFD+StripAccents+Lowercase, Whitespace, BertProcessing",
    () => ({
      ...base("bert_wordpiece_chinese"),
      normalizer: {
        type: "Sequence",
        normalizers: [{ type: "NFD" }, { type: "StripAccents" }, { type: "Lowercase" }],
      },
      pre_tokenizer: { type: "Whitespace" },
      post_processor: { type: "BertProcessing", sep: ["[SEP]", 3], cls: ["[CLS]", 2] },
      decoder: { type: "WordPiece", prefix: "##", cleanup: false },
    }),
  ],
  [
    "WordPiece: NFKD, Strip, Punctuation (each behaviour), Digits",
    () => ({
      ...base("bert_wordpiece_chinese"),
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "NFKD" },
          { type: "Lowercase" },
          { type: "Strip", strip_left: true, strip_right: true },
        ],
      },
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          { type: "WhitespaceSplit" },
          { type: "Punctuation", behavior: "MergedWithPrevious" },
          { type: "Digits", individual_digits: true },
          { type: "Split", pattern: { String: "e" }, behavior: "MergedWithNext", invert: false },
          { type: "Split", pattern: { Regex: "\\p{Lu}|ß" }, behavior: "Contiguous", invert: false },
        ],
      },
    }),
  ],
  [
    "WordLevel: NFKC, Replace regex, Whitespace, Digits contiguous, TemplateProcessing",
    () => {
      const b = base("bert_wordpiece_chinese");
      return {
        ...b,
        normalizer: {
          type: "Sequence",
          normalizers: [
            { type: "NFKC" },
            { type: "Lowercase" },
            { type: "Replace", pattern: { Regex: "\\d+" }, content: "0" },
          ],
        },
        pre_tokenizer: {
          type: "Sequence",
          pretokenizers: [{ type: "Whitespace" }, { type: "Digits", individual_digits: false }],
        },
        model: { type: "WordLevel", vocab: (b.model as Json).vocab, unk_token: "[UNK]" },
        decoder: null,
      };
    },
  ],
  [
    "byte-level BPE: Split behaviours and invert, RobertaProcessing with trimmed offsets",
    () => ({
      ...base("gpt2_bytelevel"),
      added_tokens: [added("<|endoftext|>", 2000), added("<s>", 2001), added("</s>", 2002)],
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          {
            type: "Split",
            pattern: { Regex: "\\s+" },
            behavior: "MergedWithPrevious",
            invert: false,
          },
          { type: "Split", pattern: { Regex: "[a-z]+" }, behavior: "Removed", invert: true },
          { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
        ],
      },
      post_processor: {
        type: "RobertaProcessing",
        sep: ["</s>", 2002],
        cls: ["<s>", 2001],
        trim_offsets: true,
        add_prefix_space: true,
      },
    }),
  ],
  [
    "byte-level BPE: ignore_merges, Sequence[ByteLevel, Template] post-processor, added-token options",
    () => {
      const b = base("gpt2_bytelevel");
      return {
        ...b,
        added_tokens: [
          added("<|endoftext|>", 2000, { lstrip: true, rstrip: true }),
          added("[CLS]", 2001, { single_word: true }),
          added("[sep]", 2002, { normalized: true, special: false }),
          added("</s>", 2003, { rstrip: true, special: false }),
        ],
        normalizer: { type: "Lowercase" },
        model: { ...(b.model as Json), ignore_merges: true },
        post_processor: {
          type: "Sequence",
          processors: [
            { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
            {
              type: "TemplateProcessing",
              single: [
                { SpecialToken: { id: "[CLS]", type_id: 0 } },
                { Sequence: { id: "A", type_id: 0 } },
              ],
              pair: [
                { SpecialToken: { id: "[CLS]", type_id: 0 } },
                { Sequence: { id: "A", type_id: 0 } },
                { Sequence: { id: "B", type_id: 1 } },
                { SpecialToken: { id: "<|endoftext|>", type_id: 1 } },
              ],
              special_tokens: {
                "[CLS]": { id: "[CLS]", ids: [2001], tokens: ["[CLS]"] },
                "<|endoftext|>": { id: "<|endoftext|>", ids: [2000], tokens: ["<|endoftext|>"] },
              },
            },
          ],
        },
      };
    },
  ],
  [
    "Unigram: Metaspace never / no split, Strip and Replace decoders, truncation and padding",
    () => ({
      ...base("t5_unigram"),
      pre_tokenizer: {
        type: "Metaspace",
        replacement: "\u2581",
        prepend_scheme: "never",
        split: false,
      },
      decoder: {
        type: "Sequence",
        decoders: [
          // (Strip with start and stop both set panics in tokenizers 0.23 on a token of spaces.)
          { type: "Replace", pattern: { String: "\u2581" }, content: " " },
          { type: "Strip", content: " ", start: 2, stop: 0 },
        ],
      },
      truncation: { direction: "Left", max_length: 24, strategy: "LongestFirst", stride: 0 },
      padding: {
        strategy: { Fixed: 28 },
        direction: "Left",
        pad_to_multiple_of: 8,
        pad_id: 0,
        pad_type_id: 1,
        pad_token: "<pad>",
      },
    }),
  ],
  [
    "SentencePiece BPE without byte fallback: fused unknowns, Metaspace first, pairs truncated right",
    () => {
      const b = base("llama_spm_bpe");
      return {
        ...b,
        model: { ...(b.model as Json), byte_fallback: false, unk_token: "<unk>" },
        truncation: { direction: "Right", max_length: 20, strategy: "LongestFirst", stride: 0 },
      };
    },
  ],
  ["BPE with ## continuations and </w> word ends, BPEDecoder", prefixSuffixBpe],
];

VARIANTS.forEach(([name, make], k) => {
  test(`${name}: as the Rust tokenizers package`, async () => {
    const json = make();
    const text = JSON.stringify(json);
    const tok = pretrainedFromJson(JSON.parse(text), name);
    const ref = oracle.Tokenizer.fromString(text);
    const rng = new Rng(500 + k);
    const bad: string[] = [];
    for (let i = 0; i < 300; i++) {
      const a = randomText(rng);
      const b = i % 3 === 0 ? randomText(rng) : null;
      const add = i % 2 === 0;
      const w = await ref.encode(a, b, { addSpecialTokens: add });
      const e = tok.encode(a, b, { addSpecialTokens: add });
      const same =
        JSON.stringify([
          e.ids,
          e.tokens,
          e.offsets,
          e.typeIds,
          e.specialTokensMask,
          e.attentionMask,
        ]) ===
        JSON.stringify([
          w.getIds(),
          w.getTokens(),
          w.getOffsets(),
          w.getTypeIds(),
          w.getSpecialTokensMask(),
          w.getAttentionMask(),
        ]);
      const decoded = await ref.decode(w.getIds(), i % 4 === 1);
      if (
        (!same || decoded !== tok.decode(e.ids, { skipSpecialTokens: i % 4 === 1 })) &&
        bad.length < 2
      )
        bad.push(
          `${JSON.stringify(a)} / ${JSON.stringify(b)} add=${add}\n  ${JSON.stringify([e.ids, e.tokens, e.offsets, e.typeIds])} ${JSON.stringify(tok.decode(e.ids, { skipSpecialTokens: i % 4 === 1 }))}\n  ${JSON.stringify([w.getIds(), w.getTokens(), w.getOffsets(), w.getTypeIds()])} ${JSON.stringify(decoded)}`,
        );
    }
    assert.deepEqual(bad, []);
  });
});

test("only_first truncation of a first text too short to absorb the cut fails on both sides", async () => {
  const json = {
    ...base("bert_wordpiece_chinese"),
    truncation: { direction: "Right", max_length: 8, strategy: "OnlyFirst", stride: 0 },
  };
  const text = JSON.stringify(json);
  const tok = pretrainedFromJson(JSON.parse(text));
  const ref = oracle.Tokenizer.fromString(text);
  const pair: [string, string] = ["a dog", "the man in the house is here with the dog"];
  await assert.rejects(ref.encode(pair[0], pair[1], { addSpecialTokens: true }), /too short/);
  assert.throws(() => tok.encode(pair[0], pair[1], { addSpecialTokens: true }), /too short/);
  // A first text long enough is cut alone, as in tokenizers.
  const long: [string, string] = ["the man in the house is here with the dog", "a dog"];
  const w = await ref.encode(long[0], long[1], { addSpecialTokens: true });
  assert.deepEqual(tok.encode(long[0], long[1], { addSpecialTokens: true }).ids, w.getIds());
  assert.equal(w.getIds().length, 8);
});

test("BERT character classes (punctuation, control, non-spacing marks) as the Rust crates' tables, every code point", async () => {
  const wordLevel = (normalizer: unknown, pre: unknown) =>
    JSON.stringify({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer,
      pre_tokenizer: pre,
      post_processor: null,
      decoder: null,
      model: { type: "WordLevel", vocab: { "[UNK]": 0, aa: 1 }, unk_token: "[UNK]" },
    });
  const files = [
    wordLevel(null, { type: "BertPreTokenizer" }),
    wordLevel(
      {
        type: "BertNormalizer",
        clean_text: true,
        handle_chinese_chars: false,
        strip_accents: true,
        lowercase: false,
      },
      { type: "WhitespaceSplit" },
    ),
  ];
  const texts: string[] = [];
  for (let cp = 0x80; cp < 0x32000; cp++)
    if (cp < 0xd800 || cp >= 0xe000) texts.push(`a${String.fromCodePoint(cp)}a`);
  for (const file of files) {
    const ref = oracle.Tokenizer.fromString(file);
    const tok = pretrainedFromJson(JSON.parse(file));
    const encs = await ref.encodeBatch(texts);
    const bad: string[] = [];
    texts.forEach((t, i) => {
      const e = tok.encode(t);
      const same =
        JSON.stringify([e.ids, e.offsets]) ===
        JSON.stringify([encs[i].getIds(), encs[i].getOffsets()]);
      if (!same && bad.length < 5) bad.push((t.codePointAt(1) as number).toString(16));
    });
    assert.deepEqual(bad, []);
  }
});

test("NFD and NFC order every combining mark as the Rust package does (older tables)", async () => {
  const texts: string[] = [];
  for (let cp = 0x300; cp < 0x32000; cp++) {
    if (combiningClass(cp) === 0) continue;
    const m = String.fromCodePoint(cp);
    // Beside marks of class 1 and 230, on either side: the order shows in the ids.
    texts.push(`a${m}\u0334`, `a\u0301${m}`, `a\u0334${m}`, `a${m}\u0301`);
  }
  assert.ok(texts.length > 3000);
  for (const form of ["NFD", "NFC"]) {
    const file = JSON.stringify({
      version: "1.0",
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: { type: form },
      pre_tokenizer: {
        type: "Split",
        pattern: { Regex: "." },
        behavior: "Isolated",
        invert: false,
      },
      post_processor: null,
      decoder: null,
      model: {
        type: "WordLevel",
        vocab: { "[UNK]": 0, "\u0334": 1, "\u0301": 2, a: 3 },
        unk_token: "[UNK]",
      },
    });
    const ref = oracle.Tokenizer.fromString(file);
    const tok = pretrainedFromJson(JSON.parse(file));
    const encs = await ref.encodeBatch(texts);
    const bad: string[] = [];
    texts.forEach((t, i) => {
      const e = tok.encode(t);
      const same =
        JSON.stringify([e.ids, e.offsets]) ===
        JSON.stringify([encs[i].getIds(), encs[i].getOffsets()]);
      if (!same && bad.length < 5) bad.push(`${form} ${JSON.stringify(t)}`);
    });
    assert.deepEqual(bad, []);
  }
});

test("Whitespace pre-tokenizer word characters as the Rust regex crate's \\w, every code point", async () => {
  const file = JSON.stringify({
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab: { "[UNK]": 0 }, unk_token: "[UNK]" },
  });
  const texts: string[] = [];
  // A word character joins "a"; any other stays with "!"; a space splits all three.
  for (let cp = 0x80; cp < 0x32000; cp++)
    if (cp < 0xd800 || cp >= 0xe000) texts.push(`a${String.fromCodePoint(cp)}!`);
  const ref = oracle.Tokenizer.fromString(file);
  const tok = pretrainedFromJson(JSON.parse(file));
  const encs = await ref.encodeBatch(texts);
  const bad: string[] = [];
  texts.forEach((t, i) => {
    if (
      JSON.stringify(tok.encode(t).offsets) !== JSON.stringify(encs[i].getOffsets()) &&
      bad.length < 5
    )
      bad.push((t.codePointAt(1) as number).toString(16));
  });
  assert.deepEqual(bad, []);
});
