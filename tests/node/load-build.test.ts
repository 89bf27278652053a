// Models built for loading (src/nn/load-build.ts): no random weight drawn to be overwritten.
// Each load path gives, bit for bit, the model (all parameters, held bits, logits) that building
// with seeded random weights and then loading gave: loadModel on the reference checkpoints of
// every family in ../shared/ref/hf and on maskwise's own directory, a LoRA base in float32 and in
// bfloat16, a model fine-tuned from its own family's directory, an adapter. A model that takes
// only its encoder from a file keeps the random rest it had. A file that lacks a tensor is
// refused with the line it always was; a load that leaves a weight out is an error, never zeros.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { checkFiniteWeights } from "../../src/io/finite.js";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.js";
import { PRESETS, resolveConfig } from "../../src/models/config.js";
import type { FamilyModel } from "../../src/models/family.js";
import { attachAdapter, loadAdapterState } from "../../src/models/peft.js";
import { buildModel, familyOf } from "../../src/models/registry.js";
import { loadFileState } from "../../src/models/state.js";
import { buildHeldBf16, Embedding, Linear } from "../../src/nn/layers.js";
import { awaitingLoad, buildForLoad, skippingInit } from "../../src/nn/load-build.js";
import { loadAdapter, readAdapterConfig } from "../../src/node/adapter.js";
import { initFromHeld } from "../../src/node/held-load.js";
import { loadConfig, loadModel, saveModel } from "../../src/node/model-dir.js";
import { initFrom, modelFrom } from "../../src/node/training-setup.js";
import { loadWeights, readWeightsFile } from "../../src/node/weights.js";
import { noGrad } from "../../src/tensor/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { Rng } from "../../src/util/rng.js";
import { HF_REF, ids, readCase } from "../helpers/hf-ref.js";
import { makeTinyModelDir } from "../helpers/tiny-model.js";
import { tempDir } from "../helpers/tmp.js";

/** loadModel as it was: a seeded build (seed 0), then the file's tensors over it. */
function loadSeededThenFilled(dir: string): FamilyModel {
  const config = loadConfig(dir);
  const model = familyOf(config).build(config, 0);
  const weights = loadWeights(dir);
  const where = weights.files.length === 1 ? weights.files[0] : dir;
  loadFileState(model, weights.tensors, where);
  checkFiniteWeights(model.namedParameters(), where);
  model.eval();
  return model;
}

/** Asserts the same parameter names, in order, with the same bits, and the same held bits. */
function assertSameWeights(got: FamilyModel, want: FamilyModel): void {
  const a = got.namedParameters();
  const b = want.namedParameters();
  assert.deepEqual(
    a.map(([n, p]) => [n, p.shape]),
    b.map(([n, p]) => [n, p.shape]),
  );
  for (let i = 0; i < a.length; i++) {
    const [name, p] = a[i];
    const q = b[i][1];
    const same = Buffer.from(p.f32.buffer, p.f32.byteOffset, p.f32.byteLength).equals(
      Buffer.from(q.f32.buffer, q.f32.byteOffset, q.f32.byteLength),
    );
    assert.ok(same, `${name} differs`);
  }
  // Tied parameters stay one tensor under every name.
  assert.equal(got.parameters().length, want.parameters().length);
  const held = (m: FamilyModel) =>
    m
      .namedModules()
      .filter(([, x]) => (x instanceof Linear || x instanceof Embedding) && x.weightBf16)
      .map(([path, x]) => [path, (x as Linear | Embedding).weightBf16]);
  assert.deepEqual(held(got), held(want));
}

/** The logits of a few rows of the case's batch (the fields its structure reads). */
function logits(model: FamilyModel, name: string): Float32Array {
  const b = readCase(name).batch;
  const batch: Record<string, Tensor> = {
    input_ids: ids(b.input_ids),
    attention_mask: ids(b.attention_mask),
  };
  if (b.decoder_input_ids) batch.decoder_input_ids = ids(b.decoder_input_ids);
  if (b.token_type_ids) batch.token_type_ids = ids(b.token_type_ids);
  model.eval();
  return noGrad(() => model.forward(batch as never).logits).f32.slice();
}

const CASES = [
  "bart",
  "mbart",
  "marian",
  "t5",
  "t5_v1_1",
  "gpt2",
  "bert",
  "roberta",
  "llama",
  "llama_tied",
  "qwen2",
  "mistral",
];

for (const name of CASES) {
  test(`loadModel (${name}): the model and logits of a seeded build filled from the file`, () => {
    const dir = join(HF_REF, name);
    const got = loadModel(dir);
    const want = loadSeededThenFilled(dir);
    assertSameWeights(got, want);
    assert.equal(got.training, false);
    assert.deepEqual(logits(got, name), logits(want, name));
  });
}

test("loadModel (maskwise's own encoder-decoder directory): the same model and logits", () => {
  const dir = makeTinyModelDir(7);
  const got = loadModel(dir);
  const want = loadSeededThenFilled(dir);
  assertSameWeights(got, want);
  assert.deepEqual(logits(got, "bart"), logits(want, "bart"));
});

test("after a load, a seeded build draws the weights it draws alone", () => {
  const dir = join(HF_REF, "llama");
  const config = loadConfig(dir);
  const before = buildModel(config, 3);
  loadModel(dir);
  assert.equal(skippingInit(), false);
  const after = buildModel(config, 3);
  assertSameWeights(after, before);
  const q = after.namedParameters().find(([n]) => n.endsWith("q_proj.weight"));
  assert.ok(q?.[1].f32.some((v) => v !== 0));
});

test("loading draws no random number; a seeded build does", () => {
  const next = Rng.prototype.nextU32;
  let drawn = 0;
  Rng.prototype.nextU32 = function (this: Rng) {
    drawn++;
    return next.call(this);
  };
  try {
    const base = join(HF_REF, "llama_lora");
    const config = loadConfig(base);
    loadAdapter(loadModel(base), join(base, "adapter"));
    loadModel(join(HF_REF, "t5"));
    modelFrom(config, 1, base);
    buildForLoad(
      () => buildHeldBf16(() => buildModel(config, 1)),
      (m) => initFromHeld(m, base),
      base,
    );
    assert.equal(drawn, 0);
    buildModel(config, 1);
    assert.ok(drawn > 1000);
  } finally {
    Rng.prototype.nextU32 = next;
  }
});

/** A copy of a reference case whose model.safetensors lacks `drop`. */
function caseWithout(name: string, drop: string): string {
  const dir = tempDir(`lacks-${name}`);
  const src = join(HF_REF, name);
  copyFileSync(join(src, "config.json"), join(dir, "config.json"));
  const file = parseSafetensors(readFileSync(join(src, "model.safetensors")), "src");
  assert.ok(file.tensors.has(drop), drop);
  const kept = [...file.tensors].filter(([n]) => n !== drop);
  writeFileSync(
    join(dir, "model.safetensors"),
    serializeSafetensors(
      kept.map(([n, t]) => [n, { shape: t.shape, data: Float32Array.from(t.data) }]),
      { format: "pt" },
    ),
  );
  return dir;
}

function errorLine(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MaskwiseError, String(e));
    return e.toLine();
  }
  assert.fail("no error");
}

for (const [name, drop] of [
  ["bart", "model.encoder.layers.1.fc1.weight"],
  ["bart", "final_logits_bias"],
  ["llama", "lm_head.weight"],
  ["llama_tied", "model.embed_tokens.weight"],
  ["gpt2", "transformer.h.0.attn.c_attn.weight"],
]) {
  test(`a file without ${drop} (${name}) is refused with the line it always was`, () => {
    const dir = caseWithout(name, drop);
    const line = errorLine(() => loadModel(dir));
    assert.equal(
      line,
      errorLine(() => loadSeededThenFilled(dir)),
    );
    assert.match(line, /^maskwise: missing tensor '/);
    // initFrom (a run's --init-from, a LoRA base) refuses it as it always did too.
    const config = loadConfig(dir);
    assert.equal(
      errorLine(() => modelFrom(config, 0, dir)),
      errorLine(() => initFrom(buildModel(config, 0), dir)),
    );
  });
}

test("modelFrom a directory of the model's own family: initFrom's model, bit for bit", () => {
  for (const name of ["bart", "llama_tied", "t5"]) {
    const dir = join(HF_REF, name);
    const config = loadConfig(dir);
    const want = buildModel(config, 5);
    initFrom(want, dir);
    assertSameWeights(modelFrom(config, 5, dir), want);
  }
});

test("modelFrom a masked-LM encoder: the encoder from the file, the rest as random as ever", () => {
  const own = { ...PRESETS.tiny, vocab_size: 120, position_embedding: "learned" };
  const mlmDir = tempDir("mlm");
  saveModel(mlmDir, buildModel(resolveConfig({ ...own, maskwise_arch: "encoder-only" }), 8));
  const config = resolveConfig({ ...own, maskwise_arch: "encoder-decoder" });
  const got = modelFrom(config, 3, mlmDir);
  const want = buildModel(config, 3);
  initFrom(want, mlmDir);
  assertSameWeights(got, want);
  // The decoder kept the seeded build's random weights (not zeros, not the file's).
  const fresh = new Map(buildModel(config, 3).namedParameters());
  const [name, p] =
    got.namedParameters().find(([n]) => n.endsWith("decoder.layers.0.fc1.weight")) ?? [];
  assert.ok(name && p);
  assert.deepEqual(p.f32, fresh.get(name)?.f32);
  assert.ok(p.f32.some((v) => v !== 0));
});

test("a LoRA run's base: its fresh adapter is the one a seeded, then loaded, base got", () => {
  const dir = join(HF_REF, "llama");
  const config = loadConfig(dir);
  const adapter = readAdapterConfig(join(HF_REF, "llama_lora", "adapter"));
  const got = modelFrom(config, 2, dir);
  attachAdapter(got, adapter, 2);
  const want = buildModel(config, 2);
  initFrom(want, dir);
  attachAdapter(want, adapter, 2);
  assertSameWeights(got, want);
});

test("a base held in bfloat16, built for loading: the bits of a seeded held build, loaded", () => {
  for (const name of ["llama", "llama_tied"]) {
    const dir = join(HF_REF, name);
    const config = loadConfig(dir);
    const got = buildForLoad(
      () => buildHeldBf16(() => buildModel(config, 1)),
      (m) => initFromHeld(m, dir),
      dir,
    );
    const want = buildHeldBf16(() => buildModel(config, 1));
    initFromHeld(want, dir);
    assertSameWeights(got, want);
  }
});

test("loadAdapter: the adapter's A and B from its file, the model of attach-then-load", () => {
  const base = join(HF_REF, "llama_lora");
  const adapterDir = join(base, "adapter");
  const got = loadModel(base);
  loadAdapter(got, adapterDir);
  const want = loadSeededThenFilled(base);
  attachAdapter(want, readAdapterConfig(adapterDir));
  const path = join(adapterDir, "adapter_model.safetensors");
  loadAdapterState(want, readWeightsFile(path).tensors, path);
  assertSameWeights(got, want);
  assert.deepEqual(logits(got, "llama_lora"), logits(want, "llama_lora"));
});

test("a load that leaves a weight out is an error naming it, never zeros", () => {
  const dir = join(HF_REF, "bart");
  const config = loadConfig(dir);
  const skip = "model.decoder.layers.1.fc2.weight";
  assert.throws(
    () =>
      buildForLoad(
        () => buildModel(config, 0),
        (m) => {
          for (const [n, p] of m.namedParameters()) if (n !== skip) p.f32.fill(0.5);
        },
        "a test",
      ),
    (e: Error) =>
      e instanceof MaskwiseError &&
      e.message === `the load left 1 weight unset: ${skip}` &&
      e.where === "a test",
  );
  // Held in bfloat16: a table left out is named too.
  const llama = loadConfig(join(HF_REF, "llama"));
  assert.throws(
    () =>
      buildForLoad(
        () => buildHeldBf16(() => buildModel(llama, 0)),
        () => {},
        "held",
      ),
    /the load left \d+ weights unset: model\.embed_tokens\.weight, /,
  );
  // Outside a build for loading, nothing is left undrawn.
  assert.throws(() => awaitingLoad(new Float32Array(4)), /outside buildForLoad/);
  assert.equal(skippingInit(), false);
});

test("a build that throws leaves later builds drawing their random weights", () => {
  const config = loadConfig(join(HF_REF, "gpt2"));
  const before = buildModel(config, 4);
  assert.throws(() =>
    buildForLoad(
      () => {
        throw new Error("boom");
      },
      () => {},
      "x",
    ),
  );
  assert.equal(skippingInit(), false);
  assertSameWeights(buildModel(config, 4), before);
});
