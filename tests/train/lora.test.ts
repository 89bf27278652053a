// LoRA fine-tuning in the training loop (the bart and llama reference cases with q_proj/v_proj
// adapters):
// the loss falls, only the adapter's tensors change while every base tensor stays bit-identical,
// the optimizer holds state for the adapter alone, checkpoints are PEFT's adapter files, and a
// resumed run (dropout on the adapter included) computes the same losses step for step.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { attachAdapter, newAdapterConfig } from "../../src/models/peft.js";
import { loadModel } from "../../src/node/model-dir.js";
import { causalLM, seq2seq } from "../../src/objectives/lm.js";
import type { Example } from "../../src/objectives/types.js";
import { MemoryStore } from "../../src/train/store.js";
import type { TrainableModel } from "../../src/train/tasks.js";
import { Trainer, type TrainerOptions } from "../../src/train/trainer.js";
import { Rng } from "../../src/util/rng.js";
import { HF_REF } from "../helpers/hf-ref.js";

function adapted(dropout: number, seed = 4, name = "bart"): TrainableModel {
  const model = loadModel(join(HF_REF, name)) as TrainableModel;
  const config = newAdapterConfig(model, {
    r: 4,
    alpha: 8,
    dropout,
    targets: ["q_proj", "v_proj"],
    base: name,
  });
  attachAdapter(model, config, seed);
  return model.train();
}

/**
 * Copying short sequences of ids 3..40 (a language model: the sequence twice): something the
 * adapter can learn in a few updates.
 */
function copies(n: number, seed: number, lm = false): Example[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const src = Array.from({ length: 3 + rng.int(3) }, () => 3 + rng.int(38));
    return lm ? causalLM([1, ...src, ...src, 2]) : seq2seq(src, src, { eos: 2 });
  });
}

const options: TrainerOptions = {
  maxTokens: 64,
  schedule: { kind: "inverse-sqrt", lr: 1e-2, warmup: 2 },
  labelSmoothing: 0,
  seed: 3,
  logEvery: 1,
  maxSteps: 20,
  evalEvery: 10,
};

for (const name of ["bart", "llama"]) {
  test(`LoRA training (${name}): the loss falls, the adapter alone changes, checkpoints are the adapter`, () => {
    const model = adapted(0, 4, name);
    const base = new Map(
      model
        .namedParameters()
        .filter(([n]) => !n.includes("lora_"))
        .map(([n, p]) => [n, p.f32.slice()]),
    );
    const adapter = new Map(
      model
        .namedParameters()
        .filter(([n]) => n.includes("lora_"))
        .map(([n, p]) => [n, p.f32.slice()]),
    );
    const data = copies(16, 1, name === "llama");
    const store = new MemoryStore();
    const trainer = new Trainer(model, { train: data, valid: data }, options, store);
    const before = trainer.validLoss() as number;
    trainer.run();
    const after = trainer.validLoss() as number;
    console.log(`# valid loss ${before} -> ${after}`);
    assert.ok(after < before - 0.2, `valid loss ${before} -> ${after}`);
    for (const [n, p] of model.namedParameters()) {
      const was = base.get(n) ?? (adapter.get(n) as Float32Array);
      const same = p.f32.every((v, i) => Object.is(v, was[i]));
      if (base.has(n)) assert.ok(same, `base tensor ${n} changed`);
      // A and B both move (B starts at zero, so A's gradient is zero at the first update only).
      else assert.ok(!same, `adapter tensor ${n} did not change`);
    }
    const last = store.readCheckpoint("last") as Record<string, Uint8Array>;
    assert.deepEqual(Object.keys(last).sort(), [
      "adapter_config.json",
      "adapter_model.safetensors",
      "optimizer.safetensors",
      "trainer_state.json",
    ]);
    const cfg = JSON.parse(new TextDecoder().decode(last["adapter_config.json"]));
    assert.equal(cfg.base_model_name_or_path, name);
    const weights = parseSafetensors(last["adapter_model.safetensors"], "adapter");
    assert.equal(weights.tensors.size, adapter.size);
    const opt = parseSafetensors(last["optimizer.safetensors"], "optimizer");
    const moments = [...opt.tensors.keys()];
    assert.equal(moments.length, 2 * adapter.size);
    assert.ok(
      moments.every((n) => /lora_[AB]\.weight$/.test(n)),
      "optimizer state of the adapter only",
    );
  });
}

test("a resumed LoRA run (with adapter dropout) computes the same losses step for step", () => {
  const data = { train: copies(40, 2), valid: copies(6, 3) };
  const opts: TrainerOptions = { ...options, maxSteps: 12, evalEvery: 6 };
  const straight = new MemoryStore();
  new Trainer(adapted(0.2), data, opts, straight).run();
  const interrupted = new MemoryStore();
  let updates = 0;
  new Trainer(adapted(0.2), data, opts, interrupted, { shouldStop: () => ++updates > 7 }).run();
  // A fresh base with another adapter init: resume() must bring back the checkpoint's.
  const second = new Trainer(adapted(0.2, 99), data, opts, interrupted);
  assert.ok(second.resume("last"));
  second.run();
  const losses = (s: MemoryStore) =>
    s.metrics.filter((m) => "loss" in m).map((m) => [m.step, m.loss]);
  assert.deepEqual(losses(interrupted), losses(straight));
  const dropped = new MemoryStore();
  new Trainer(adapted(0), data, opts, dropped).run();
  assert.notDeepEqual(losses(dropped), losses(straight), "the adapter's dropout takes effect");
});
