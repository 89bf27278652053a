// A Marian (opus-mt) model directory for tests: the marian family's layout with random weights
// and the joint vocabulary of 3,624 pieces of ../shared/ref/tokenizers/marian, beside that
// tokenizer's source.spm, target.spm, vocab.json and tokenizer_config.json, and the reference's
// texts with transformers' encodings of each (source: tokenizer(text), target:
// tokenizer(text_target=text)).
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { saveModel } from "../../src/node/model-dir.js";
import { HF_REF } from "./hf-ref.js";
import { tempDir } from "./tmp.js";

export const MARIAN_TOKENIZERS = join(HF_REF, "..", "tokenizers", "marian");
export const MARIAN_FILES = ["source.spm", "target.spm", "vocab.json", "tokenizer_config.json"];
export const MARIAN_PAD = 3623;

export interface MarianRow {
  text: string;
  source: { ids: number[] };
  target: { ids: number[] };
}
export const MARIAN_ROWS: MarianRow[] = JSON.parse(
  readFileSync(join(MARIAN_TOKENIZERS, "expected.json"), "utf8"),
).rows;
// German sources (rows 20-39 of the reference texts) paired with English targets (rows 0-19).
export const MARIAN_PAIRS: [MarianRow, MarianRow][] = [
  [MARIAN_ROWS[29], MARIAN_ROWS[7]],
  [MARIAN_ROWS[33], MARIAN_ROWS[16]],
  [MARIAN_ROWS[36], MARIAN_ROWS[18]],
  [MARIAN_ROWS[21], MARIAN_ROWS[14]],
];

/** A tiny marian model whose vocabulary is the reference tokenizer's, with its files beside it. */
export function opusLike(): string {
  const dir = tempDir("marian-ft-model");
  const raw = JSON.parse(readFileSync(join(HF_REF, "marian", "config.json"), "utf8"));
  const config = resolveModelConfig(
    {
      ...raw,
      vocab_size: 3624,
      decoder_vocab_size: 3624,
      pad_token_id: MARIAN_PAD,
      decoder_start_token_id: MARIAN_PAD,
      eos_token_id: 0,
      forced_eos_token_id: 0,
    },
    "opus-like config.json",
  );
  saveModel(dir, buildModel(config, 3) as EncoderDecoderModel);
  for (const f of MARIAN_FILES) copyFileSync(join(MARIAN_TOKENIZERS, f), join(dir, f));
  // As opus-mt ships it: pad is never generated, decoding starts from pad.
  writeFileSync(
    join(dir, "generation_config.json"),
    `${JSON.stringify({ bad_words_ids: [[MARIAN_PAD]], decoder_start_token_id: MARIAN_PAD, eos_token_id: 0, forced_eos_token_id: 0, max_length: 24, num_beams: 2, pad_token_id: MARIAN_PAD }, null, 2)}\n`,
  );
  return dir;
}
