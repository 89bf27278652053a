// A model directory's generation settings: its generation_config.json, or, for a transformers
// directory without one, the same keys in its config.json (older repositories keep num_beams,
// max_length, bad_words_ids and forced_eos_token_id there, and transformers'
// GenerationConfig.from_model_config reads them from it).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type GenerationSettings, parseGenerationConfig } from "../decode/generation-config.js";
import { MaskwiseError } from "../util/errors.js";
import { readJson } from "./files.js";

function readObject(path: string, what: string): Record<string, unknown> {
  const raw = readJson(path, what);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new MaskwiseError(`${what} must hold a JSON object`, {
      code: "E_CONFIG",
      where: path,
    });
  }
  return raw as Record<string, unknown>;
}

/**
 * The settings of DIR/generation_config.json; without one, those a transformers config.json
 * (one with a model_type) holds; null when neither gives any.
 */
export function readGenerationConfig(dir: string): GenerationSettings | null {
  const path = join(dir, "generation_config.json");
  if (existsSync(path))
    return parseGenerationConfig(readObject(path, "generation_config.json"), path);
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) return null;
  const config = readObject(configPath, "config.json");
  if (typeof config.model_type !== "string") return null;
  const settings = parseGenerationConfig(config, configPath);
  return Object.keys(settings).length > 0 ? settings : null;
}
