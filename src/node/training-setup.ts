// What `maskwise train` and `maskwise quickstart` share: reading parallel data, getting a
// tokenizer (given, inherited, or trained on the training text), building the model config from
// a preset with the tokenizer's special ids, and loading weights to start from.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseSafetensors } from "../io/safetensors.js";
import { type ModelConfig, PRESETS, resolveConfig } from "../models/config.js";
import type { EncoderDecoderModel } from "../models/encoder-decoder.js";
import {
  DEFAULT_SPECIAL_TOKENS,
  type Tokenizer,
  tokenizerFromString,
  trainTokenizer,
} from "../tokenizer/index.js";
import { MaskwiseError } from "../util/errors.js";
import { readBytes, readJson, readText } from "./files.js";
import { type ReadOptions, readParallel } from "./readers.js";

export async function readPairs(
  src: string,
  tgt: string,
  options: ReadOptions = {},
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const ex of readParallel([src, tgt], options)) out.push([ex.texts[0], ex.texts[1]]);
  return out;
}

export function loadTokenizer(path: string): Tokenizer {
  return tokenizerFromString(readText(path, "tokenizer.json"), path);
}

/** Trains a joint tokenizer on both sides of the training pairs. */
export function trainJointTokenizer(
  pairs: readonly [string, string][],
  vocabSize: number,
): Tokenizer {
  return trainTokenizer(
    pairs.flatMap(([s, t]) => [s, t]),
    { vocabSize, specialTokens: DEFAULT_SPECIAL_TOKENS },
  );
}

function specialId(tok: Tokenizer, token: string): number {
  const id = tok.tokenToId(token);
  if (id === undefined) {
    throw new MaskwiseError(`the tokenizer has no ${token} token`, {
      code: "E_TOKENIZER",
      where: "tokenizer.json",
      hint: `train it with ${token} among the special tokens`,
    });
  }
  return id;
}

/** A preset name or a config.json path, completed with the tokenizer's vocabulary and ids. */
export function modelConfigFor(
  model: string,
  tok: Tokenizer,
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  let raw: Record<string, unknown>;
  if (model in PRESETS) {
    raw = { ...PRESETS[model], tie_word_embeddings: true, share_embeddings: true };
  } else if (existsSync(model)) {
    raw = readJson(model, "model config") as Record<string, unknown>;
  } else {
    throw new MaskwiseError(`'${model}' is neither a preset nor a file`, {
      code: "E_ARG",
      where: "--model",
      hint: `use ${Object.keys(PRESETS).join(", ")} or a config.json`,
    });
  }
  return resolveConfig(
    {
      ...raw,
      ...overrides,
      vocab_size: tok.vocabSize,
      pad_token_id: specialId(tok, "<pad>"),
      bos_token_id: specialId(tok, "<s>"),
      eos_token_id: specialId(tok, "</s>"),
      decoder_start_token_id: specialId(tok, "<s>"),
    },
    model,
  );
}

/** Copies weights from a model directory (fine-tuning); shapes must match the new config. */
export function initFrom(model: EncoderDecoderModel, dir: string): void {
  const path = join(dir, "model.safetensors");
  const file = parseSafetensors(readBytes(path, "model.safetensors"), path);
  model.loadState(file.tensors, { source: path });
}
