// The head and cross-entropy in blocks of the vocabulary (linearCrossEntropy, chunkedHeadLoss):
// the loss and the gradients of h and W equal those of linear + crossEntropy for every block
// size (one word, uneven, the whole vocabulary), with ignored rows and label smoothing, for a float32 W and for W as
// bfloat16 bits (no dW then), on both backends; dh against finite differences.
import assert from "node:assert/strict";
import { test } from "node:test";
import { chunkedHeadLoss } from "../../src/models/head-loss.js";
import { Linear } from "../../src/nn/layers.js";
import { fromBf16, toBf16 } from "../../src/tensor/bf16.js";
import { backward, crossEntropy, noGrad } from "../../src/tensor/index.js";
import { linear } from "../../src/tensor/ops/linear.js";
import { linearCrossEntropy } from "../../src/tensor/ops/linear-cross-entropy.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";

const N = 7;
const D = 6;
const V = 11;

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function labels(): Tensor {
  const rng = new Rng(3);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) y[i] = i === 2 || i === 5 ? -100 : rng.int(V);
  return new Tensor(y, [N]);
}

forEachBackend("linearCrossEntropy", () => {
  for (const eps of [0, 0.1])
    test(`equals linear + crossEntropy, loss, dh and dW, any block size (smoothing ${eps})`, () => {
      const rng = new Rng(5);
      const h0 = randomTensor([N, D], rng);
      const w0 = randomTensor([V, D], rng, 0.5);
      const y = labels();
      const plainH = new Tensor(h0.f32.slice(), h0.shape, true);
      const plainW = new Tensor(w0.f32.slice(), w0.shape, true);
      const want = crossEntropy(linear(plainH, plainW, null), y, { labelSmoothing: eps });
      backward(want);
      for (const blockWords of [1, 3, 7, V]) {
        const hh = new Tensor(h0.f32.slice(), h0.shape, true);
        const ww = new Tensor(w0.f32.slice(), w0.shape, true);
        const got = linearCrossEntropy(hh, ww, V, y, { labelSmoothing: eps, blockWords });
        assert.ok(Math.abs(got.item() - want.item()) <= 1e-5, `loss, block ${blockWords}`);
        backward(got);
        const dh = (hh.grad as Tensor).f32;
        const dw = (ww.grad as Tensor).f32;
        assert.ok(worst(dh, (plainH.grad as Tensor).f32) <= 1e-5, `dh, block ${blockWords}`);
        assert.ok(worst(dw, (plainW.grad as Tensor).f32) <= 1e-5, `dW, block ${blockWords}`);
        // Ignored rows pass no gradient.
        assert.ok(dh.subarray(2 * D, 3 * D).every((v) => v === 0));
      }
    });

  test("with W as bfloat16 bits: the loss of the rounded weight; dh by finite differences", () => {
    const rng = new Rng(8);
    const w0 = randomTensor([V, D], rng, 0.5);
    const half = toBf16(w0.f32);
    const rounded = new Tensor(fromBf16(half), [V, D]);
    const y = labels();
    const h0 = randomTensor([N, D], rng);
    const got = noGrad(() => linearCrossEntropy(h0, half, V, y, { blockWords: 2 }));
    const want = noGrad(() => crossEntropy(linear(h0, rounded, null), y));
    assert.ok(Math.abs(got.item() - want.item()) <= 1e-5);
    gradcheck("dh", (h) => linearCrossEntropy(h, half, V, y, { blockWords: 3 }), [h0], {
      h: 1e-2,
      atol: 1e-3,
      rtol: 1e-2,
    });
  });

  test("a target outside the vocabulary is refused, naming the row", () => {
    const rng = new Rng(4);
    const y = new Tensor(Int32Array.of(1, V, -100, 0, 2, 3, 4), [N]);
    assert.throws(
      () => linearCrossEntropy(randomTensor([N, D], rng), randomTensor([V, D], rng), V, y),
      new RegExp(`target ${V} at row 1 is outside \\[0, ${V}\\)`),
    );
  });

  test("chunkedHeadLoss: the head's weight as held; null for small logits or a biased head", () => {
    const rng = new Rng(2);
    const head = new Linear(D, V, { rng, std: 0.5 }, false);
    head.weight.requiresGrad = false;
    const h0 = randomTensor([N, D], rng);
    const y = labels();
    assert.equal(chunkedHeadLoss(head, h0, y), null, "small logits take the plain path");
    const limit = N * V;
    assert.equal(chunkedHeadLoss(head, h0, y, { minElements: limit }), null, "at the limit");
    assert.ok(
      noGrad(() => chunkedHeadLoss(head, h0, y, { minElements: limit - 1 })),
      "past it",
    );
    const plain = noGrad(() => crossEntropy(linear(h0, head.weight, null), y)).item();
    const chunked = noGrad(() => chunkedHeadLoss(head, h0, y, { minElements: 0 }));
    assert.ok(chunked && Math.abs(chunked.item() - plain) <= 1e-5);
    head.holdWeightBf16();
    const held = noGrad(() => chunkedHeadLoss(head, h0, y, { minElements: 0 }));
    assert.ok(held && Math.abs(held.item() - plain) <= 1e-2);
    const biased = new Linear(D, V, { rng });
    assert.equal(chunkedHeadLoss(biased, h0, y, { minElements: 0 }), null);
  });
});
