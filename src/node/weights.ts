// Finding and reading the weights of a Hugging Face model folder. transformers looks for, in order:
//   model.safetensors, model.safetensors.index.json (+ shards),
//   pytorch_model.bin, pytorch_model.bin.index.json (+ shards)
// and so does this file. Every tensor comes back converted (float32 or int32) with the dtype it
// was stored in; tied names HF leaves out are the family's business (io/tied.ts).
import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { readSafetensors, type SafeTensor } from "../io/safetensors.js";
import { mergeShards, parseShardIndex } from "../io/shards.js";
import { parseTorchStateDict } from "../io/torch-bin.js";
import { MaskwiseError } from "../util/errors.js";
import { withFileSource } from "./file-source.js";
import { readJson } from "./files.js";

export type WeightsFormat = "safetensors" | "safetensors-sharded" | "bin" | "bin-sharded";

export interface LoadedWeights {
  tensors: Map<string, SafeTensor>;
  format: WeightsFormat;
  /** The files read: the weights file, or the index followed by its shards. */
  files: string[];
  /** safetensors `__metadata__` of the (first) file; empty for .bin. */
  metadata: Record<string, string>;
}

export interface WeightsOptions {
  /**
   * The file name stem: "model" (default) looks for model.safetensors and pytorch_model.bin;
   * "adapter_model" for adapter_model.safetensors and adapter_model.bin (PEFT).
   */
  stem?: string;
}

function candidates(stem: string): [string, WeightsFormat][] {
  const bin = stem === "model" ? "pytorch_model" : stem;
  return [
    [`${stem}.safetensors`, "safetensors"],
    [`${stem}.safetensors.index.json`, "safetensors-sharded"],
    [`${bin}.bin`, "bin"],
    [`${bin}.bin.index.json`, "bin-sharded"],
  ];
}

/** The weights file of a model folder, in transformers' order of preference, or null. */
export function findWeights(
  dir: string,
  options: WeightsOptions = {},
): { path: string; format: WeightsFormat } | null {
  for (const [name, format] of candidates(options.stem ?? "model")) {
    const path = join(dir, name);
    if (existsSync(path)) return { path, format };
  }
  return null;
}

const inflateRaw = (data: Uint8Array, expectedSize: number) =>
  inflateRawSync(data, { maxOutputLength: Math.max(1, expectedSize) });

/**
 * Reads one weights file, tensor by tensor from the open file (no 2 GiB limit): a torch.save zip
 * when it starts like one, safetensors otherwise.
 */
export function readWeightsFile(path: string): {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
} {
  return withFileSource(path, (src) => {
    const head = src.read(0, Math.min(4, src.length));
    const isZip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
    if (isZip || /\.(bin|pt|pth)$/.test(path))
      return { tensors: parseTorchStateDict(src, path, { inflateRaw }), metadata: {} };
    return readSafetensors(src, path);
  });
}

/**
 * Reads the weights of a model folder (or one weights file or index file given directly). Shards
 * are all read and checked against the index (io/shards.ts).
 */
export function loadWeights(pathOrDir: string, options: WeightsOptions = {}): LoadedWeights {
  let found: { path: string; format: WeightsFormat } | null;
  if (existsSync(pathOrDir) && statSync(pathOrDir).isDirectory()) {
    found = findWeights(pathOrDir, options);
    if (!found) {
      const names = candidates(options.stem ?? "model").map(([n]) => n);
      throw new MaskwiseError("no weights file in the model folder", {
        code: "E_FILE",
        where: pathOrDir,
        hint: `expected one of ${names.join(", ")}`,
      });
    }
  } else {
    const p = pathOrDir;
    const format: WeightsFormat = p.endsWith(".safetensors.index.json")
      ? "safetensors-sharded"
      : p.endsWith(".index.json")
        ? "bin-sharded"
        : p.endsWith(".safetensors")
          ? "safetensors"
          : "bin";
    found = { path: p, format };
  }
  const { path, format } = found;
  if (format === "safetensors" || format === "bin") {
    const { tensors, metadata } = readWeightsFile(path);
    return { tensors, format, files: [path], metadata };
  }
  const index = parseShardIndex(readJson(path, basename(path)), path);
  const shards = new Map<string, Map<string, SafeTensor>>();
  let metadata: Record<string, string> | undefined;
  const files = [path];
  for (const file of index.files) {
    const shardPath = join(dirname(path), file);
    if (!existsSync(shardPath)) {
      throw new MaskwiseError(`shard ${file} named by the index is missing`, {
        code: "E_SHARDS",
        where: shardPath,
        hint: "download every shard of the checkpoint",
      });
    }
    const shard = readWeightsFile(shardPath);
    metadata ??= shard.metadata;
    shards.set(file, shard.tensors);
    files.push(shardPath);
  }
  return { tensors: mergeShards(index, shards, path), format, files, metadata: metadata ?? {} };
}
