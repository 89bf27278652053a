// Model directories (../shared/CLI.md): config.json with Hugging Face keys, model.safetensors with
// BART/mBART tensor names, and tokenizer.json when the model has one. Reading validates the config
// and every tensor; writing is atomic file by file.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkFiniteWeights } from "../io/finite.js";
import { parseSafetensors, serializeSafetensors } from "../io/safetensors.js";
import { type ModelConfig, resolveConfig } from "../models/config.js";
import { DecoderOnlyModel } from "../models/decoder-only.js";
import { EncoderDecoderModel } from "../models/encoder-decoder.js";
import { type Tokenizer, tokenizerFromString, tokenizerToString } from "../tokenizer/index.js";
import { MaskwiseError } from "../util/errors.js";
import { atomicWrite, readBytes, readJson, readText } from "./files.js";

export function loadConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  if (!existsSync(dir)) {
    throw new MaskwiseError("model directory not found", {
      code: "E_FILE",
      where: dir,
      hint: "pass a folder with config.json and model.safetensors",
    });
  }
  const raw = readJson(path, "config.json");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new MaskwiseError("config.json must hold a JSON object", {
      code: "E_CONFIG",
      where: path,
    });
  }
  return resolveConfig(raw as Record<string, unknown>, path);
}

function loadWeights<M extends EncoderDecoderModel | DecoderOnlyModel>(
  dir: string,
  want: ModelConfig["maskwise_arch"],
  make: (c: ModelConfig) => M,
): M {
  const config = loadConfig(dir);
  if (config.maskwise_arch !== want) {
    throw new MaskwiseError(
      `maskwise_arch is ${config.maskwise_arch}; this command needs ${want === "encoder-decoder" ? "an encoder-decoder" : `a ${want} model`}`,
      {
        code: "E_CONFIG",
        where: join(dir, "config.json"),
      },
    );
  }
  const model = make(config);
  const path = join(dir, "model.safetensors");
  const file = parseSafetensors(readBytes(path, "model.safetensors"), path);
  model.loadState(file.tensors, { source: path });
  checkFiniteWeights(model.namedParameters(), path);
  model.eval();
  return model;
}

export function loadEncoderDecoder(dir: string): EncoderDecoderModel {
  return loadWeights(dir, "encoder-decoder", (c) => new EncoderDecoderModel(c));
}

export function loadDecoderOnly(dir: string): DecoderOnlyModel {
  return loadWeights(dir, "decoder-only", (c) => new DecoderOnlyModel(c));
}

/** Writes config.json and model.safetensors (tied weights under every name they have). */
export function saveModel(dir: string, model: EncoderDecoderModel | DecoderOnlyModel): void {
  const tensors = model
    .namedParameters()
    .map(
      ([name, p]) =>
        [name, { shape: p.shape, data: p.f32 }] as [
          string,
          { shape: readonly number[]; data: Float32Array },
        ],
    );
  atomicWrite(join(dir, "model.safetensors"), serializeSafetensors(tensors, { format: "pt" }));
  atomicWrite(join(dir, "config.json"), `${JSON.stringify(model.config, null, 2)}\n`);
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
