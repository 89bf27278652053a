// What `maskwise train` and `maskwise quickstart` share: reading parallel data, getting a
// tokenizer (given, inherited, or trained on the training text), building the model config from
// a preset with the tokenizer's special ids, and loading weights to start from (across model
// kinds: a masked-LM encoder into the encoder of an encoder-decoder).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkFiniteWeights } from "../io/finite.js";
import { parseSafetensors } from "../io/safetensors.js";
import { type ModelConfig, PRESETS, resolveConfig } from "../models/config.js";
import {
  DEFAULT_SPECIAL_TOKENS,
  type Tokenizer,
  tokenizerFromString,
  tokenizerToString,
  trainTokenizer,
} from "../tokenizer/index.js";
import type { TrainableModel } from "../train/tasks.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
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
  return trainTokenizer(pairs.flat(), { vocabSize, specialTokens: DEFAULT_SPECIAL_TOKENS });
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

/**
 * Copies weights from a model directory (fine-tuning). The same kind of model loads every tensor;
 * an encoder-only (masked-LM) model and an encoder-decoder share their encoder (token embeddings,
 * positions, layers, final norm), so either can start the other's encoder and the rest stays
 * fresh. Shapes must match; a vocabulary or size that does not fit names the file and the tensor.
 */
export function initFrom(model: TrainableModel, dir: string): void {
  const path = join(dir, "model.safetensors");
  const configPath = join(dir, "config.json");
  const from = existsSync(configPath)
    ? String(
        (readJson(configPath, "model config") as Record<string, unknown>).maskwise_arch ??
          "encoder-decoder",
      )
    : model.config.maskwise_arch;
  const to = model.config.maskwise_arch;
  const file = parseSafetensors(readBytes(path, "model.safetensors"), path);
  const encoderOnly = (a: string, b: string) => a === "encoder-only" && b === "encoder-decoder";
  let take: (name: string) => boolean;
  if (from === to) take = () => true;
  else if (encoderOnly(from, to) || encoderOnly(to, from))
    take = (name) => name.startsWith("model.encoder.");
  else {
    const a = (kind: string) => (kind.startsWith("e") ? `an ${kind}` : `a ${kind}`);
    throw new MaskwiseError(`cannot start ${a(to)} model from ${a(from)} model`, {
      code: "E_CHECKPOINT",
      where: configPath,
      hint: "start an encoder-decoder from an encoder-decoder or an encoder-only model, a decoder-only model from a decoder-only one",
    });
  }
  const vocab = model.config.vocab_size;
  for (const [name, p] of model.namedParameters()) {
    if (!take(name)) continue;
    const t = file.tensors.get(name);
    if (!t) {
      throw new MaskwiseError(`${path} lacks tensor '${name}'`, {
        code: "E_CHECKPOINT",
        where: path,
        hint: "the model directory does not match this model's config",
      });
    }
    if (t.shape.length !== p.shape.length || t.shape.some((d, i) => d !== p.shape[i])) {
      const vocabClash = /embed_tokens|lm_head|final_logits_bias/.test(name) && t.shape.length > 0;
      throw new MaskwiseError(
        vocabClash
          ? `tensor '${name}' in ${path} has shape ${fmtShape(t.shape)}: a vocabulary that does not fit this model's ${vocab} tokens (${fmtShape(p.shape)})`
          : `tensor '${name}' in ${path} has shape ${fmtShape(t.shape)}, the model expects ${fmtShape(p.shape)}`,
        {
          code: "E_CHECKPOINT",
          where: path,
          hint: vocabClash
            ? "use the tokenizer.json of that model directory (drop --tokenizer)"
            : "use the model's own config (drop --model) or a directory trained with the same sizes",
        },
      );
    }
    p.f32.set(t.data);
  }
  checkFiniteWeights(
    model.namedParameters().filter(([name]) => take(name)),
    path,
  );
}

/**
 * Fails unless `given` (a tokenizer.json path) is the tokenizer of the model directory `dir`:
 * token ids of another tokenizer would index the wrong embedding rows.
 */
export function checkSameTokenizer(given: string, dir: string): void {
  const own = join(dir, "tokenizer.json");
  if (!existsSync(own)) return;
  if (tokenizerToString(loadTokenizer(given)) !== tokenizerToString(loadTokenizer(own))) {
    throw new MaskwiseError(`the tokenizer ${given} differs from ${own}`, {
      code: "E_TOKENIZER",
      where: "--tokenizer with --init-from",
      hint: "drop --tokenizer: a fine-tuned model keeps the tokenizer it was trained with",
    });
  }
}
