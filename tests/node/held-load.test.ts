// A frozen base built and loaded in bfloat16 from the start (buildHeldBf16, initFromHeld: a LoRA
// run's --init-from model under --base-precision bfloat16): the build draws the float32 build's
// random values, rounded, with no float32 weight parameter; loading the llama and llama_tied
// reference cases (float32 files) gives the bits and the logits of the float32 model loaded and
// then held; a bfloat16 checkpoint, whole or sharded, gives its own bits; what a file lacks or
// holds wrong is refused as initFrom refuses it.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.js";
import type { FamilyModel } from "../../src/models/family.js";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { heldWeightCount, holdFrozenWeightsBf16 } from "../../src/nn/frozen-bf16.js";
import { buildHeldBf16, Embedding, Linear } from "../../src/nn/layers.js";
import { initFromHeld } from "../../src/node/held-load.js";
import { initFrom } from "../../src/node/training-setup.js";
import { toBf16 } from "../../src/tensor/bf16.js";
import { causalLogits } from "../helpers/causal-logits.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { tempDir } from "../helpers/tmp.js";

function config(name: string) {
  const path = join(HF_REF, name, "config.json");
  return resolveModelConfig(JSON.parse(readFileSync(path, "utf8")), path);
}

/** Every held weight's bits, by module path. */
function bitsOf(model: FamilyModel): Map<string, Uint16Array> {
  const out = new Map<string, Uint16Array>();
  for (const [path, m] of model.namedModules())
    if ((m instanceof Linear || m instanceof Embedding) && m.weightBf16)
      out.set(path, m.weightBf16);
  return out;
}

function logits(model: FamilyModel): Float32Array {
  return causalLogits(model, [1, 7, 3, 12, 5, 9]);
}

/** The float32 model of a case, loaded, then its base held (the path before loading in bfloat16). */
function loadedThenHeld(name: string): FamilyModel {
  const m = buildModel(config(name), 1);
  initFrom(m as Parameters<typeof initFrom>[0], join(HF_REF, name));
  for (const p of m.parameters()) p.requiresGrad = false;
  holdFrozenWeightsBf16(m);
  return m;
}

test("buildHeldBf16: the float32 build's values rounded, no float32 weight parameters", () => {
  const cfg = config("llama_tied");
  const f32 = buildModel(cfg, 4);
  const held = buildHeldBf16(() => buildModel(cfg, 4));
  const bits = bitsOf(held);
  let n = 0;
  for (const [path, m] of f32.namedModules()) {
    if (!(m instanceof Embedding || (m instanceof Linear && !m.tied))) continue;
    assert.deepEqual(bits.get(path), toBf16(m.weight.f32), path);
    n++;
  }
  assert.ok(n > 5);
  // The tied head reads the table's bits; only norms remain float32 parameters.
  assert.equal(bits.get("lm_head"), bits.get("model.embed_tokens"));
  assert.ok(held.namedParameters().every(([name]) => /norm\.weight$/.test(name)));
  assert.equal(heldWeightCount(held), f32.parameterCount());
});

for (const name of ["llama", "llama_tied"]) {
  test(`initFromHeld (${name}, float32 file): the bits and logits of loading, then holding`, () => {
    const want = loadedThenHeld(name);
    const got = buildHeldBf16(() => buildModel(config(name), 1));
    initFromHeld(got, join(HF_REF, name));
    const a = bitsOf(got);
    const b = bitsOf(want);
    assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
    for (const [path, bits] of a) assert.deepEqual(bits, b.get(path), path);
    for (const [n, p] of want.namedParameters()) {
      const q = got.namedParameters().find(([m]) => m === n)?.[1];
      assert.deepEqual(q?.f32, p.f32, n);
    }
    assert.deepEqual(logits(got), logits(want));
  });
}

/** A copy of a case whose weights file holds its float tensors as BF16 (sharded when asked). */
function bf16Case(name: string, sharded: boolean): string {
  const dir = tempDir(`held-bf16-${name}`);
  copyFileSync(join(HF_REF, name, "config.json"), join(dir, "config.json"));
  const file = parseSafetensors(readFileSync(join(HF_REF, name, "model.safetensors")), name);
  const tensors = [...file.tensors].map(([n, t]) => ({
    name: n,
    shape: t.shape,
    data: t.data,
    dtype: t.data instanceof Float32Array ? ("BF16" as const) : undefined,
  }));
  if (!sharded) {
    writeFileSync(
      join(dir, "model.safetensors"),
      serializeSafetensors(tensors.map((t) => [t.name, t])),
    );
    return dir;
  }
  const half = Math.ceil(tensors.length / 2);
  const parts = [tensors.slice(0, half), tensors.slice(half)];
  const weightMap: Record<string, string> = {};
  parts.forEach((part, i) => {
    const f = `model-0000${i + 1}-of-00002.safetensors`;
    writeFileSync(join(dir, f), serializeSafetensors(part.map((t) => [t.name, t])));
    for (const t of part) weightMap[t.name] = f;
  });
  writeFileSync(
    join(dir, "model.safetensors.index.json"),
    JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
  );
  return dir;
}

test("a bfloat16 checkpoint, whole or sharded, gives its own bits", () => {
  const want = bitsOf(loadedThenHeld("llama_tied"));
  for (const sharded of [false, true]) {
    const dir = bf16Case("llama_tied", sharded);
    const raw = new Map<string, Uint16Array>();
    const got = buildHeldBf16(() => buildModel(config("llama_tied"), 1));
    initFromHeld(got, dir);
    for (const [path, bits] of bitsOf(got)) {
      // Rounding the reference's float32 weights to bfloat16 is what the file stores.
      assert.deepEqual(bits, want.get(path), `${path} (sharded ${sharded})`);
      raw.set(path, bits);
    }
    assert.ok(raw.size > 5);
  }
});

test("a file that lacks a tensor, or holds one of another shape, is refused", () => {
  const dir = tempDir("held-bad");
  copyFileSync(join(HF_REF, "llama", "config.json"), join(dir, "config.json"));
  const file = parseSafetensors(readFileSync(join(HF_REF, "llama", "model.safetensors")), "llama");
  const kept = [...file.tensors].filter(([n]) => n !== "model.layers.0.mlp.up_proj.weight");
  writeFileSync(join(dir, "model.safetensors"), serializeSafetensors(kept));
  const m = buildHeldBf16(() => buildModel(config("llama"), 1));
  assert.throws(
    () => initFromHeld(m, dir),
    /lacks tensor 'model\.layers\.0\.mlp\.up_proj\.weight'/,
  );
  const wrong = [...file.tensors].map(
    ([n, t]): [string, { shape: number[]; data: Float32Array | Int32Array }] =>
      n === "model.layers.0.self_attn.k_proj.weight"
        ? [n, { shape: [t.shape[1], t.shape[0]], data: t.data }]
        : [n, t],
  );
  writeFileSync(join(dir, "model.safetensors"), serializeSafetensors(wrong));
  assert.throws(() => initFromHeld(m, dir), /has shape \[\d+, \d+\], the model expects/);
});
