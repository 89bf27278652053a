// The model-family registry: which family a config.json belongs to, which family trains on a
// task or an objective, and a family added from outside reaching the training loop through its
// structure alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { EncoderOnlyModel } from "../../src/models/encoder-only.js";
import type { ModelFamily } from "../../src/models/family.js";
import {
  buildModel,
  families,
  familyFor,
  familyOf,
  familyOfRaw,
  getFamily,
  registerFamily,
  resolveModelConfig,
} from "../../src/models/registry.js";
import { taskFor } from "../../src/train/tasks.js";
import { MaskwiseError } from "../../src/util/errors.js";

const sizes = {
  vocab_size: 20,
  d_model: 8,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 16,
  decoder_ffn_dim: 16,
};

test("each built-in family claims its own configs and builds its own model class", () => {
  const classes = {
    "encoder-decoder": EncoderDecoderModel,
    "decoder-only": DecoderOnlyModel,
    "encoder-only": EncoderOnlyModel,
  } as const;
  for (const [name, cls] of Object.entries(classes)) {
    const raw = { ...sizes, maskwise_arch: name };
    assert.equal(familyOfRaw(raw, "config.json").name, name);
    const config = resolveModelConfig(raw, "config.json");
    assert.equal(familyOf(config).name, name);
    assert.ok(buildModel(config, 3) instanceof cls, name);
    // Exactly one family claims the config.
    assert.equal(families().filter((f) => f.claims(raw)).length, 1, name);
  }
  // Without maskwise_arch (and not a transformers config), a config is an encoder-decoder's.
  assert.equal(familyOfRaw(sizes, "c.json").name, "encoder-decoder");
});

test("a config no family reads is refused naming the file and what it says", () => {
  const fails = (raw: Record<string, unknown>, what: RegExp) =>
    assert.throws(
      () => resolveModelConfig(raw, "dir/config.json"),
      (e: unknown) =>
        e instanceof MaskwiseError &&
        e.code === "E_CONFIG" &&
        e.where === "dir/config.json" &&
        what.test(e.message) &&
        /encoder-decoder, decoder-only, encoder-only/.test(e.hint ?? ""),
    );
  fails({ ...sizes, maskwise_arch: "recurrent" }, /maskwise_arch "recurrent"/);
  fails({ ...sizes, model_type: "funnel" }, /model_type "funnel"/);
  // A family's own validation still names the key.
  assert.throws(
    () => resolveModelConfig({ ...sizes, maskwise_arch: "decoder-only", d_model: 7 }, "c.json"),
    /encoder_attention_heads|decoder_attention_heads/,
  );
});

test("tasks and objectives pick the family that trains on them; --arch must be able to", () => {
  assert.equal(familyFor({ task: "translation" }).name, "encoder-decoder");
  assert.equal(familyFor({ task: "lm" }).name, "decoder-only");
  assert.equal(familyFor({ task: "summarization" }).name, "encoder-decoder");
  assert.equal(familyFor({ task: "summarization" }, "decoder-only").name, "decoder-only");
  assert.equal(familyFor({ objective: "mlm" }).name, "encoder-only");
  assert.equal(familyFor({ objective: "clm" }).name, "decoder-only");
  for (const o of ["span", "infill", "mass"])
    assert.equal(familyFor({ objective: o }).name, "encoder-decoder");
  assert.throws(
    () => familyFor({ task: "translation" }, "decoder-only", "--arch"),
    (e: unknown) =>
      e instanceof MaskwiseError &&
      e.where === "--arch" &&
      /does not train on the task 'translation'/.test(e.message) &&
      /encoder-decoder/.test(e.hint ?? ""),
  );
  assert.throws(() => familyFor({ task: "poetry" }), /no model family trains on the task/);
  assert.throws(() => getFamily("rnn", "--arch"), /unknown model family 'rnn'/);
});

test("a family registered from outside trains through its structure; names stay unique", () => {
  // A variant of the decoder-only family: the same model, its own name and tasks.
  const base = getFamily("decoder-only");
  const variant: ModelFamily<DecoderOnlyModel> = {
    ...(base as ModelFamily<DecoderOnlyModel>),
    name: "tiny-lm",
    description: "a test family",
    claims: (raw) => raw.maskwise_arch === "tiny-lm",
    resolveConfig: (raw, source) => ({
      ...resolveConfig({ ...raw, maskwise_arch: "decoder-only" }, source),
      maskwise_arch: "tiny-lm",
    }),
    tasks: ["lm"],
    objectives: [],
  };
  registerFamily(variant);
  assert.throws(() => registerFamily(variant), /already registered/);
  const config = resolveModelConfig({ ...sizes, maskwise_arch: "tiny-lm" }, "c.json");
  assert.equal(familyOf(config).name, "tiny-lm");
  const model = buildModel(config, 1);
  assert.ok(model instanceof DecoderOnlyModel);
  // The training loop feeds it as a decoder-only model: one sequence, labels aligned.
  const task = taskFor(model);
  const batch = task.collate([
    { input_ids: [1, 5, 6, 2], labels: [5, 6, 2, -100] },
    { input_ids: [1, 7, 2], labels: [7, 2, -100] },
  ]);
  assert.equal(batch.targetTokens, 5);
  const { logits, loss } = task.forward(batch, {});
  assert.deepEqual(logits.shape, [2, 4, sizes.vocab_size]);
  assert.ok(loss !== null && Number.isFinite(loss.item()));
  // The registry's task choice sees it too (after the built-in decoder-only family).
  assert.equal(familyFor({ task: "lm" }, "tiny-lm").name, "tiny-lm");
});
