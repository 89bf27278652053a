// What a model family's loader starts from: a transformers model folder, given as a path or a
// hub name already in the cache (node/hub.ts resolveModelPath), read as its config.json (the raw
// object: keys are the family's to interpret) and its weights (node/weights.ts) with the family's
// tied names put back (io/tied.ts).
import { join } from "node:path";
import type { SafeTensor } from "../io/safetensors.js";
import { parseTieGroups, restoreTied, type TieGroup } from "../io/tied.js";
import { MaskwiseError } from "../util/errors.js";
import { readJson } from "./files.js";
import { resolveModelPath } from "./hub.js";
import { loadWeights, type WeightsFormat } from "./weights.js";

export interface PretrainedOptions {
  /** For a hub name: the revision to find in the cache (default main). */
  revision?: string;
  /** The hub cache (default: hubCacheDir()). */
  cacheDir?: string;
  /** The family's tie groups, as TieGroups or "tied.name = kept.name" lines. */
  ties?: readonly TieGroup[] | readonly string[];
}

export interface Pretrained {
  /** The model folder (a snapshot folder for a hub name). */
  dir: string;
  /** config.json as written. */
  config: Record<string, unknown>;
  /** Every tensor, tied names included. */
  tensors: Map<string, SafeTensor>;
  format: WeightsFormat;
  /** The files read. */
  files: string[];
  /** Tied names the file left out and that were put back. */
  restored: string[];
  /** Tied names whose values in the file differ from their group's (kept as they are). */
  untied: string[];
}

export function loadPretrained(nameOrPath: string, options: PretrainedOptions = {}): Pretrained {
  const dir = resolveModelPath(nameOrPath, options);
  const configPath = join(dir, "config.json");
  const config = readJson(configPath, "config.json");
  if (config === null || typeof config !== "object" || Array.isArray(config)) {
    throw new MaskwiseError("config.json must hold a JSON object", {
      code: "E_CONFIG",
      where: configPath,
    });
  }
  const weights = loadWeights(dir);
  const ties = options.ties ?? [];
  const groups =
    ties.length > 0 && typeof ties[0] === "string"
      ? parseTieGroups(ties as readonly string[])
      : (ties as readonly TieGroup[]);
  const { tensors, restored, untied } = restoreTied(weights.tensors, groups);
  return {
    dir,
    config: config as Record<string, unknown>,
    tensors,
    format: weights.format,
    files: weights.files,
    restored,
    untied,
  };
}
