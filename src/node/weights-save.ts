// Writing weights into a model folder as save_pretrained does: model.safetensors, or shards of at
// most `maxShardSize` plus model.safetensors.index.json (io/shards-write.ts), each file written
// atomically. Weights files of an earlier save that the new one does not use are removed, so a
// folder never mixes two checkpoints. Tied names should be dropped first (io/tied.ts dropTied).
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { TensorToWrite } from "../io/safetensors.js";
import { serializeSafetensorsLikeHf } from "../io/safetensors-hf.js";
import { parseShardSize, planShards, shardIndexJson } from "../io/shards-write.js";
import { atomicWrite } from "./files.js";

export interface SaveWeightsOptions {
  /** Largest shard: bytes, or "5GB"-style (default "50GB", transformers 5's default). */
  maxShardSize?: string | number;
  /** File name stem (default "model"). */
  stem?: string;
  /** Index metadata instead of {total_parameters, total_size} computed from the tensors. */
  indexMetadata?: Record<string, number | string>;
}

/**
 * Writes the tensors (in the order given: it decides which shard each lands in) and returns the
 * files written, the index last when there is one.
 */
export function saveWeightsLikeHf(
  dir: string,
  tensors: Iterable<[string, TensorToWrite]>,
  options: SaveWeightsOptions = {},
): string[] {
  const stem = options.stem ?? "model";
  const list = [...tensors];
  const byName = new Map(list);
  const plan = planShards(list, parseShardSize(options.maxShardSize ?? "50GB"), stem);
  const written: string[] = [];
  for (const [file, names] of plan.shards) {
    const path = join(dir, file);
    atomicWrite(
      path,
      serializeSafetensorsLikeHf(names.map((n) => [n, byName.get(n) as TensorToWrite])),
    );
    written.push(path);
  }
  const index = join(dir, `${stem}.safetensors.index.json`);
  if (plan.shards.length > 1) {
    atomicWrite(index, shardIndexJson(plan, options.indexMetadata));
    written.push(index);
  }
  const pattern = new RegExp(
    `^${stem.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(-\\d{5}-of-\\d{5})?\\.safetensors(\\.index\\.json)?$`,
  );
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (pattern.test(name) && !written.includes(path)) rmSync(path, { force: true });
  }
  return written;
}
