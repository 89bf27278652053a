// Sharded checkpoints: `model.safetensors.index.json` (or `pytorch_model.bin.index.json`) beside
// files such as model-00001-of-00002.safetensors. The index is
//   {"metadata": {"total_size": <bytes>, ...}, "weight_map": {"<tensor name>": "<shard file>", ...}}
// and every tensor must be in exactly the shard the index names. This file checks the index and
// merges the shards once read; reading the files is the caller's (src/node/weights.ts).
import { MaskwiseError } from "../util/errors.js";
import type { SafeTensor } from "./safetensors.js";

export interface ShardIndex {
  /** Tensor name -> shard file name, as the index lists them. */
  weightMap: Map<string, string>;
  /** The shard files, each once, in the order the index first names them. */
  files: string[];
  /** The index's "metadata" map (total_size and whatever else the writer put there). */
  metadata: Record<string, unknown>;
}

function fail(
  what: string,
  where: string,
  hint = "the index does not match the shards; download the checkpoint again",
): never {
  throw new MaskwiseError(what, { code: "E_SHARDS", where, hint });
}

/** Checks a parsed index file; `source` names it in errors. */
export function parseShardIndex(json: unknown, source: string): ShardIndex {
  if (json === null || typeof json !== "object" || Array.isArray(json))
    fail("the index is not a JSON object", source);
  const { weight_map: map, metadata = {} } = json as { weight_map?: unknown; metadata?: unknown };
  if (map === null || typeof map !== "object" || Array.isArray(map))
    fail('the index has no "weight_map" object', source);
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata))
    fail('"metadata" is not an object', source);
  const weightMap = new Map<string, string>();
  const files: string[] = [];
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    // Shards sit beside the index: a path that leaves the folder is refused.
    if (
      typeof file !== "string" ||
      file === "" ||
      file.startsWith("/") ||
      file.split(/[\\/]/).includes("..")
    )
      fail(
        `weight_map["${name}"] is ${JSON.stringify(file)}, not a file name beside the index`,
        source,
      );
    weightMap.set(name, file as string);
    if (!files.includes(file as string)) files.push(file as string);
  }
  if (weightMap.size === 0) fail("weight_map is empty", source);
  return { weightMap, files, metadata: metadata as Record<string, unknown> };
}

/**
 * Joins the shards' tensors into one map, checking each against the index: a tensor the index
 * puts in another shard or does not list, a tensor in two shards, and a listed tensor missing
 * from its shard are errors naming the file.
 */
export function mergeShards(
  index: ShardIndex,
  shards: ReadonlyMap<string, ReadonlyMap<string, SafeTensor>>,
  source: string,
): Map<string, SafeTensor> {
  const out = new Map<string, SafeTensor>();
  const from = new Map<string, string>();
  for (const file of index.files) {
    const tensors = shards.get(file);
    if (!tensors) fail(`shard ${file} was not read`, source);
    for (const [name, t] of tensors as ReadonlyMap<string, SafeTensor>) {
      const other = from.get(name);
      if (other !== undefined)
        fail(`tensor '${name}' is in two shards, ${other} and ${file}`, `${source}: ${file}`);
      const listed = index.weightMap.get(name);
      if (listed === undefined)
        fail(`tensor '${name}' is in ${file} but the index does not list it`, `${source}: ${file}`);
      if (listed !== file)
        fail(
          `tensor '${name}' is in ${file} but the index puts it in ${listed}`,
          `${source}: ${file}`,
        );
      out.set(name, t);
      from.set(name, file);
    }
  }
  for (const [name, file] of index.weightMap) {
    if (!out.has(name))
      fail(
        `tensor '${name}' is listed in the index but missing from ${file}`,
        `${source}: ${file}`,
      );
  }
  return out;
}
