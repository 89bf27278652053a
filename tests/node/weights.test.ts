// Model folders (src/node/weights.ts): sharded checkpoints (index + shards), safetensors and .bin: read whole and equal to the single
// file; a tensor in two shards, a listed tensor missing from its shard, an unlisted tensor and a
// missing shard file are errors naming the file.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  parseSafetensors,
  type SafeTensor,
  serializeSafetensors,
} from "../../src/io/safetensors.js";
import { loadWeights } from "../../src/node/weights.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { tempDir } from "../helpers/tmp.js";

const root = join(import.meta.dirname, "..", "..");
const ref = join(root, "..", "shared", "ref", "hf");
const gpt2 = parseSafetensors(readFileSync(join(ref, "gpt2", "model.safetensors"))).tensors;

function writeSharded(
  dir: string,
  shards: [string, [string, SafeTensor][]][],
  weightMap: Record<string, string>,
): void {
  for (const [file, list] of shards)
    writeFileSync(join(dir, file), serializeSafetensors(list, { format: "pt" }));
  writeFileSync(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
  );
}

function split(): {
  shards: [string, [string, SafeTensor][]][];
  weightMap: Record<string, string>;
} {
  const all = [...gpt2];
  const a = all.slice(0, 10);
  const b = all.slice(10);
  const weightMap: Record<string, string> = {};
  for (const [n] of a) weightMap[n] = "model-00001-of-00002.safetensors";
  for (const [n] of b) weightMap[n] = "model-00002-of-00002.safetensors";
  return {
    shards: [
      ["model-00001-of-00002.safetensors", a],
      ["model-00002-of-00002.safetensors", b],
    ],
    weightMap,
  };
}

function rejects(dir: string, message: RegExp, file: string) {
  assert.throws(
    () => loadWeights(dir),
    (e: unknown) => {
      assert.ok(e instanceof MaskwiseError, String(e));
      assert.match(e.message, message);
      assert.ok(
        `${e.message} ${e.where}`.includes(file),
        `${e.message} (${e.where}) names ${file}`,
      );
      return true;
    },
  );
}

test("sharded safetensors read back equal to the single file", () => {
  const dir = tempDir("shards");
  const { shards, weightMap } = split();
  writeSharded(dir, shards, weightMap);
  const w = loadWeights(dir);
  assert.equal(w.format, "safetensors-sharded");
  assert.equal(w.files.length, 3);
  assert.deepEqual([...w.tensors.keys()].sort(), [...gpt2.keys()].sort());
  for (const [n, t] of gpt2) assert.deepEqual(w.tensors.get(n)?.data, t.data, n);
  assert.deepEqual(w.metadata, { format: "pt" });
});

test("duplicate, missing and unlisted tensors, and a missing shard, name the file", () => {
  const { shards, weightMap } = split();
  const [first, second] = shards;
  const moved = first[1][0];

  let dir = tempDir("dup");
  writeSharded(dir, [first, [second[0], [...second[1], moved]]], weightMap);
  rejects(
    dir,
    new RegExp(`'${moved[0]}' is in two shards, ${first[0]} and ${second[0]}`),
    second[0],
  );

  dir = tempDir("missing");
  writeSharded(dir, [[first[0], first[1].slice(1)], second], weightMap);
  rejects(
    dir,
    new RegExp(`'${moved[0]}' is listed in the index but missing from ${first[0]}`),
    first[0],
  );

  dir = tempDir("unlisted");
  const fewer = { ...weightMap };
  delete fewer[moved[0]];
  writeSharded(dir, shards, fewer);
  rejects(dir, /but the index does not list it/, first[0]);

  dir = tempDir("elsewhere");
  writeSharded(dir, shards, { ...weightMap, [moved[0]]: second[0] });
  rejects(dir, new RegExp(`is in ${first[0]} but the index puts it in ${second[0]}`), first[0]);

  dir = tempDir("noshard");
  writeSharded(dir, [first], weightMap);
  rejects(dir, /shard model-00002-of-00002\.safetensors named by the index is missing/, second[0]);

  dir = tempDir("escape");
  writeSharded(dir, shards, { ...weightMap, [moved[0]]: "../elsewhere.safetensors" });
  rejects(dir, /not a file name beside the index/, "model.safetensors.index.json");
});

test("sharded .bin written by torch.save: bfloat16 values of the reference, across both shards", () => {
  const w = loadWeights(join(root, "tests", "fixtures", "bin", "gpt2_bf16_sharded"));
  assert.equal(w.format, "bin-sharded");
  assert.equal(w.files.length, 3);
  assert.deepEqual(
    [...w.tensors.keys()].filter((k) => !gpt2.has(k)),
    ["lm_head.weight"],
  );
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  for (const [n, t] of gpt2) {
    const g = w.tensors.get(n) as SafeTensor;
    assert.equal(g.dtype, "BF16", n);
    for (let i = 0; i < t.data.length; i++) {
      // bfloat16 keeps the top 16 bits of the float32, rounded to nearest even.
      f[0] = t.data[i];
      const b = bits[0];
      bits[0] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) << 16;
      assert.equal(g.data[i], f[0], `${n}[${i}]`);
    }
  }
});

test("a folder with both formats is read as transformers reads it: safetensors first", () => {
  const dir = tempDir("both");
  copyFileSync(
    join(root, "tests", "fixtures", "bin", "bart_f16.bin"),
    join(dir, "pytorch_model.bin"),
  );
  assert.equal(loadWeights(dir).format, "bin");
  assert.equal(loadWeights(dir).tensors.get("model.shared.weight")?.dtype, "F16");
  copyFileSync(join(ref, "bart", "model.safetensors"), join(dir, "model.safetensors"));
  const w = loadWeights(dir);
  assert.equal(w.format, "safetensors");
  assert.equal(w.tensors.get("model.shared.weight")?.dtype, "F32");
  assert.throws(() => loadWeights(tempDir("empty")), /no weights file in the model folder/);
});
