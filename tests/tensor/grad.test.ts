// Every primitive's gradient against central finite differences, on the reference backend.
// Buffers handed out unzeroed come filled with NaN here: an op that promises to overwrite a fresh
// gradient buffer (GradSink's `overwrite`) and leaves part of it unwritten fails its check.
import { after, before, test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { poisonUnzeroedF32 } from "../../src/tensor/pool.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor as rt } from "../helpers/gradcheck.js";

before(() => poisonUnzeroedF32(true));
after(() => poisonUnzeroedF32(false));

forEachBackend("gradients match finite differences", () => {
  // One generator per backend: both backends see the same inputs.
  const rng = new Rng(1234);
  test("add, sub, mul, div with broadcasting", () => {
    const a = rt([2, 3, 4], rng);
    const b = rt([3, 1], rng);
    const c = rt([4], rng, 1, 0.5);
    gradcheck("add", T.add, [a, b]);
    gradcheck("sub", T.sub, [a, b]);
    gradcheck("mul", T.mul, [a, c]);
    gradcheck("div", T.div, [a, c]);
    gradcheck("mul same tensor twice", (x) => T.mul(x, x), [a]);
    gradcheck("scalar operand", (x) => T.add(T.mul(x, 3), 1), [b]);
  });

  test("gradients handed through unchanged (add and reshape adopt the output's gradient)", () => {
    const x = rt([4, 6], rng);
    const w = rt([6, 6], rng);
    gradcheck("add same tensor twice", (t) => T.mul(T.add(t, t), t), [x]);
    // A residual stream: h + f(h), twice, with h read again after each add.
    gradcheck(
      "residual stream",
      (t, u) => {
        const h1 = T.add(t, T.tanh(T.matmul(t, u)));
        const h2 = T.add(h1, T.matmul(T.tanh(h1), u));
        return T.mul(T.add(h2, h1), T.reshape(T.add(T.reshape(t, [24]), 1), [4, 6]));
      },
      [x, w],
    );
    gradcheck("reshape chain", (t) => T.mul(T.reshape(T.reshape(t, [2, 12]), [24]), 3), [x]);
    gradcheck("add into a broadcast operand", (t, u) => T.add(T.reshape(u, [6]), t), [
      x,
      rt([1, 6], rng),
    ]);
  });

  test("unary functions", () => {
    const x = rt([3, 5], rng, 1, 0.1);
    const pos = T.tensor(
      Array.from({ length: 15 }, (_, i) => 0.3 + i * 0.2),
      [3, 5],
    );
    for (const [name, f] of [
      ["neg", T.neg],
      ["exp", T.exp],
      ["tanh", T.tanh],
      ["erf", T.erf],
      ["relu", T.relu],
      ["gelu", T.gelu],
      ["gelu_new", T.geluNew],
      ["silu", T.silu],
      ["sigmoid", T.sigmoid],
      ["abs", T.abs],
    ] as const) {
      gradcheck(name, f, [x]);
    }
    gradcheck("log", T.log, [pos]);
    gradcheck("sqrt", T.sqrt, [pos]);
    gradcheck("rsqrt", T.rsqrt, [pos]);
  });

  test("matmul in every transpose combination, batched and shared", () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const o = { transA, transB };
        const A2 = rt(transA ? [4, 3] : [3, 4], rng);
        const B2 = rt(transB ? [5, 4] : [4, 5], rng);
        const A3 = rt(transA ? [2, 4, 3] : [2, 3, 4], rng);
        const B3 = rt(transB ? [2, 5, 4] : [2, 4, 5], rng);
        gradcheck(`matmul 2x2 ${transA}/${transB}`, (a, b) => T.matmul(a, b, o), [A2, B2]);
        gradcheck(`matmul 3x3 ${transA}/${transB}`, (a, b) => T.matmul(a, b, o), [A3, B3]);
        gradcheck(`matmul 3x2 ${transA}/${transB}`, (a, b) => T.matmul(a, b, o), [A3, B2]);
        gradcheck(`matmul 2x3 ${transA}/${transB}`, (a, b) => T.matmul(a, b, o), [A2, B3]);
      }
    }
  });

  test("reductions", () => {
    const x = rt([2, 3, 4], rng);
    gradcheck("sum all", (t) => T.sum(t), [x]);
    gradcheck("sum axis 1", (t) => T.sum(t, 1), [x]);
    gradcheck("sum axes 0,2 keepDims", (t) => T.sum(t, [0, 2], { keepDims: true }), [x]);
    gradcheck("mean axis -1", (t) => T.mean(t, -1), [x]);
    // max is not differentiable at ties: distinct values 0.1 apart keep the central
    // difference (step 0.01) on one side of every comparison.
    const spread = T.tensor(
      new Rng(3).shuffle(Array.from({ length: 24 }, (_, i) => i * 0.1 - 1.2)),
      [2, 3, 4],
    );
    gradcheck("max axis 1", (t) => T.max(t, 1), [spread]);
    gradcheck("max last", (t) => T.max(t, -1, { keepDims: true }), [spread]);
  });

  test("softmax and log-softmax", () => {
    const x = rt([3, 6], rng, 2);
    gradcheck("softmax", (t) => T.softmax(t), [x]);
    gradcheck("logSoftmax", (t) => T.logSoftmax(t), [x]);
  });

  test("shape ops", () => {
    const x = rt([2, 3, 4], rng);
    const y = rt([2, 2, 4], rng);
    gradcheck("reshape", (t) => T.mul(T.reshape(t, [6, -1]), 2), [x]);
    gradcheck("permute", (t) => T.permute(t, [2, 0, 1]), [x]);
    gradcheck("transpose", (t) => T.transpose(t), [x]);
    gradcheck("concat", (a, b) => T.concat([a, b], 1), [x, y]);
    gradcheck("slice", (t) => T.slice(t, 2, 1, 3), [x]);
    gradcheck("broadcastTo", (t) => T.broadcastTo(t, [2, 3, 4]), [rt([3, 1], rng)]);
  });

  test("embedding, where, fillWhereNot", () => {
    const table = rt([5, 3], rng);
    const ids = T.intTensor([0, 4, 4, 2, 0, 1], [2, 3]);
    gradcheck("embedding (repeated ids add up)", (w) => T.embedding(w, ids), [table]);
    const cond = T.intTensor([1, 0, 1, 1, 0, 0], [2, 3]);
    gradcheck("where", (a, b) => T.where(cond, a, b), [rt([2, 3], rng), rt([3], rng)]);
    gradcheck("fillWhereNot", (a) => T.fillWhereNot(a, cond, -5), [rt([2, 3], rng)]);
  });

  test("layer norm, cross-entropy", () => {
    const x = rt([4, 6], rng);
    gradcheck("layerNorm", (a, g, b) => T.layerNorm(a, g, b), [x, rt([6], rng), rt([6], rng)]);
    gradcheck("rmsNorm", (a, w) => T.rmsNorm(a, w, 1e-6), [x, rt([6], rng)]);
    const logits = rt([2, 3, 7], rng);
    const targets = T.intTensor([1, 6, -100, 0, 3, -100], [2, 3]);
    gradcheck("crossEntropy mean", (z) => T.crossEntropy(z, targets), [logits]);
    gradcheck(
      "crossEntropy smoothed sum",
      (z) => T.crossEntropy(z, targets, { labelSmoothing: 0.1, reduction: "sum" }),
      [logits],
    );
    gradcheck("crossEntropy none", (z) => T.crossEntropy(z, targets, { reduction: "none" }), [
      logits,
    ]);
  });

  test("dropout passes gradient only where it kept", () => {
    const x = rt([4, 8], rng);
    gradcheck("dropout", (t) => T.dropout(t, 0.3, new Rng(5)), [x]);
  });
});
