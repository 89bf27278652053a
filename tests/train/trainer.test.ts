// The training loop: it learns a small task, resumes exactly (the same losses step for step as an
// uninterrupted run), keeps best and last checkpoints, and stops early when validation stalls.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { seq2seq } from "../../src/objectives/lm.js";
import type { Example } from "../../src/objectives/types.js";
import { withBackend } from "../../src/tensor/dispatch.js";
import { MemoryStore } from "../../src/train/store.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import { Rng } from "../../src/util/rng.js";

const cfg = resolveConfig({
  vocab_size: 16,
  d_model: 32,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 64,
  decoder_ffn_dim: 64,
  dropout: 0.1,
});

/** Copy or reverse sequences of tokens 3..15: tasks a tiny Transformer learns in a few hundred steps. */
function reversal(n: number, seed: number, reverse = true): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const len = 2 + rng.int(5);
    const src = Array.from({ length: len }, () => 3 + rng.int(13));
    return seq2seq(src, reverse ? [...src].reverse() : src, { eos: cfg.eos_token_id });
  });
}

/**
 * A clock that moves 1/64 s at every reading (a binary fraction, so sums of it are exact): an
 * update reads it at its start and its end, so each one takes exactly 1/64 s of training time,
 * however busy the machine is.
 */
const TICK_S = 1 / 64;
function fakeClock(): () => number {
  let t = 0;
  return () => (t += TICK_S * 1000);
}

const base: TrainerOptions = {
  maxTokens: 64,
  schedule: { kind: "inverse-sqrt", lr: 3e-3, warmup: 20 },
  labelSmoothing: 0.1,
  seed: 7,
  logEvery: 1,
  clipNorm: 1,
};

test("fits a small training set: validation loss on it falls", () => {
  const store = new MemoryStore();
  const examples = reversal(12, 1, false);
  const opts: TrainerOptions = {
    ...base,
    schedule: { kind: "inverse-sqrt", lr: 5e-3, warmup: 10 },
    labelSmoothing: 0,
    maxSteps: 150,
    evalEvery: 50,
  };
  const trainer = new Trainer(
    new EncoderDecoderModel({ ...cfg, dropout: 0 }, 1),
    { train: examples, valid: examples },
    opts,
    store,
  );
  const summary = trainer.run();
  assert.equal(summary.stoppedBy, "max_steps");
  const evals = store.metrics.filter((m) => "valid_loss" in m).map((m) => m.valid_loss as number);
  assert.equal(evals.length, 3);
  assert.ok(evals[2] < evals[0], `valid loss ${evals.join(" -> ")}`);
  assert.ok(evals[2] < 0.5, `final valid loss ${evals[2]}`);
  const train = store.metrics.filter((m) => "loss" in m);
  for (const m of train)
    for (const k of ["step", "epoch", "loss", "lr", "tokens_per_s"])
      assert.ok(k in m, `metrics line lacks ${k}`);
  assert.ok(store.readCheckpoint("best") && store.readCheckpoint("last"));
});

test("resuming gives the same losses, step for step", () => {
  const data = { train: reversal(120, 3), valid: reversal(10, 4) };
  const opts = { ...base, maxSteps: 16, evalEvery: 8 };
  const straight = new MemoryStore();
  new Trainer(new EncoderDecoderModel(cfg, 5), data, opts, straight).run();

  const interrupted = new MemoryStore();
  let polls = 0;
  const first = new Trainer(new EncoderDecoderModel(cfg, 5), data, opts, interrupted, {
    shouldStop: () => ++polls > 11,
  });
  assert.equal(first.run().stoppedBy, "interrupted");
  // A fresh process: a new model (other initial weights) restored from the checkpoint.
  const second = new Trainer(new EncoderDecoderModel(cfg, 99), data, opts, interrupted);
  assert.ok(second.resume());
  assert.equal(second.state.step, 11);
  second.run();
  const losses = (s: MemoryStore) =>
    s.metrics.filter((m) => "loss" in m).map((m) => [m.step, m.loss]);
  assert.deepEqual(losses(interrupted), losses(straight));
  const valid = (s: MemoryStore) =>
    s.metrics.filter((m) => "valid_loss" in m).map((m) => m.valid_loss);
  assert.deepEqual(valid(interrupted), valid(straight));
});

test("early stopping after `patience` evaluations without improvement", () => {
  const store = new MemoryStore();
  // A learning rate of 0 never improves on the first evaluation.
  const t = new Trainer(
    new EncoderDecoderModel(cfg, 2),
    { train: reversal(50, 5), valid: reversal(10, 6) },
    { ...base, schedule: { kind: "constant", lr: 0 }, maxSteps: 100, evalEvery: 2, patience: 2 },
    store,
  );
  const s = t.run();
  assert.equal(s.stoppedBy, "early_stopping");
  assert.equal(s.state.step, 6);
});

test("a linear schedule decays over the budget: steps, epochs or training time", () => {
  const data = { train: reversal(60, 8), valid: reversal(6, 9) };
  const lrs = (opts: Partial<TrainerOptions>) => {
    const store = new MemoryStore();
    const t = new Trainer(
      new EncoderDecoderModel(cfg, 3),
      data,
      { ...base, schedule: { kind: "linear", lr: 1e-3, warmup: 0 }, ...opts },
      store,
      { now: fakeClock() },
    );
    const summary = t.run();
    return { summary, lr: store.metrics.filter((m) => "lr" in m).map((m) => m.lr as number) };
  };
  // By steps: update k (1-based) runs at lr * (1 - (k - 1) / maxSteps).
  const bySteps = lrs({ maxSteps: 20 });
  assert.equal(bySteps.lr.length, 20);
  for (const [i, lr] of bySteps.lr.entries())
    assert.ok(Math.abs(lr - 1e-3 * (1 - i / 20)) < 1e-12, `${i} ${lr}`);
  // By epochs: the last update of the last epoch runs at a rate just above 0.
  const byEpochs = lrs({ maxEpochs: 2 });
  assert.equal(byEpochs.summary.stoppedBy, "max_epochs");
  const last = byEpochs.lr[byEpochs.lr.length - 1];
  assert.ok(last > 0 && last <= 1e-3 / byEpochs.lr.length + 1e-12, `last lr ${last}`);
  // By time: every rate is 1e-3 * (1 - training seconds before the update / the budget).
  const byTime = lrs({ maxSeconds: 0.5 });
  assert.equal(byTime.summary.stoppedBy, "max_time");
  assert.ok(
    byTime.lr.every((lr, i) => i === 0 || lr < byTime.lr[i - 1]),
    "falls every update",
  );
  assert.ok(byTime.lr[byTime.lr.length - 1] < 1e-3 * 0.5, `last ${byTime.lr.at(-1)}`);
});

test("a resumed run has only the rest of its time budget", () => {
  const data = { train: reversal(60, 10), valid: reversal(6, 11) };
  const store = new MemoryStore();
  const opts = { ...base, maxSeconds: 0.3 };
  const first = new Trainer(new EncoderDecoderModel(cfg, 4), data, opts, store, {
    now: fakeClock(),
  });
  const s1 = first.run();
  assert.equal(s1.stoppedBy, "max_time");
  assert.ok(s1.state.trainSeconds >= 0.3);
  const second = new Trainer(new EncoderDecoderModel(cfg, 4), data, opts, store, {
    now: fakeClock(),
  });
  assert.ok(second.resume());
  assert.equal(second.state.trainSeconds, s1.state.trainSeconds);
  const s2 = second.run();
  assert.equal(s2.stoppedBy, "max_time");
  assert.equal(s2.state.step, s1.state.step, "no update after the budget is spent");
  // The budget of a run with more time left goes on from where it stopped.
  const third = new Trainer(
    new EncoderDecoderModel(cfg, 4),
    data,
    { ...opts, maxSeconds: 0.6 },
    store,
    { now: fakeClock() },
  );
  assert.ok(third.resume());
  const s3 = third.run();
  assert.ok(s3.state.step > s1.state.step && s3.state.trainSeconds >= 0.6);
  // 1/64 s an update: 0.3 s is spent during the 20th, 0.6 s during the 39th, and no update
  // starts after that.
  assert.equal(s1.state.step, 20);
  assert.equal(s3.state.step, 39);
  assert.ok(s3.state.trainSeconds < 0.6 + TICK_S, `trained ${s3.state.trainSeconds} s in all`);
});

test("bfloat16 products: the training steps multiply in bfloat16, evaluation in float32", () => {
  // A reference backend that notes each product's bf16 flag, in order.
  const ref = new ReferenceBackend();
  let flags: boolean[] = [];
  const spy = Object.create(ref) as ReferenceBackend;
  spy.gemm = (g) => {
    flags.push(g.bf16 ?? false);
    ref.gemm(g);
  };
  const data = { train: reversal(40, 3), valid: reversal(6, 4) };
  const losses = (matmulPrecision: "float32" | "bfloat16") => {
    flags = [];
    const store = new MemoryStore();
    // Three updates, then the one evaluation of the final weights.
    const opts: TrainerOptions = { ...base, maxSteps: 3, matmulPrecision };
    withBackend(spy, () => new Trainer(new EncoderDecoderModel(cfg, 5), data, opts, store).run());
    return store.metrics.filter((m) => "loss" in m).map((m) => m.loss as number);
  };
  const f32 = losses("float32");
  assert.ok(flags.length > 0 && flags.every((f) => !f));
  const bf16 = losses("bfloat16");
  const firstEval = flags.indexOf(false);
  assert.ok(firstEval > 0, "the updates' products come first, in bfloat16");
  assert.ok(flags.slice(0, firstEval).every((f) => f));
  assert.ok(
    flags.slice(firstEval).every((f) => !f),
    "evaluation multiplies in float32",
  );
  assert.notDeepEqual(bf16, f32);
  for (let i = 0; i < f32.length; i++) {
    assert.ok(Math.abs(bf16[i] - f32[i]) < 0.02 * f32[i], `step ${i + 1}: ${bf16[i]} vs ${f32[i]}`);
  }
});
