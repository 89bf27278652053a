// LoRA on a Linear layer (src/nn/lora.ts): PEFT's initialisation (the fresh adapter changes
// nothing), the update y = W x + b + (alpha / r) B A x, gradients of A, B and x against finite
// differences with the base frozen (no gradient), the decoding step's `into` against `forward`,
// dropout only while training, and merging into W.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Linear } from "../../src/nn/layers.js";
import {
  addLora,
  isLoraParameter,
  LoraAdapter,
  loraLayers,
  mergeLora,
  setLoraNoise,
} from "../../src/nn/lora.js";
import { Container } from "../../src/nn/module.js";
import { backward, mul, noGrad, sum } from "../../src/tensor/index.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheckParameter, randomTensor } from "../helpers/gradcheck.js";

const IN = 12;
const OUT = 10;

/** A Linear [OUT, IN] with a bias and an adapter whose B is random (a trained one). */
function adapted(r = 3, alpha = 6): { layer: Linear; adapter: LoraAdapter } {
  const rng = new Rng(5);
  const layer = new Linear(IN, OUT, { rng, std: 0.3 });
  layer.bias?.f32.set(randomTensor([OUT], rng, 0.2).f32);
  const adapter = new LoraAdapter(layer, { r, alpha, dropout: 0 }, rng);
  adapter.lora_B.weight.f32.set(randomTensor([OUT, r], rng, 0.5).f32);
  layer.setAdapter(adapter);
  return { layer, adapter };
}

/** x W^T + b + scaling * (x A^T) B^T, in float64 from the layer's float32 values. */
function direct(layer: Linear, x: Float32Array, R: number): number[] {
  const a = layer.adapter as LoraAdapter;
  const W = layer.weight.f32;
  const A = a.lora_A.weight.f32;
  const B = a.lora_B.weight.f32;
  const r = a.lora_A.outFeatures;
  const out: number[] = [];
  for (let i = 0; i < R; i++) {
    const h = Array.from({ length: r }, (_, j) => {
      let s = 0;
      for (let k = 0; k < IN; k++) s += x[i * IN + k] * A[j * IN + k];
      return s;
    });
    for (let o = 0; o < OUT; o++) {
      let y = layer.bias?.f32[o] ?? 0;
      for (let k = 0; k < IN; k++) y += x[i * IN + k] * W[o * IN + k];
      for (let j = 0; j < r; j++) y += a.scaling * B[o * r + j] * h[j];
      out.push(y);
    }
  }
  return out;
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  assert.ok(worst <= tol, `${what}: differs by ${worst} (tolerance ${tol})`);
}

test("a fresh adapter: A as PEFT's kaiming-uniform (a = sqrt 5), B zero, the output unchanged", () => {
  const rng = new Rng(3);
  const layer = new Linear(IN, OUT, { rng });
  const x = randomTensor([4, IN], rng);
  const before = noGrad(() => layer.forward(x)).f32.slice();
  const adapter = new LoraAdapter(layer, { r: 4, alpha: 8, dropout: 0 }, rng);
  layer.setAdapter(adapter);
  const A = adapter.lora_A.weight;
  assert.deepEqual(A.shape, [4, IN]);
  assert.deepEqual(adapter.lora_B.weight.shape, [OUT, 4]);
  assert.ok(adapter.lora_B.weight.f32.every((v) => v === 0));
  // kaiming_uniform_(a=sqrt(5)) on [r, in]: gain sqrt(2 / (1 + 5)), bound gain * sqrt(3 / in).
  const bound = Math.sqrt(2 / 6) * Math.sqrt(3 / IN);
  assert.ok(A.f32.every((v) => Math.abs(v) <= bound));
  assert.ok(
    A.f32.some((v) => Math.abs(v) > bound / 2),
    "A spreads over its range",
  );
  assert.equal(adapter.scaling, 2);
  assert.deepEqual(Array.from(noGrad(() => layer.forward(x)).f32), Array.from(before));
  // rsLoRA scales by alpha / sqrt(r).
  assert.equal(
    new LoraAdapter(layer, { r: 4, alpha: 8, dropout: 0, rslora: true }, rng).scaling,
    4,
  );
});

test("the adapter's parameters are named lora_A.weight and lora_B.weight under the layer", () => {
  const { layer } = adapted();
  const names = layer.namedParameters("q_proj.").map(([n]) => n);
  assert.deepEqual(names, [
    "q_proj.weight",
    "q_proj.bias",
    "q_proj.lora_A.weight",
    "q_proj.lora_B.weight",
  ]);
  assert.deepEqual(names.map(isLoraParameter), [false, false, true, true]);
  layer.setAdapter(null);
  assert.deepEqual(
    layer.namedParameters().map(([n]) => n),
    ["weight", "bias"],
  );
});

test("addLora adapts the chosen layers and freezes every other parameter", () => {
  const rng = new Rng(1);
  const model = new Container();
  model.add("q_proj", new Linear(IN, OUT, { rng }));
  model.add("k_proj", new Linear(IN, OUT, { rng }));
  model.add("v_proj", new Linear(IN, OUT, { rng }));
  const layers = addLora(model, { r: 2, alpha: 4, dropout: 0 }, (p) => /^(q|v)_proj$/.test(p), rng);
  assert.deepEqual(
    layers.map(([n]) => n),
    ["q_proj", "v_proj"],
  );
  assert.deepEqual(
    loraLayers(model).map(([n]) => n),
    ["q_proj", "v_proj"],
  );
  const trainable = model
    .namedParameters()
    .filter(([, p]) => p.requiresGrad)
    .map(([n]) => n);
  assert.deepEqual(trainable, [
    "q_proj.lora_A.weight",
    "q_proj.lora_B.weight",
    "v_proj.lora_A.weight",
    "v_proj.lora_B.weight",
  ]);
  assert.throws(
    () => addLora(model, { r: 2, alpha: 4, dropout: 0 }, () => false, rng),
    /no Linear/,
  );
  assert.throws(
    () => addLora(model, { r: 2, alpha: 4, dropout: 0 }, (p) => p === "q_proj", rng),
    /already has a LoRA adapter/,
  );
});

forEachBackend("LoRA Linear", () => {
  test("forward computes W x + b + (alpha / r) B A x", () => {
    const { layer } = adapted();
    const x = randomTensor([2, 3, IN], new Rng(9));
    const y = noGrad(() => layer.forward(x));
    assert.deepEqual(y.shape, [2, 3, OUT]);
    assertClose(y.f32, direct(layer, x.f32, 6), 1e-5, "forward");
    // With the fused ReLU, the update joins before the activation.
    const yr = noGrad(() => layer.forward(x, { relu: true }));
    assertClose(
      yr.f32,
      direct(layer, x.f32, 6).map((v) => Math.max(0, v)),
      1e-5,
      "relu",
    );
  });

  test("gradients of A, B and x match finite differences; the frozen base gets none", () => {
    const { layer, adapter } = adapted();
    layer.weight.requiresGrad = false;
    (layer.bias as Tensor).requiresGrad = false;
    const rng = new Rng(4);
    const x = randomTensor([5, IN], rng);
    const w = randomTensor([5, OUT], rng);
    const loss = () => sum(mul(layer.forward(x), w));
    for (const [name, p] of [
      ["lora_A", adapter.lora_A.weight],
      ["lora_B", adapter.lora_B.weight],
    ] as const) {
      gradcheckParameter(name, loss, p, { h: 1e-2, atol: 2e-3, rtol: 1e-2 });
    }
    assert.equal(layer.weight.grad, null, "the frozen weight has no gradient");
    assert.equal(layer.bias?.grad, null, "the frozen bias has no gradient");
    // The input's gradient (what earlier layers receive) includes the adapter's path.
    const xp = randomTensor([5, IN], rng);
    const leaf = new Tensor(xp.f32, xp.shape, true);
    backward(sum(mul(layer.forward(leaf), w)));
    const gx = (leaf.grad as Tensor).f32;
    const W = layer.weight.f32;
    const A = adapter.lora_A.weight.f32;
    const B = adapter.lora_B.weight.f32;
    const r = 3;
    const want: number[] = [];
    for (let i = 0; i < 5; i++)
      for (let k = 0; k < IN; k++) {
        let s = 0;
        for (let o = 0; o < OUT; o++) {
          let m = W[o * IN + k];
          for (let j = 0; j < r; j++) m += adapter.scaling * B[o * r + j] * A[j * IN + k];
          s += w.f32[i * OUT + o] * m;
        }
        want.push(s);
      }
    assertClose(gx, want, 1e-4, "dx");
  });

  test("into (a decoding step) adds the same update as forward, plain and onto a residual", () => {
    const { layer } = adapted();
    const R = 3;
    const x = randomTensor([R, IN], new Rng(8));
    const want = direct(layer, x.f32, R);
    const out = new Float32Array(R * OUT);
    layer.into(x.f32, out, R);
    assertClose(out, want, 1e-5, "into");
    const residual = Float32Array.from({ length: R * OUT }, (_, i) => i / 7);
    layer.into(x.f32, residual, R, true);
    assertClose(
      residual,
      want.map((v, i) => v + i / 7),
      1e-5,
      "into with residual",
    );
    // A step of more rows reuses the adapter's buffer grown for it; one of fewer, part of it.
    const x2 = randomTensor([5, IN], new Rng(2));
    const out2 = new Float32Array(5 * OUT);
    layer.into(x2.f32, out2, 5);
    assertClose(out2, direct(layer, x2.f32, 5), 1e-5, "into, 5 rows");
    layer.into(x.f32, out, 1);
    assertClose(out.subarray(0, OUT), want.slice(0, OUT), 1e-5, "into, 1 row");
  });

  test("dropout applies to the adapter's input while training with a generator only", () => {
    const rng = new Rng(5);
    const layer = new Linear(IN, OUT, { rng });
    const a = new LoraAdapter(layer, { r: 3, alpha: 6, dropout: 0.5 }, rng);
    a.lora_B.weight.f32.set(randomTensor([OUT, 3], rng).f32);
    layer.setAdapter(a);
    const x = randomTensor([4, IN], rng);
    const plain = noGrad(() => layer.forward(x)).f32;
    const withNoise = () => {
      setLoraNoise([["", layer]], new Rng(11));
      return noGrad(() => layer.forward(x)).f32;
    };
    layer.train();
    const dropped = withNoise();
    assert.ok(
      dropped.some((v, i) => Math.abs(v - plain[i]) > 1e-4),
      "dropout changes the output",
    );
    assert.deepEqual(Array.from(withNoise()), Array.from(dropped), "same generator, same masks");
    layer.eval();
    assert.deepEqual(Array.from(withNoise()), Array.from(plain), "no dropout in eval mode");
  });

  test("merging folds scaling * B A into W and takes the adapter off", () => {
    const { layer } = adapted();
    const model = new Container();
    model.add("fc", layer);
    const x = randomTensor([4, IN], new Rng(6));
    const want = noGrad(() => layer.forward(x)).f32.slice();
    assert.deepEqual(mergeLora(model), ["fc"]);
    assert.equal(layer.adapter, null);
    assert.deepEqual(
      model.namedParameters().map(([n]) => n),
      ["fc.weight", "fc.bias"],
    );
    assertClose(noGrad(() => layer.forward(x)).f32, want, 1e-5, "merged");
  });
});
