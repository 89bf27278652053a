// loadPretrained: a reference model folder read whole, with the family's ties put back; a .bin
// folder reads the same names; a hub name that is not cached says how to get it.
import assert from "node:assert/strict";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadPretrained } from "../../src/node/pretrained.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { tempDir } from "../helpers/tmp.js";

const root = join(import.meta.dirname, "..", "..");
const ref = join(root, "..", "shared", "ref", "hf");
const bartTies = [
  "lm_head.weight = model.shared.weight",
  "model.encoder.embed_tokens.weight = model.shared.weight",
  "model.decoder.embed_tokens.weight = model.shared.weight",
];

test("bart: config as written, every weight, the three tied names restored", () => {
  const p = loadPretrained(join(ref, "bart"), { ties: bartTies });
  assert.equal(p.config.model_type, "bart");
  assert.equal(p.format, "safetensors");
  assert.deepEqual(p.restored.sort(), bartTies.map((l) => l.split(" = ")[0]).sort());
  assert.equal(p.tensors.get("lm_head.weight"), p.tensors.get("model.shared.weight"));
  assert.deepEqual(p.untied, []);
});

test("the same model as a float16 .bin: the same names, nothing to restore (state_dict kept them)", () => {
  const dir = tempDir("pretrained-bin");
  copyFileSync(join(ref, "bart", "config.json"), join(dir, "config.json"));
  copyFileSync(
    join(root, "tests", "fixtures", "bin", "bart_f16.bin"),
    join(dir, "pytorch_model.bin"),
  );
  const bin = loadPretrained(dir, { ties: bartTies });
  const st = loadPretrained(join(ref, "bart"), { ties: bartTies });
  assert.equal(bin.format, "bin");
  assert.deepEqual([...bin.tensors.keys()].sort(), [...st.tensors.keys()].sort());
  assert.deepEqual(bin.restored, []);
  assert.deepEqual(bin.untied, []);
});

test("a hub name missing from the cache fails with the command that downloads it", () => {
  assert.throws(
    () => loadPretrained("acme/absent", { cacheDir: tempDir("pretrained-cache") }),
    (e: unknown) =>
      e instanceof MaskwiseError && /maskwise hub get acme\/absent/.test(e.hint ?? ""),
  );
});
