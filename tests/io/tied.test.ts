// Tie groups restored and dropped on every reference checkpoint: the names transformers left out
// (safetensors_header.json's omitted_from_state_dict) come back equal to their kept tensor, and
// dropping them again gives the very file transformers wrote.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors, type SafeTensor } from "../../src/io/safetensors.js";
import { serializeSafetensorsLikeHf } from "../../src/io/safetensors-hf.js";
import { dropTied, parseTieGroups, restoreTied } from "../../src/io/tied.js";

const ref = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "hf");
const families = readdirSync(ref, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

/** "a = b" lines from the header's "tied to b" reasons (other omissions are not ties). */
function tieLines(family: string): string[] {
  const header = JSON.parse(readFileSync(join(ref, family, "safetensors_header.json"), "utf8"));
  return Object.entries(header.omitted_from_state_dict as Record<string, string>)
    .filter(([, why]) => why.startsWith("tied to "))
    .map(([name, why]) => `${name} = ${why.slice("tied to ".length)}`);
}

test("every family: omitted tied names are restored, then dropped back to HF's exact file", () => {
  let tiedFamilies = 0;
  for (const family of families) {
    const path = join(ref, family, "model.safetensors");
    const original = new Uint8Array(readFileSync(path));
    const file = parseSafetensors(original, path);
    const lines = tieLines(family);
    const groups = parseTieGroups(lines);
    const { tensors, restored, untied } = restoreTied(file.tensors, groups);
    const omitted = lines.map((l) => l.split(" = ")[0]);
    assert.deepEqual(restored.sort(), [...omitted].sort(), family);
    assert.deepEqual(untied, [], family);
    for (const line of lines) {
      const [name, kept] = line.split(" = ");
      assert.ok(!file.tensors.has(name), `${family}: ${name} was in the file`);
      assert.equal(tensors.get(name), file.tensors.get(kept), `${family}: ${name} is ${kept}`);
    }
    if (lines.length > 0) tiedFamilies++;
    const { tensors: saved, dropped } = dropTied(tensors, groups);
    assert.deepEqual(dropped.sort(), [...omitted].sort(), family);
    assert.deepEqual([...saved.keys()].sort(), [...file.tensors.keys()].sort(), family);
    const bytes = serializeSafetensorsLikeHf(saved, file.metadata);
    assert.ok(Buffer.from(bytes).equals(Buffer.from(original)), `${family}: bytes differ`);
  }
  assert.ok(tiedFamilies >= 10, `${tiedFamilies} families with ties`);
});

test("a file holding only a tied copy fills the kept name; a differing copy is reported untied", () => {
  const t = (...v: number[]): SafeTensor => ({
    dtype: "F32",
    shape: [v.length],
    data: Float32Array.from(v),
  });
  const groups = parseTieGroups([
    "lm_head.weight = model.shared.weight",
    "model.encoder.embed_tokens.weight = model.shared.weight",
    "cls.bias = head.bias",
  ]);
  assert.equal(groups.length, 2);
  const onlyCopy = restoreTied(new Map([["lm_head.weight", t(1, 2)]]), groups);
  assert.deepEqual(onlyCopy.restored, ["model.shared.weight", "model.encoder.embed_tokens.weight"]);
  assert.deepEqual(Array.from(onlyCopy.tensors.get("model.shared.weight")?.data ?? []), [1, 2]);
  const differing = restoreTied(
    new Map([
      ["model.shared.weight", t(1, 2)],
      ["lm_head.weight", t(1, 3)],
    ]),
    groups,
  );
  assert.deepEqual(differing.untied, ["lm_head.weight"]);
  assert.deepEqual(differing.restored, ["model.encoder.embed_tokens.weight"]);
  // The differing copy is not a tie any more: dropTied keeps it.
  const kept = dropTied(differing.tensors, groups);
  assert.deepEqual(kept.dropped, ["model.encoder.embed_tokens.weight"]);
  assert.ok(kept.tensors.has("lm_head.weight"));
  assert.throws(
    () => dropTied(new Map([["lm_head.weight", t(1)]]), groups),
    /model\.shared\.weight' is missing/,
  );
  assert.throws(() => parseTieGroups(["lm_head.weight"]), /not "tied.name = kept.name"/);
});
