// What `maskwise train` and `maskwise quickstart` share: reading parallel data, getting a
// tokenizer (given, inherited, or trained on the training text), building the model config from
// a preset with the tokenizer's special ids, and loading weights to start from (across model
// kinds: a masked-LM encoder into the encoder of an encoder-decoder).
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { checkFiniteWeights } from "../io/finite.js";
import { type ModelConfig, PRESETS } from "../models/config.js";
import { fromFile, type StoredTensor } from "../models/families/file-layout.js";
import { floatPaths } from "../models/families/json-numbers.js";
import {
  buildModel,
  families,
  familyOf,
  familyOfRaw,
  resolveModelConfig,
} from "../models/registry.js";
import { buildForLoad } from "../nn/load-build.js";
import {
  DEFAULT_SPECIAL_TOKENS,
  type Tokenizer,
  tokenizerFromString,
  tokenizerToString,
  trainTokenizer,
} from "../tokenizer/index.js";
import type { TrainableModel } from "../train/tasks.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import { readJson, readText } from "./files.js";
import { type ReadOptions, readParallel } from "./readers.js";
import { loadWeights } from "./weights.js";

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

/** The SHA-256 of a tokenizer.json's text, as `sha256sum tokenizer.json` prints it. */
export function tokenizerHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * What a training run writes with every checkpoint for its tokenizer: tokenizer.json, and its
 * hash in model.safetensors' metadata (tokenizer_sha256), which binds the two files together.
 */
export function tokenizerCheckpointHooks(
  tok: Tokenizer,
  from?: string,
): {
  extraFiles: Record<string, string>;
  weightsMetadata: Record<string, string>;
} {
  const text = tokenizerToString(tok);
  return {
    extraFiles: withGenerationConfig({ "tokenizer.json": text }, from),
    weightsMetadata: { tokenizer_sha256: tokenizerHash(text) },
  };
}

/**
 * A checkpoint's `files` and, where the directory the model started from (--init-from, or the
 * checkpoint a run resumes) has one, its generation_config.json as it is: transformers'
 * generate reads the generation settings beside the weights, so a trained model keeps them.
 */
export function withGenerationConfig<T>(
  files: Record<string, T>,
  from: string | undefined,
): Record<string, T | string> {
  const generation = from ? join(from, "generation_config.json") : undefined;
  if (generation === undefined || !existsSync(generation)) return { ...files };
  return { ...files, "generation_config.json": readText(generation, "generation_config.json") };
}

/** The __metadata__ of a safetensors file, from its header alone (the weights are not read). */
export function safetensorsMetadata(path: string): Record<string, string> {
  let fd: number | null = null;
  try {
    fd = openSync(path, "r");
    const size = Buffer.alloc(8);
    if (readSync(fd, size, 0, 8, 0) < 8) return {};
    const n = Number(size.readBigUInt64LE(0));
    if (!(n > 0 && n < 100_000_000)) return {};
    const header = Buffer.alloc(n);
    readSync(fd, header, 0, n, 8);
    const meta = JSON.parse(header.toString("utf8")).__metadata__;
    return meta && typeof meta === "object" ? meta : {};
  } catch {
    // A file that cannot be read is reported by whatever loads its weights.
    return {};
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Fails unless `tok` (read from `tokPath`) belongs to the model in `dir`: its hash must be the
 * one the weights were saved with (when they were saved with one), and its ids must fit the
 * model's `vocabSize` embedding rows. A tokenizer of another run with the same vocabulary size
 * would otherwise give garbage silently, a larger one an index error deep in a gather.
 */
export function checkModelTokenizer(
  dir: string,
  tok: Tokenizer,
  tokPath: string,
  vocabSize: number,
): void {
  const weights = join(dir, "model.safetensors");
  const want = safetensorsMetadata(weights).tokenizer_sha256;
  // Both files by name; the folder once, as where, when they share it.
  const same = dirname(resolve(tokPath)) === resolve(dir);
  const tokName = same ? basename(tokPath) : tokPath;
  const weightsName = same ? "model.safetensors" : weights;
  const where = same ? dir : `${tokPath}, ${weights}`;
  // The file's bytes, or (a file reformatted by hand) the tokenizer they hold, written as maskwise
  // writes it.
  if (
    want !== undefined &&
    tokenizerHash(readText(tokPath, "tokenizer.json")) !== want &&
    tokenizerHash(tokenizerToString(tok)) !== want
  ) {
    throw new MaskwiseError(`${tokName} is not the tokenizer ${weightsName} was trained with`, {
      code: "E_TOKENIZER",
      where,
      hint: "put back the tokenizer.json saved with these weights (model.safetensors records its sha256 as tokenizer_sha256)",
    });
  }
  if (tok.vocabSize > vocabSize) {
    throw new MaskwiseError(
      `${tokName} has ${tok.vocabSize} tokens, more than the ${vocabSize} embedding rows of ${weightsName}`,
      {
        code: "E_TOKENIZER",
        where,
        hint: "use the tokenizer.json the model was trained with",
      },
    );
  }
}

/** Trains a joint tokenizer on both sides of the training pairs. */
export function trainJointTokenizer(
  pairs: readonly [string, string][],
  vocabSize: number,
): Tokenizer {
  return trainTokenizer(pairs.flat(), { vocabSize, specialTokens: DEFAULT_SPECIAL_TOKENS });
}

/** What a model config needs of a tokenizer: its size, and the ids of maskwise's special tokens. */
export type TokenVocabulary = Pick<Tokenizer, "vocabSize" | "tokenToId">;

function specialId(tok: TokenVocabulary, token: string): number {
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

/**
 * A preset name or a config.json path as a model config. A maskwise config is completed with the
 * tokenizer's vocabulary and special ids; a transformers family's config (a pretrained model's)
 * keeps its own, and the tokenizer must fit its vocabulary. `overrides` are maskwise keys
 * (`maskwise_arch` applies to maskwise configs only); `dropout` applies to both.
 */
export function modelConfigFor(
  model: string,
  tok: TokenVocabulary,
  overrides: Readonly<Record<string, unknown>> = {},
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
  const { maskwise_arch: _, dropout, ...rest } = overrides;
  const pretrained = familyOfRaw(raw, model);
  if (pretrained.source === "transformers") {
    const config = pretrained.resolveConfig(raw, model);
    if (tok.vocabSize > config.vocab_size) {
      throw new MaskwiseError(
        `the tokenizer has ${tok.vocabSize} tokens, the model ${model} only ${config.vocab_size}`,
        {
          code: "E_TOKENIZER",
          where: model,
          hint: "use the tokenizer of that model directory",
        },
      );
    }
    return {
      ...config,
      ...rest,
      ...(dropout === undefined ? {} : { dropout: dropout as number }),
      source_floats: floatPaths(readText(model, "config.json")),
    };
  }
  return resolveModelConfig(
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

/** The config of the model in `dir` (its config.json), or `fallback` where it has none. */
function configIn(dir: string, fallback: ModelConfig): ModelConfig {
  const configPath = join(dir, "config.json");
  return existsSync(configPath)
    ? resolveModelConfig(
        readJson(configPath, "model config") as Record<string, unknown>,
        configPath,
      )
    : fallback;
}

/**
 * A model of `config` with its weights from the model directory `dir`, as initFrom loads them.
 * A model of the directory's own family takes every weight from it, so it is built for loading
 * (nn/load-build.ts: no random weight drawn to be overwritten); one that takes only its encoder
 * is built with its seeded random weights, which the rest keeps, as before.
 */
export function modelFrom(config: ModelConfig, seed: number, dir: string): TrainableModel {
  if (familyOf(configIn(dir, config)) === familyOf(config)) {
    return buildForLoad(
      () => buildModel(config, seed),
      (m) => initFrom(m, dir),
      join(dir, "model.safetensors"),
    );
  }
  const model = buildModel(config, seed);
  initFrom(model, dir);
  return model;
}

/**
 * Copies weights from a model directory (fine-tuning). A model of the same family loads every
 * tensor; two families whose encoders share a tensor-name prefix and layout (an encoder-only
 * masked-LM model and an encoder-decoder) share the encoder (token embeddings, positions, layers,
 * final norm), so either can start the other's encoder and the rest stays fresh. Shapes must
 * match; a vocabulary or size that does not fit names the file and the tensor.
 */
export function initFrom(model: TrainableModel, dir: string): void {
  const path = join(dir, "model.safetensors");
  const configPath = join(dir, "config.json");
  const to = familyOf(model.config);
  const fromConfig = configIn(dir, model.config);
  const from = familyOf(fromConfig);
  // The file's tensors by the names of this model's parameters (tied copies restored).
  const names = new Set(model.namedParameters().map(([n]) => n));
  const tensors = fromFile(loadWeights(dir).tensors, from.fileLayout(fromConfig), names, path);
  let take: (name: string) => boolean;
  if (from === to) take = () => true;
  else if (from.encoderPrefix !== null && from.encoderPrefix === to.encoderPrefix) {
    const prefix = from.encoderPrefix;
    take = (name) => name.startsWith(prefix);
  } else {
    const a = (kind: string) => (kind.startsWith("e") ? `an ${kind}` : `a ${kind}`);
    const sharing = families().filter((f) => f.encoderPrefix !== null);
    throw new MaskwiseError(`cannot start ${a(to.name)} model from ${a(from.name)} model`, {
      code: "E_CHECKPOINT",
      where: configPath,
      hint: `start a model from one of its own family; ${sharing.map((f) => f.name).join(" and ")} models also start each other's encoder`,
    });
  }
  const vocab = model.config.vocab_size;
  for (const [name, p] of model.namedParameters()) {
    if (!take(name)) continue;
    const t = storedTensor(tensors, name, p.shape, path, vocab);
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

/**
 * Tensor `name` of a checkpoint file at `path`, refused with a one-line error when the file lacks
 * it or holds it in another shape than `shape` (a vocabulary-sized one named as such, given the
 * model's `vocab`).
 */
export function storedTensor(
  tensors: ReadonlyMap<string, StoredTensor>,
  name: string,
  shape: readonly number[],
  path: string,
  vocab: number,
): StoredTensor {
  const t = tensors.get(name);
  if (!t) {
    throw new MaskwiseError(`${path} lacks tensor '${name}'`, {
      code: "E_CHECKPOINT",
      where: path,
      hint: "the model directory does not match this model's config",
    });
  }
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    const vocabClash = /embed_tokens|lm_head|final_logits_bias/.test(name) && t.shape.length > 0;
    throw new MaskwiseError(
      vocabClash
        ? `tensor '${name}' in ${path} has shape ${fmtShape(t.shape)}: a vocabulary that does not fit this model's ${vocab} tokens (${fmtShape(shape)})`
        : `tensor '${name}' in ${path} has shape ${fmtShape(t.shape)}, the model expects ${fmtShape(shape)}`,
      {
        code: "E_CHECKPOINT",
        where: path,
        hint: vocabClash
          ? "use the tokenizer.json of that model directory (drop --tokenizer)"
          : "use the model's own config (drop --model) or a directory trained with the same sizes",
      },
    );
  }
  return t;
}
