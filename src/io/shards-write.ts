// Splitting weights into shards the way save_pretrained does (huggingface_hub's splitter), and
// writing the index as transformers writes it, so a converted checkpoint has the same files:
//
//   - tensors are taken in the order given (transformers 5 sorts names with `dotNaturalCompare`
//     for models it has a weight-renaming table for, and keeps module order otherwise: the family
//     decides), and a shard is closed when the next tensor would take it over the limit;
//   - a tensor larger than the limit gets a shard of its own, placed before the shard still
//     being filled (the splitter appends it at once);
//   - one shard is written as model.safetensors with no index; more are
//     model-00001-of-0000N.safetensors plus model.safetensors.index.json;
//   - the index is {"metadata": {"total_parameters", "total_size"}, "weight_map"} as Python's
//     json.dumps(indent=2, sort_keys=True) prints it (non-ASCII escaped), with a final newline.
import { MaskwiseError } from "../util/errors.js";
import { dtypeWidth, type SafeDType, type TensorToWrite } from "./safetensors.js";

const UNITS: Record<string, number> = { TB: 1e12, GB: 1e9, MB: 1e6, KB: 1e3 };

/** "5GB", "12KB", or a number of bytes: decimal units, as huggingface_hub reads them. */
export function parseShardSize(size: string | number): number {
  if (typeof size === "number") return size;
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]B)\s*$/i.exec(size);
  if (!m) {
    throw new MaskwiseError(`shard size '${size}' is not a number with a unit`, {
      code: "E_ARG",
      where: "max shard size",
      hint: "write e.g. 5GB, 500MB (units TB, GB, MB, KB; 1 KB = 1000 bytes)",
    });
  }
  return Math.floor(Number(m[1]) * UNITS[m[2].toUpperCase()]);
}

/** Code point order: how Python compares strings (JavaScript's < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const xs = [...a];
  const ys = [...b];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const d = (xs[i].codePointAt(0) ?? 0) - (ys[i].codePointAt(0) ?? 0);
    if (d) return d;
  }
  return xs.length - ys.length;
}

/**
 * transformers' sort key for state-dict names: split on ".", an all-digit part sorts as a number
 * and before any word; a word sorts by its text, then by a number it ends in ("shard_2" before
 * "shard_11"). Text compares by code point, as Python compares strings.
 */
export function dotNaturalCompare(a: string, b: string): number {
  type Part = [0, number] | [1, string, number?];
  const key = (s: string): Part[] =>
    s.split(".").map((p): Part => {
      if (/^\d+$/.test(p)) return [0, Number(p)];
      const m = /^(.*?)(\d*)$/.exec(p) as RegExpExecArray;
      return m[2] === "" ? [1, p] : [1, m[1], Number(m[2])];
    });
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    const [x, y] = [ka[i], kb[i]];
    if (x[0] !== y[0]) return x[0] - y[0];
    if (x[0] === 0) {
      if (x[1] !== y[1]) return x[1] - (y[1] as number);
      continue;
    }
    const t = compareCodePoints(x[1], y[1] as string);
    if (t) return t;
    // A shorter tuple (no trailing number) sorts first when the text is equal.
    if (x.length !== y.length) return x.length - y.length;
    if (x[2] !== undefined && x[2] !== y[2]) return x[2] - (y[2] as number);
  }
  return ka.length - kb.length;
}

export interface ShardPlan {
  /** Each shard's file name and its tensors' names, in the order they are written. */
  shards: [string, string[]][];
  /** Bytes of tensor data over all shards. */
  totalSize: number;
  /** Elements over all shards. */
  totalParameters: number;
}

/** Splits tensors (in the order given) into shards of at most `maxShardBytes` bytes of data. */
export function planShards(
  tensors: readonly [string, TensorToWrite][],
  maxShardBytes: number,
  stem = "model",
): ShardPlan {
  const groups: string[][] = [];
  let current: string[] = [];
  let currentSize = 0;
  let totalSize = 0;
  let totalParameters = 0;
  for (const [name, t] of tensors) {
    const dtype: SafeDType = t.dtype ?? (t.data instanceof Float32Array ? "F32" : "I32");
    const size = t.data.length * dtypeWidth(dtype);
    totalSize += size;
    totalParameters += t.data.length;
    if (size > maxShardBytes) {
      groups.push([name]);
      continue;
    }
    if (currentSize + size > maxShardBytes) {
      groups.push(current);
      current = [];
      currentSize = 0;
    }
    current.push(name);
    currentSize += size;
  }
  if (current.length > 0) groups.push(current);
  const n = groups.length;
  const pad = (i: number) => String(i).padStart(5, "0");
  const shards = groups.map((names, i): [string, string[]] => [
    n === 1 ? `${stem}.safetensors` : `${stem}-${pad(i + 1)}-of-${pad(n)}.safetensors`,
    names,
  ]);
  return { shards, totalSize, totalParameters };
}

/** Python's json.dumps string escaping with ensure_ascii: every non-ASCII UTF-16 unit as \uXXXX. */
function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (c) =>
    c === "\u007f" ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The index file of a sharded checkpoint, byte for byte as transformers writes it. `metadata`
 * defaults to total_parameters and total_size from the plan (transformers counts parameters with
 * num_parameters(), which leaves out buffers: pass it when they differ).
 */
export function shardIndexJson(
  plan: ShardPlan,
  metadata?: Record<string, number | string>,
): string {
  const meta = metadata ?? {
    total_parameters: plan.totalParameters,
    total_size: plan.totalSize,
  };
  const map: [string, string][] = [];
  for (const [file, names] of plan.shards) for (const n of names) map.push([n, file]);
  // sort_keys: Python orders keys by code point.
  const byCodePoint = compareCodePoints;
  const metaLines = Object.keys(meta)
    .sort(byCodePoint)
    .map(
      (k) =>
        `    ${pyString(k)}: ${typeof meta[k] === "string" ? pyString(meta[k] as string) : meta[k]}`,
    );
  const mapLines = map
    .sort(([a], [b]) => byCodePoint(a, b))
    .map(([n, f]) => `    ${pyString(n)}: ${pyString(f)}`);
  return `{\n  "metadata": {\n${metaLines.join(",\n")}\n  },\n  "weight_map": {\n${mapLines.join(",\n")}\n  }\n}\n`;
}
