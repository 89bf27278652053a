import assert from "node:assert/strict";
import { test } from "node:test";
import { clipGradNorm, decayGroups } from "../../src/optim/clip.js";
import { makeSchedule } from "../../src/optim/schedules.js";
import * as T from "../../src/tensor/index.js";

const near = (a: number, b: number) =>
  assert.ok(Math.abs(a - b) < 1e-12 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("inverse square root: linear warmup, then lr * sqrt(warmup / step)", () => {
  const s = makeSchedule({ kind: "inverse-sqrt", lr: 5e-4, warmup: 4000 });
  near(s(1), 5e-4 / 4000);
  near(s(2000), 2.5e-4);
  near(s(4000), 5e-4);
  near(s(16000), 2.5e-4);
});

test("Noam: d^-0.5 * min(step^-0.5, step * warmup^-1.5), peak at warmup", () => {
  const s = makeSchedule({ kind: "noam", dModel: 512, warmup: 4000, factor: 2 });
  near(s(100), 2 * 512 ** -0.5 * 100 * 4000 ** -1.5);
  near(s(10000), 2 * 512 ** -0.5 * 10000 ** -0.5);
  assert.ok(s(4000) > s(3999) && s(4000) > s(4001));
});

test("linear and cosine decay to their floor at totalSteps", () => {
  const lin = makeSchedule({ kind: "linear", lr: 1, warmup: 10, totalSteps: 110 });
  near(lin(5), 0.5);
  near(lin(60), 0.5);
  near(lin(110), 0);
  const cos = makeSchedule({ kind: "cosine", lr: 1, warmup: 0, totalSteps: 100, minLr: 0.1 });
  near(cos(0), 1);
  near(cos(50), 0.55);
  near(cos(100), 0.1);
  near(cos(500), 0.1);
});

test("linear and cosine decay over the budget spent when no step count is given", () => {
  const lin = makeSchedule({ kind: "linear", lr: 2, warmup: 10 });
  near(lin(5), 1); // warmup, nothing spent
  near(lin(50, 0.25), 1.5);
  near(lin(50, 1), 0);
  near(lin(50, 1.5), 0); // past the budget: never negative
  // With both, whichever budget is further spent decides.
  const both = makeSchedule({ kind: "linear", lr: 1, warmup: 0, totalSteps: 100 });
  near(both(50, 0.1), 0.5);
  near(both(10, 0.6), 0.4);
  const cos = makeSchedule({ kind: "cosine", lr: 1, warmup: 4, minLr: 0.2 });
  near(cos(2, 0), 0.5);
  near(cos(20, 0.5), 0.6);
  near(cos(20, 1), 0.2);
  // Without a budget the decaying schedules hold their peak: the trainer always passes one.
  near(lin(1e6), 2);
});

test("clipping scales all gradients together", () => {
  const a = T.parameter(T.zeros([2]));
  const b = T.parameter(T.zeros([1]));
  a.grad = T.tensor([3, 0]);
  b.grad = T.tensor([4]);
  near(clipGradNorm([a, b], 1), 5);
  const n = Math.hypot(a.grad.f32[0], b.grad.f32[0]);
  assert.ok(Math.abs(n - 1) < 1e-5);
  assert.equal(clipGradNorm([a, b], 10) < 10, true);
});

test("no weight decay on biases, norms and vectors; tied weights once", () => {
  const w = T.parameter(T.zeros([2, 2]));
  const groups = decayGroups(
    [
      ["layers.0.fc1.weight", w],
      ["layers.0.fc1.bias", T.parameter(T.zeros([2]))],
      ["layers.0.final_layer_norm.weight", T.parameter(T.zeros([2]))],
      ["lm_head.weight", w],
      ["final_logits_bias", T.parameter(T.zeros([1, 2]))],
    ],
    0.01,
  );
  assert.equal(groups[0].params.length, 1);
  assert.equal(groups[1].params.length, 3);
});
