// Model directories (../shared/CLI.md): config.json with Hugging Face keys, model.safetensors with
// BART/mBART tensor names, and tokenizer.json when the model has one. Reading validates the config
// and every tensor; writing is atomic file by file.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkFiniteWeights } from "../io/finite.js";
import { serializeSafetensors } from "../io/safetensors.js";
import type { ModelConfig } from "../models/config.js";
import type { EncoderDecoderModel } from "../models/encoder-decoder.js";
import { floatPaths } from "../models/families/json-numbers.js";
import type { FamilyModel, Structure } from "../models/family.js";
import type { DecoderOnlyDecodable } from "../models/incremental.js";
import { familyOf, resolveModelConfig } from "../models/registry.js";
import { configText, fileState, loadFileState } from "../models/state.js";
import { buildForLoad } from "../nn/load-build.js";
import { type Tokenizer, tokenizerFromString, tokenizerToString } from "../tokenizer/index.js";
import { MaskwiseError } from "../util/errors.js";
import { atomicWrite, readJson, readText } from "./files.js";
import { loadWeights } from "./weights.js";

export function loadConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  if (!existsSync(dir)) {
    throw new MaskwiseError("model directory not found", {
      code: "E_FILE",
      where: dir,
      hint: "pass a folder with config.json and model.safetensors",
    });
  }
  if (!existsSync(path) && existsSync(join(dir, "adapter_config.json"))) {
    // A LoRA run's checkpoint, or PEFT's save_pretrained: the adapter alone, no base.
    throw new MaskwiseError("this folder holds a LoRA adapter, not a model", {
      code: "E_ARG",
      where: dir,
      hint: `pass its base model with --model and this folder with --adapter (adapter_config.json's base_model_name_or_path names the base)`,
    });
  }
  const raw = readJson(path, "config.json");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new MaskwiseError("config.json must hold a JSON object", {
      code: "E_CONFIG",
      where: path,
    });
  }
  return withSourceFloats(resolveModelConfig(raw as Record<string, unknown>, path), path);
}

/**
 * A config read from a transformers config.json, with the paths of the floats its text held
 * (written back as floats: transformers refuses `0` where its field is a float).
 */
export function withSourceFloats(config: ModelConfig, path: string): ModelConfig {
  if (!config.source_config) return config;
  return { ...config, source_floats: floatPaths(readText(path, "config.json")) };
}

const ARTICLE: Record<Structure, string> = {
  "encoder-decoder": "an encoder-decoder",
  "decoder-only": "a decoder-only",
  "encoder-only": "an encoder-only",
};

/**
 * The model in `dir`, of whichever family its config.json names, in eval mode. With `want`,
 * the family must have that structure (a command that translates needs an encoder-decoder).
 */
export function loadModel(dir: string, want?: Structure): FamilyModel {
  const config = loadConfig(dir);
  const family = familyOf(config);
  if (want !== undefined && family.structure !== want) {
    throw new MaskwiseError(
      `${join(dir, "config.json")} holds ${ARTICLE[family.structure]} model (${family.name}); this command needs ${ARTICLE[want]} model`,
      { code: "E_CONFIG", where: join(dir, "config.json") },
    );
  }
  // model.safetensors, sharded safetensors or pytorch_model.bin, as transformers looks for them.
  const weights = loadWeights(dir);
  const where = weights.files.length === 1 ? weights.files[0] : dir;
  // Every weight comes from the file: none is drawn at random first (nn/load-build.ts).
  const model = buildForLoad(
    () => family.build(config, 0),
    (m) => {
      loadFileState(m, weights.tensors, where);
      checkFiniteWeights(m.namedParameters(), where);
    },
    where,
  );
  model.eval();
  return model;
}

export function loadEncoderDecoder(dir: string): EncoderDecoderModel {
  return loadModel(dir, "encoder-decoder") as EncoderDecoderModel;
}

export function loadDecoderOnly(dir: string): FamilyModel & DecoderOnlyDecodable {
  return loadModel(dir, "decoder-only") as FamilyModel & DecoderOnlyDecodable;
}

/**
 * Writes config.json and model.safetensors as the model's family stores them (maskwise's own:
 * tied weights under every name they have; transformers' families: their layout).
 */
export function saveModel(dir: string, model: FamilyModel): void {
  atomicWrite(
    join(dir, "model.safetensors"),
    serializeSafetensors(fileState(model), { format: "pt" }),
  );
  atomicWrite(join(dir, "config.json"), configText(model));
}

/** The tokenizer.json beside config.json, or null when the model directory has none. */
export function loadTokenizer(dir: string): Tokenizer | null {
  const path = join(dir, "tokenizer.json");
  if (!existsSync(path)) return null;
  return tokenizerFromString(readText(path, "tokenizer.json"), path);
}

/** Writes tokenizer.json into a model directory. */
export function saveTokenizer(dir: string, tokenizer: Tokenizer): void {
  atomicWrite(join(dir, "tokenizer.json"), tokenizerToString(tokenizer));
}
