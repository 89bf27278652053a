// A run that diverges (here a learning rate of 1e6) is stopped with a clear error instead of
// logging null losses and saving NaN weights as the best model: an update whose loss or
// gradients are not finite is skipped, a few in a row end the run, and no checkpoint ever holds
// a weight that is not finite.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { seq2seq } from "../../src/objectives/lm.js";
import { MemoryStore } from "../../src/train/store.js";
import { MAX_NONFINITE_UPDATES, Trainer } from "../../src/train/trainer.js";
import { MaskwiseError } from "../../src/util/errors.js";

const cfg = resolveConfig({
  vocab_size: 16,
  d_model: 16,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 32,
  decoder_ffn_dim: 32,
  dropout: 0,
});
const examples = Array.from({ length: 16 }, (_, i) =>
  seq2seq([3 + (i % 12), 4 + (i % 11)], [4 + (i % 11), 3 + (i % 12)], { eos: cfg.eos_token_id }),
);

const finite = (bytes: Uint8Array) => {
  for (const t of parseSafetensors(bytes, "model.safetensors").tensors.values())
    for (const x of t.data) if (!Number.isFinite(x)) return false;
  return true;
};

test("a diverging run stops with E_DIVERGED and never saves weights that are not finite", () => {
  const store = new MemoryStore();
  const trainer = new Trainer(
    new EncoderDecoderModel(cfg, 1),
    { train: examples, valid: examples.slice(0, 4) },
    {
      maxTokens: 16,
      maxSteps: 60,
      evalEvery: 2,
      logEvery: 1,
      schedule: { kind: "constant", lr: 1e6 },
      seed: 1,
    },
    store,
  );
  assert.throws(
    () => trainer.run(),
    (e: unknown) =>
      e instanceof MaskwiseError &&
      e.code === "E_DIVERGED" &&
      /training diverged/.test(e.message) &&
      /--lr/.test(e.hint ?? ""),
  );
  assert.ok(trainer.state.step < 60, `stopped at ${trainer.state.step}`);
  for (const name of ["best", "last"]) {
    const files = store.readCheckpoint(name);
    if (files) assert.ok(finite(files["model.safetensors"] as Uint8Array), `${name} is finite`);
  }
  const skipped = store.metrics.filter((m) => "skipped_update" in m);
  assert.ok(skipped.length >= 1 && skipped.length <= MAX_NONFINITE_UPDATES, `${skipped.length}`);
  assert.match(String(skipped[0].skipped_update), /not finite/);
  // Every loss that was logged is a number: a skipped update adds nothing to the running mean.
  for (const m of store.metrics.filter((r) => "loss" in r))
    assert.ok(Number.isFinite(m.loss as number), `loss ${m.loss} at step ${m.step}`);
});

test("one update whose loss is not finite is skipped; the run goes on", () => {
  const store = new MemoryStore();
  const model = new EncoderDecoderModel(cfg, 1);
  // A batch whose loss is NaN once: the forward pass of update 3 sees a poisoned weight that is
  // restored right after it.
  const trainer = new Trainer(
    model,
    { train: examples, valid: examples.slice(0, 4) },
    {
      maxTokens: 16,
      maxSteps: 6,
      logEvery: 1,
      schedule: { kind: "constant", lr: 1e-3 },
      seed: 1,
    },
    store,
    {
      onUpdate: ({ step }) => {
        const w = model.namedParameters()[0][1].f32;
        if (step === 2) {
          saved = w[0];
          w[0] = Number.NaN;
        }
      },
      onMetrics: (r) => {
        if ("skipped_update" in r) model.namedParameters()[0][1].f32[0] = saved;
      },
    },
  );
  let saved = 0;
  const summary = trainer.run();
  assert.equal(summary.stoppedBy, "max_steps");
  assert.equal(summary.state.step, 6);
  const skipped = store.metrics.filter((m) => "skipped_update" in m);
  assert.equal(skipped.length, 1);
  assert.equal(skipped[0].step, 2);
  assert.ok(finite(store.readCheckpoint("best")?.["model.safetensors"] as Uint8Array));
});
