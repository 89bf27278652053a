// A model directory's generation_config.json, read when it has one.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type GenerationSettings, parseGenerationConfig } from "../decode/generation-config.js";
import { MaskwiseError } from "../util/errors.js";
import { readJson } from "./files.js";

/** The settings of DIR/generation_config.json, or null when the directory has none. */
export function readGenerationConfig(dir: string): GenerationSettings | null {
  const path = join(dir, "generation_config.json");
  if (!existsSync(path)) return null;
  const raw = readJson(path, "generation_config.json");
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new MaskwiseError("generation_config.json must hold a JSON object", {
      code: "E_CONFIG",
      where: path,
    });
  }
  return parseGenerationConfig(raw as Record<string, unknown>, path);
}
