// The training loop on every model kind: decoder-only (prefix and causal LM) and encoder-only
// (masked LM with noise drawn per epoch) learn, resume exactly, and frozen parameters stay put.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { EncoderOnlyModel } from "../../src/models/encoder-only.js";
import { prefixLM, seq2seq } from "../../src/objectives/lm.js";
import { maskedLM } from "../../src/objectives/mlm.js";
import type { Example } from "../../src/objectives/types.js";
import { collateLM } from "../../src/train/collate.js";
import { exampleRng, noisedExamples } from "../../src/train/examples.js";
import { MemoryStore } from "../../src/train/store.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import { Rng } from "../../src/util/rng.js";

const sizes = {
  vocab_size: 16,
  d_model: 32,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 64,
  decoder_ffn_dim: 64,
  dropout: 0.1,
};
// Two layers: with one, the prefix mask cannot change what the predicted positions see (their keys
// and values come straight from the embeddings).
const decoderCfg = resolveConfig({ ...sizes, decoder_layers: 2, maskwise_arch: "decoder-only" });
const encoderCfg = resolveConfig({ ...sizes, encoder_layers: 2, maskwise_arch: "encoder-only" });
const seq2seqCfg = resolveConfig(sizes);

function sequences(n: number, seed: number): number[][] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 + rng.int(5) }, () => 5 + rng.int(11)),
  );
}

/** Copy as a prefix LM: <s> x </s> x </s>, the first <s> x </s> is the prefix. */
function copyLM(n: number, seed: number): Example[] {
  return sequences(n, seed).map((s) => prefixLM([1, ...s, 2, ...s, 2], s.length + 2));
}

const base: TrainerOptions = {
  maxTokens: 96,
  schedule: { kind: "inverse-sqrt", lr: 3e-3, warmup: 20 },
  seed: 7,
  logEvery: 1,
  clipNorm: 1,
};

const fast = { kind: "inverse-sqrt", lr: 1e-2, warmup: 10 } as const;

const losses = (s: MemoryStore) =>
  s.metrics.filter((m) => "loss" in m).map((m) => [m.step, m.loss]);
const evals = (s: MemoryStore, key = "valid_loss") =>
  s.metrics.filter((m) => key in m).map((m) => m[key] as number);

test("collateLM keeps prefix lengths only for the prefix mask", () => {
  const ex = copyLM(3, 1);
  const p = collateLM(ex, 0, true);
  assert.deepEqual(
    p.prefix_lengths,
    ex.map((e) => e.prefix_length),
  );
  assert.equal(collateLM(ex, 0, false).prefix_lengths, undefined);
  // Nothing in the prefix is predicted: targets = continuation tokens only.
  assert.equal(
    p.targetTokens,
    ex.reduce((s, e) => s + e.labels.filter((l) => l !== -100).length, 0),
  );
});

test("a decoder-only prefix LM learns to copy its prefix", () => {
  const store = new MemoryStore();
  const data = copyLM(40, 2);
  new Trainer(
    new DecoderOnlyModel({ ...decoderCfg, dropout: 0 }, 1),
    { train: data, valid: data.slice(0, 10) },
    { ...base, schedule: fast, labelSmoothing: 0, maxSteps: 150, evalEvery: 50 },
    store,
  ).run();
  const v = evals(store);
  assert.ok(v[v.length - 1] < 0.7 * v[0], `valid loss ${v.join(" -> ")}`);
});

test("prefix and causal masks give different losses on the same batches", () => {
  const data = copyLM(20, 3);
  const run = (mask: "prefix" | "causal") => {
    const store = new MemoryStore();
    new Trainer(
      new DecoderOnlyModel(decoderCfg, 1),
      { train: data, valid: data },
      { ...base, maxSteps: 3, mask },
      store,
    ).run();
    return evals(store);
  };
  assert.notDeepEqual(run("prefix"), run("causal"));
});

test("decoder-only: resuming gives the same losses, step for step", () => {
  const data = { train: copyLM(80, 4), valid: copyLM(8, 5) };
  const opts = { ...base, maxSteps: 14, evalEvery: 7 };
  const straight = new MemoryStore();
  new Trainer(new DecoderOnlyModel(decoderCfg, 5), data, opts, straight).run();
  const interrupted = new MemoryStore();
  let polls = 0;
  const first = new Trainer(new DecoderOnlyModel(decoderCfg, 5), data, opts, interrupted, {
    shouldStop: () => ++polls > 9,
  });
  assert.equal(first.run().stoppedBy, "interrupted");
  const second = new Trainer(new DecoderOnlyModel(decoderCfg, 77), data, opts, interrupted);
  assert.ok(second.resume());
  second.run();
  assert.deepEqual(losses(interrupted), losses(straight));
  assert.deepEqual(evals(interrupted), evals(straight));
});

const ids = { mask: 4, eos: 2, pad: 0, special: new Set([0, 1, 2, 3, 4]), vocabSize: 16 };
const mlm = (tokens: readonly number[], rng: Rng) => maskedLM(tokens, ids, rng, { rate: 0.3 });

test("noise depends only on (seed, epoch, index)", () => {
  const src = noisedExamples(sequences(5, 1), mlm, 3);
  assert.deepEqual(src.get(2, 1), src.get(2, 1));
  assert.deepEqual(src.get(2, 1), mlm(sequences(5, 1)[2], exampleRng(3, 1, 2)));
  const epochs = Array.from({ length: 6 }, (_, e) => JSON.stringify(src.get(4, e)));
  assert.ok(new Set(epochs).size > 1, "the noise changes between epochs");
});

test("masked LM: an encoder-only model learns, reports masked-token accuracy, resumes exactly", () => {
  // Runs of consecutive ids (7 8 9 10 …): a masked token follows from its neighbours.
  const rng = new Rng(6);
  const runs = Array.from({ length: 60 }, () => {
    const start = 5 + rng.int(4);
    return Array.from({ length: 4 + rng.int(4) }, (_, k) => start + k);
  });
  const data = {
    train: noisedExamples(runs, mlm, 11),
    valid: noisedExamples(runs.slice(0, 30), mlm, 12),
  };
  const opts = { ...base, maxSteps: 16, evalEvery: 8 };
  const straight = new MemoryStore();
  new Trainer(new EncoderOnlyModel(encoderCfg, 5), data, opts, straight).run();
  const acc = evals(straight, "valid_mlm_accuracy");
  assert.equal(acc.length, 2);
  assert.ok(acc.every((a) => a >= 0 && a <= 1));
  const interrupted = new MemoryStore();
  let polls = 0;
  new Trainer(new EncoderOnlyModel(encoderCfg, 5), data, opts, interrupted, {
    shouldStop: () => ++polls > 11,
  }).run();
  const second = new Trainer(new EncoderOnlyModel(encoderCfg, 8), data, opts, interrupted);
  assert.ok(second.resume());
  second.run();
  assert.deepEqual(losses(interrupted), losses(straight));
  assert.deepEqual(evals(interrupted, "valid_mlm_accuracy"), acc);

  const learn = new MemoryStore();
  new Trainer(
    new EncoderOnlyModel({ ...encoderCfg, dropout: 0 }, 5),
    data,
    { ...base, schedule: fast, labelSmoothing: 0, maxSteps: 150, evalEvery: 50 },
    learn,
  ).run();
  const v = evals(learn);
  assert.ok(v[2] < 0.75 * v[0], `valid loss ${v.join(" -> ")}`);
});

test("frozen parameters stay bit-identical; the others move", () => {
  const model = new EncoderDecoderModel(seq2seqCfg, 3);
  const before = new Map(model.namedParameters().map(([n, p]) => [n, p.f32.slice()]));
  const data = sequences(30, 9).map((s) => seq2seq(s, [...s].reverse(), { eos: 2 }));
  new Trainer(
    model,
    { train: data, valid: data.slice(0, 4) },
    { ...base, maxSteps: 5, weightDecay: 0.5, freeze: ["encoder"] },
    new MemoryStore(),
  ).run();
  for (const [n, p] of model.namedParameters()) {
    const same = p.f32.every((x, i) => Object.is(x, before.get(n)?.[i]));
    if (n.startsWith("model.encoder.")) assert.ok(same, `${n} changed`);
    else if (n.includes("fc1.weight")) assert.ok(!same, `${n} did not change`);
  }
});
