// `translate` on a transformers directory reads the tokenizer the directory ships: here a Marian
// model (random weights, the reference case's layout with the joint vocabulary of 3,624 pieces)
// beside Marian's source.spm, target.spm and vocab.json. The source goes through source.spm, the
// output through target.spm, and the lines are what the library's translation gives with the
// generation keys of the directory's config.json (it has no generation_config.json).
import assert from "node:assert/strict";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { readGenerationConfig } from "../../src/node/generation-config.js";
import { saveModel } from "../../src/node/model-dir.js";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import { noGrad } from "../../src/tensor/index.js";
import { pretrainedCodec, translateLines } from "../../src/train/translate.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

const TOKENIZERS = join(HF_REF, "..", "tokenizers", "marian");

test("translate reads Marian's two SentencePiece models beside a transformers directory", () => {
  const dir = tempDir("opus-like");
  const raw = JSON.parse(readFileSync(join(HF_REF, "marian", "config.json"), "utf8"));
  // The reference tokenizer's joint vocabulary: </s> = 0, <unk> = 1, <pad> = 3623 (the last).
  const config = resolveModelConfig(
    {
      ...raw,
      vocab_size: 3624,
      decoder_vocab_size: 3624,
      pad_token_id: 3623,
      decoder_start_token_id: 3623,
      eos_token_id: 0,
      forced_eos_token_id: 0,
    },
    "opus-like config.json",
  );
  const model = buildModel(config, 5) as EncoderDecoderModel;
  saveModel(dir, model);
  for (const f of ["source.spm", "target.spm", "vocab.json", "tokenizer_config.json"])
    copyFileSync(join(TOKENIZERS, f), join(dir, f));

  const lines = ["Ein Hund läuft im Park.", "Zwei Männer spielen Fußball."];
  const r = maskwise(
    ["translate", "--model", dir, "--beam", "2", "--max-new-tokens", "6"],
    `${lines.join("\n")}\n`,
  );
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.split("\n").slice(0, -1);
  assert.equal(out.length, 2);

  // Without a generation_config.json, the generation keys of config.json apply, as transformers'
  // GenerationConfig.from_model_config takes them: here eos forced as the last token.
  const generation = readGenerationConfig(dir) ?? {};
  assert.equal(generation.forcedEosTokenId, 0);
  const tok = loadModelTokenizer(dir);
  const codec = pretrainedCodec(tok, 0);
  // The source side: source.spm's ids, then eos (translateLines appends it).
  assert.deepEqual(
    [...codec.encode(lines[0]), 0],
    tok.encode(lines[0], { addSpecialTokens: true, side: "source" }).ids,
  );
  const want = noGrad(() =>
    translateLines(model, codec, lines, { beam: 2, maxLenA: 0, maxLenB: 6, generation }),
  ).map((h) => h[0].text);
  assert.deepEqual(out, want);
  // Decoded through target.spm, not source.spm.
  const ids = noGrad(() =>
    translateLines(model, codec, lines, { beam: 2, maxLenA: 0, maxLenB: 6, generation }),
  )[0][0].hypothesis.tokens.filter((t) => t !== 0);
  assert.equal(out[0], tok.decode(ids, { skipSpecialTokens: true, side: "target" }));
});
