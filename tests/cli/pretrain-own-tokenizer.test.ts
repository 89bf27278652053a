// `pretrain --init-from` a transformers directory uses that directory's tokenizer files: a BERT
// model (random weights, the vocabulary of ../shared/ref/tokenizers/bert_wordpiece_chinese) masks
// with its own [MASK], ends lines with [SEP], pads with [PAD]; the checkpoints carry the files
// byte for byte; another tokenizer given with --tokenizer is refused, the same one accepted. Whole-word masking follows
// WordPiece's ## continuation pieces.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { saveModel } from "../../src/node/model-dir.js";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import {
  pretrainedVocabulary,
  pretrainingObjective,
  specialIds,
} from "../../src/train/pretraining.js";
import { Rng } from "../../src/util/rng.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { TINY_LINES } from "../helpers/tiny-model.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

const TOKENIZERS = join(HF_REF, "..", "tokenizers");
const BERT_TOK = join(TOKENIZERS, "bert_wordpiece_chinese");
const FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt"];

/** The bert reference case's sizes with the reference tokenizer's 4,000 ids, its files beside. */
function bertDir(): string {
  const dir = tempDir("bert-own-tok");
  const raw = JSON.parse(readFileSync(join(HF_REF, "bert", "config.json"), "utf8"));
  saveModel(dir, buildModel(resolveModelConfig({ ...raw, vocab_size: 4000 }, "config.json"), 2));
  for (const f of FILES) copyFileSync(join(BERT_TOK, f), join(dir, f));
  return dir;
}

test("a BERT tokenizer's roles come from tokenizer_config.json: [MASK], [SEP], [PAD]", () => {
  const tok = loadModelTokenizer(BERT_TOK);
  const ids = specialIds(pretrainedVocabulary(tok), "mlm");
  assert.deepEqual(
    [ids.mask, ids.eos, ids.pad],
    ["[MASK]", "[SEP]", "[PAD]"].map((t) => tok.tokenToId(t)),
  );
  // [CLS] and [UNK] are never masked either.
  for (const t of ["[CLS]", "[UNK]"]) assert.ok(ids.special.has(tok.tokenToId(t) as number), t);
});

test("pretrain --init-from a BERT directory trains with its own tokenizer and carries it", () => {
  const dir = bertDir();
  const text = join(tempDir("bert-own-text"), "text.txt");
  writeFileSync(text, `${[...TINY_LINES, ...TINY_LINES].join("\n")}\n`);
  const out = join(tempDir("bert-own-run"), "run");
  const common = ["pretrain", "--objective", "mlm", "--train", text, "--valid", text];
  const r = maskwise([...common, "--init-from", dir, "--out", out, "--max-steps", "2"]);
  assert.equal(r.status, 0, r.stderr);
  const last = join(out, "checkpoints", "last");
  for (const f of FILES)
    assert.ok(readFileSync(join(last, f)).equals(readFileSync(join(BERT_TOK, f))), f);
  assert.equal(JSON.parse(readFileSync(join(last, "config.json"), "utf8")).model_type, "bert");

  const other = join(TOKENIZERS, "gpt2_bytelevel", "tokenizer.json");
  const out2 = join(tempDir("bert-own-run2"), "run");
  const refused = maskwise([...common, "--init-from", dir, "--tokenizer", other, "--out", out2]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(
    refused.stderr,
    /^maskwise: the tokenizer .* differs from the one in .*drop --tokenizer/,
  );
  // The directory's own tokenizer.json named again is the same tokenizer, and accepted.
  const out3 = join(tempDir("bert-own-run3"), "run");
  const same = join(BERT_TOK, "tokenizer.json");
  const sameArgs = ["--init-from", dir, "--tokenizer", same, "--out", out3, "--max-steps", "1"];
  const again = maskwise([...common, ...sameArgs]);
  assert.equal(again.status, 0, again.stderr);
});

test("whole-word masking with WordPiece keeps a word's ## pieces together", () => {
  const tok = loadModelTokenizer(BERT_TOK);
  const vocab = pretrainedVocabulary(tok);
  const { objective } = pretrainingObjective("mlm", vocab, { wholeWord: true, rate: 0.5 });
  const enc = tok.encode("Donaudampfschifffahrt and Fernsehturm with Haushaltsgeld", {});
  const pieces = enc.tokens;
  assert.ok(
    pieces.some((p) => p.startsWith("##")),
    `some words have several pieces: ${pieces}`,
  );
  let masked = 0;
  let independent = false;
  const wordStarts = pieces.map((p, k) => (p.startsWith("##") ? -1 : k)).filter((k) => k >= 0);
  for (let seed = 0; seed < 20; seed++) {
    const ex = objective(enc.ids, new Rng(seed));
    // Position k's word: the last piece at or before k that does not start with ##.
    for (let k = 1; k < pieces.length; k++) {
      if (!pieces[k].startsWith("##")) continue;
      assert.equal(ex.labels[k] === -100, ex.labels[k - 1] === -100, `seed ${seed}, piece ${k}`);
    }
    masked += ex.labels.filter((l) => l !== -100).length;
    const states = new Set(wordStarts.map((k) => ex.labels[k] === -100));
    if (states.size === 2) independent = true;
  }
  assert.ok(masked > 0);
  // Words are masked each on its own, not the line as one word.
  assert.ok(independent, "some seed masks one word and leaves another");
});

test("pretrain --objective span --init-from a T5 directory masks with its own sentinels", () => {
  const t5Tok = join(TOKENIZERS, "t5_unigram");
  const tok = loadModelTokenizer(t5Tok);
  const { objective } = pretrainingObjective("span", pretrainedVocabulary(tok), { rate: 0.3 });
  const ids = tok.encode("Zwei Männer spielen Fußball im Park und ein Hund schaut zu.", {}).ids;
  const ex = objective(ids, new Rng(1));
  // T5 numbers its sentinels downwards: <extra_id_0> = 2099, <extra_id_1> = 2098, ...
  const sentinel0 = tok.tokenToId("<extra_id_0>");
  assert.equal(sentinel0, 2099);
  assert.ok(ex.input_ids.includes(2099) && ex.labels[0] === 2099, JSON.stringify(ex));
  assert.equal(ex.input_ids[ex.input_ids.length - 1], tok.tokenToId("</s>"));

  const dir = tempDir("t5-own-tok");
  const raw = JSON.parse(readFileSync(join(HF_REF, "t5", "config.json"), "utf8"));
  saveModel(dir, buildModel(resolveModelConfig({ ...raw, vocab_size: 2100 }, "config.json"), 2));
  for (const f of ["spiece.model", "tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join(t5Tok, f), join(dir, f));
  const text = join(tempDir("t5-own-text"), "text.txt");
  writeFileSync(text, `${[...TINY_LINES, ...TINY_LINES].join("\n")}\n`);
  const out = join(tempDir("t5-own-run"), "run");
  const r = maskwise([
    "pretrain",
    "--objective",
    "span",
    "--train",
    text,
    "--valid",
    text,
    "--init-from",
    dir,
    "--out",
    out,
    "--max-steps",
    "2",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const last = join(out, "checkpoints", "last");
  assert.ok(
    readFileSync(join(last, "spiece.model")).equals(readFileSync(join(t5Tok, "spiece.model"))),
  );
});
