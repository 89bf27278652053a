// The smallest end-to-end check of the engine: a 2-8-1 MLP learns XOR with AdamW.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AdamW } from "../../src/optim/adamw.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

forEachBackend("the engine end to end", () => {
  test("a tiny MLP learns XOR", () => {
    const rng = new Rng(3);
    const w1 = T.parameter(T.randn([2, 8], rng, 1), "w1");
    const b1 = T.parameter(T.zeros([8]), "b1");
    const w2 = T.parameter(T.randn([8, 2], rng, 0.5), "w2");
    const b2 = T.parameter(T.zeros([2]), "b2");
    const x = T.tensor([0, 0, 0, 1, 1, 0, 1, 1], [4, 2]);
    const y = T.intTensor([0, 1, 1, 0]);
    const forward = () => T.add(T.matmul(T.tanh(T.add(T.matmul(x, w1), b1)), w2), b2);
    const opt = new AdamW([w1, b1, w2, b2], { lr: 0.05, weightDecay: 0 });
    let first = 0;
    let last = 0;
    for (let step = 0; step < 300; step++) {
      opt.zeroGrad();
      const loss = T.crossEntropy(forward(), y);
      if (step === 0) first = loss.item();
      last = loss.item();
      T.backward(loss);
      opt.update();
    }
    assert.ok(first > 0.5, `initial loss ${first} should be near ln 2`);
    assert.ok(last < 0.05, `final loss ${last} should be near 0`);
    const logits = T.noGrad(forward);
    const predicted = [0, 1, 2, 3].map((r) => (logits.f32[r * 2 + 1] > logits.f32[r * 2] ? 1 : 0));
    assert.deepEqual(predicted, [0, 1, 1, 0]);
  });

  test("AdamW decays weights without gradient contribution (decoupled)", () => {
    const p = T.parameter(T.tensor([1, -2]), "p");
    p.grad = T.zeros([2]);
    const opt = new AdamW([p], { lr: 0.1, weightDecay: 0.5 });
    opt.update();
    // Zero gradient: m = v = 0, so the Adam term is 0 and only p -= lr * wd * p remains.
    assert.deepEqual(Array.from(p.f32), [Math.fround(1 - 0.05), Math.fround(-2 + 0.1)]);
  });
});
