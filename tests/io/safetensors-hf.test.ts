// Every reference checkpoint written by transformers' save_pretrained, read and written back by
// serializeSafetensorsLikeHf, is byte for byte the file it was, whatever order the tensors come in.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import {
  compareUtf8,
  hfTensorOrder,
  serializeSafetensorsLikeHf,
} from "../../src/io/safetensors-hf.js";
import { Rng } from "../../src/util/rng.js";

const ref = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "hf");
const files = readdirSync(ref, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => join(ref, d.name, "model.safetensors"))
  .concat([join(ref, "llama_lora", "adapter", "adapter_model.safetensors")]);

test("read and written back, every reference safetensors file is byte-identical", () => {
  assert.ok(files.length >= 16, `found ${files.length} files`);
  const rng = new Rng(7);
  for (const path of files) {
    const original = new Uint8Array(readFileSync(path));
    const { tensors, metadata } = parseSafetensors(original, path);
    // Shuffle, so the order must come from the writer and not from the map it was read into.
    const shuffled = [...tensors];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
    }
    const again = serializeSafetensorsLikeHf(shuffled, metadata);
    assert.equal(again.length, original.length, path);
    const firstDiff = again.findIndex((b, i) => b !== original[i]);
    assert.equal(firstDiff, -1, `${path}: first differing byte ${firstDiff}`);
  }
});

test("the header keys follow the order the reference headers record", () => {
  for (const family of ["bart", "gpt2", "t5_v1_1", "llama"]) {
    const header = JSON.parse(readFileSync(join(ref, family, "safetensors_header.json"), "utf8"));
    const { tensors } = parseSafetensors(readFileSync(join(ref, family, "model.safetensors")));
    const bytes = serializeSafetensorsLikeHf(tensors);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const json = new TextDecoder().decode(bytes.subarray(8, 8 + n));
    assert.deepEqual(Object.keys(JSON.parse(json)), ["__metadata__", ...header.header_key_order]);
    assert.deepEqual(header.data_order, header.header_key_order);
    assert.match(json, /^\{"__metadata__":\{"format":"pt"\},/);
  }
});

test("a file of every dtype written by the safetensors library reads back and writes back byte for byte", () => {
  const path = join(
    import.meta.dirname,
    "..",
    "fixtures",
    "safetensors",
    "mixed_dtypes.safetensors",
  );
  const original = new Uint8Array(readFileSync(path));
  const { tensors, metadata } = parseSafetensors(original, path);
  assert.deepEqual(
    [...tensors.values()].map((t) => t.dtype),
    ["I64", "F64", "F32", "F32", "F32", "I32", "BF16", "F16", "I16", "I8", "U8", "BOOL"],
  );
  assert.deepEqual([...tensors.keys()].slice(2, 5), ["f32", "model.a.weight", "model.z.weight"]);
  const reversed = [...tensors].reverse();
  const again = serializeSafetensorsLikeHf(reversed, metadata);
  assert.ok(Buffer.from(again).equals(Buffer.from(original)));
});

test("mixed dtypes: widest first in the library's dtype order, then by name as UTF-8 bytes", () => {
  const t = (dtype: "F32" | "F16" | "BF16" | "I64" | "F64" | "BOOL" | "I32") => ({
    shape: [1],
    data:
      dtype === "I64" || dtype === "BOOL" || dtype === "I32"
        ? Int32Array.of(1)
        : Float32Array.of(1),
    dtype,
  });
  const order = hfTensorOrder([
    ["b", t("F16")],
    ["a", t("BF16")],
    ["z", t("BOOL")],
    ["m", t("F32")],
    ["c", t("I64")],
    ["d", t("F64")],
    ["e", t("I32")],
    ["\u{1F600}", t("F32")],
    ["\uFF21", t("F32")],
  ]).map(([n]) => n);
  // UTF-16 order would put U+FF21 after the surrogate pair of U+1F600; UTF-8 order puts it first.
  assert.deepEqual(order, ["c", "d", "m", "\uFF21", "\u{1F600}", "e", "a", "b", "z"]);
  assert.ok(compareUtf8("\uFF21", "\u{1F600}") < 0);
  assert.ok(
    "\uFF21" > "\u{1F600}",
    "the JavaScript order differs, which is why compareUtf8 exists",
  );
});
