// The default warmup fits the budget: a tenth of the run's updates (from maxSteps, or maxEpochs
// times an epoch's updates), at most the schedule's 4000, resolved once and saved, so a 300-update
// run reaches its peak rate instead of 7.5% of it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { seq2seq } from "../../src/objectives/lm.js";
import { MemoryStore } from "../../src/train/store.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";

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
const examples = Array.from({ length: 40 }, (_, i) =>
  seq2seq([3 + (i % 12), 4 + (i % 11)], [4 + (i % 11), 3 + (i % 12)], { eos: cfg.eos_token_id }),
);
const base: TrainerOptions = {
  maxTokens: 16,
  schedule: { kind: "inverse-sqrt", lr: 1e-3, warmup: 4000 },
  warmupShare: 0.1,
  logEvery: 1,
  seed: 1,
};
const trainer = (o: Partial<TrainerOptions>, store = new MemoryStore()) =>
  new Trainer(
    new EncoderDecoderModel(cfg, 1),
    { train: examples, valid: examples },
    { ...base, ...o },
    store,
  );
const warmupOf = (t: Trainer) => (t.options.schedule as { warmup: number }).warmup;

test("the default warmup is a tenth of the budget in updates, at most the schedule's", () => {
  assert.equal(warmupOf(trainer({ maxSteps: 300 })), 30);
  assert.equal(warmupOf(trainer({ maxSteps: 100_000 })), 4000);
  const epochUpdates = trainer({ maxEpochs: 1, evalEvery: 1000 }).run().state.step;
  assert.ok(epochUpdates >= 5, `an epoch of ${epochUpdates} updates`);
  assert.equal(warmupOf(trainer({ maxEpochs: 5 })), Math.round(0.5 * epochUpdates));
  // The budget that ends first counts.
  assert.equal(warmupOf(trainer({ maxEpochs: 3, maxSteps: 10 })), 1);
  // A time limit alone is no budget in updates.
  assert.equal(warmupOf(trainer({ maxSeconds: 60 })), 4000);
  // Given explicitly (no warmupShare), the warmup stands.
  assert.equal(warmupOf(trainer({ maxSteps: 300, warmupShare: undefined })), 4000);
});

test("a short run reaches its peak rate; the resolved warmup is saved with the run", () => {
  const store = new MemoryStore();
  const t = trainer({ maxSteps: 20 }, store);
  t.run();
  const lrs = store.metrics.filter((m) => "lr" in m).map((m) => m.lr as number);
  assert.ok(Math.abs(lrs[1] - 1e-3) < 1e-12, `update 2 of 20 runs at the peak: ${lrs[1]}`);
  const state = JSON.parse(
    new TextDecoder().decode(store.readCheckpoint("last")?.["trainer_state.json"]),
  );
  assert.equal(state.options.schedule.warmup, 2);
  assert.equal(state.options.warmupShare, undefined);
});
