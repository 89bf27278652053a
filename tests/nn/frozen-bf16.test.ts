// A frozen Linear held in bfloat16 (Linear.holdWeightBf16, holdFrozenWeightsBf16): the product
// kernel Backend.gemmBf16Weight on both backends against the float32 product of the widened
// weight, the layer's forward against a float32 layer of the bfloat16-rounded weight, dx and the
// adapter's gradients against finite differences, no dW, the decoding step's `into`, what the
// model lets go, and merging.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { project } from "../../src/models/head.js";
import { Bf16Weights } from "../../src/nn/bf16-weights.js";
import { holdFrozenWeightsBf16 } from "../../src/nn/frozen-bf16.js";
import { Int8Weights } from "../../src/nn/int8-weights.js";
import { Linear } from "../../src/nn/layers.js";
import { addLora, mergeLora } from "../../src/nn/lora.js";
import { Container } from "../../src/nn/module.js";
import { fromBf16, toBf16 } from "../../src/tensor/bf16.js";
import { backward, mul, noGrad, sum } from "../../src/tensor/index.js";
import { withMatmulPrecision } from "../../src/tensor/precision.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/util/rng.js";
import { availableBackends, forEachBackend } from "../helpers/backends.js";
import { gradcheck, gradcheckParameter, randomTensor } from "../helpers/gradcheck.js";

const IN = 12;
const OUT = 10;

function rand(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal() * scale;
  return a;
}

function worstDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst;
}

/** c0 [m, n] * beta + a [m, k] op(w) in double, w's bfloat16 values widened. */
function direct(
  m: number,
  n: number,
  k: number,
  a: Float32Array,
  w: Uint16Array,
  transW: boolean,
  c0: Float32Array,
  beta: number,
): number[] {
  const wf = fromBf16(w);
  const out: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = beta ? c0[i * n + j] : 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * wf[transW ? j * k + p : p * n + j];
      out.push(s);
    }
  return out;
}

test("gemmBf16Weight: both backends compute the float32 product of the widened weight", () => {
  const ref = new ReferenceBackend();
  const backends = availableBackends();
  const rng = new Rng(7);
  // The last shapes pass the native kernel's 2^21-element block, so it widens in several blocks.
  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [3, 5, 7],
    [17, 33, 9],
    [64, 48, 40],
    [3, 700, 3100],
    [3, 3100, 700],
  ];
  for (const [m, n, k] of shapes)
    for (const transW of [true, false])
      for (const beta of [0, 1] as const) {
        const a = rand(rng, m * k);
        const w = toBf16(rand(rng, n * k, 0.1));
        const c0 = rand(rng, m * n);
        const want = direct(m, n, k, a, w, transW, c0, beta);
        for (const be of backends) {
          // beta 0 never reads c: NaN there must not show.
          const c = beta ? c0.slice() : new Float32Array(m * n).fill(Number.NaN);
          be.gemmBf16Weight({ m, n, k, a, w, transW, c, beta, bf16: false });
          const tol = 1e-6 * (1 + k);
          const worst = worstDiff(c, want);
          assert.ok(
            worst <= tol,
            `${be.name} m ${m} n ${n} k ${k} transW ${transW} beta ${beta}: off by ${worst}`,
          );
        }
        if (m * n * k < 1e5) {
          // The reference is the float32 GEMM of the widened weight, exactly.
          const c = beta ? c0.slice() : new Float32Array(m * n);
          ref.gemmBf16Weight({ m, n, k, a, w, transW, c, beta, bf16: false });
          const g = c0.slice();
          ref.gemm({
            batch: 1,
            m,
            n,
            k,
            transA: false,
            transB: transW,
            alpha: 1,
            beta,
            a,
            aOffset: 0,
            lda: k,
            strideA: 0,
            b: fromBf16(w),
            bOffset: 0,
            ldb: transW ? k : n,
            strideB: 0,
            c: g,
            cOffset: 0,
            ldc: n,
            strideC: 0,
          });
          assert.deepEqual(Array.from(c), Array.from(g));
        }
      }
});

test("gemmBf16Weight: k = 0 gives beta * c; bad arguments throw", () => {
  for (const be of availableBackends()) {
    const c = new Float32Array(6).fill(Number.NaN);
    be.gemmBf16Weight({
      m: 2,
      n: 3,
      k: 0,
      a: new Float32Array(0),
      w: new Uint16Array(0),
      transW: false,
      c,
      beta: 0,
      bf16: false,
    });
    assert.deepEqual(Array.from(c), [0, 0, 0, 0, 0, 0], be.name);
    assert.throws(
      () =>
        be.gemmBf16Weight({
          m: 2,
          n: 3,
          k: 4,
          a: new Float32Array(8),
          w: new Uint16Array(11),
          transW: true,
          c,
          beta: 0,
          bf16: false,
        }),
      /short|w/,
      be.name,
    );
  }
});

/** A Linear with a bias and an adapter whose B is random, frozen, and held in bfloat16. */
function held(seed = 5): { layer: Linear; twin: Linear } {
  const rng = new Rng(seed);
  const model = new Container();
  const layer = model.add("q_proj", new Linear(IN, OUT, { rng, std: 0.3 }));
  layer.bias?.f32.set(randomTensor([OUT], rng, 0.2).f32);
  addLora(model, { r: 3, alpha: 6, dropout: 0 }, () => true, new Rng(seed + 1));
  const adapter = layer.adapter;
  assert.ok(adapter);
  adapter.lora_B.weight.f32.set(randomTensor([OUT, 3], rng, 0.5).f32);
  // The twin: a float32 layer of the bfloat16-rounded weight sharing bias and adapter values.
  const twinModel = new Container();
  const twin = twinModel.add("q_proj", new Linear(IN, OUT, { rng }));
  twin.weight.f32.set(fromBf16(toBf16(layer.weight.f32)));
  twin.bias?.f32.set(layer.bias?.f32 ?? []);
  addLora(twinModel, { r: 3, alpha: 6, dropout: 0 }, () => true, new Rng(seed + 1));
  twin.adapter?.lora_B.weight.f32.set(adapter.lora_B.weight.f32);
  const got = holdFrozenWeightsBf16(model);
  assert.deepEqual(got.layers, ["q_proj"]);
  assert.equal(got.freed, OUT * IN * 2);
  return { layer, twin };
}

forEachBackend("Linear held in bfloat16", () => {
  test("forward equals a float32 layer of the rounded weight, with and without ReLU", () => {
    const { layer, twin } = held();
    const x = randomTensor([2, 3, IN], new Rng(9));
    for (const relu of [false, true]) {
      const y = noGrad(() => layer.forward(x, { relu }));
      const want = noGrad(() => twin.forward(x, { relu }));
      assert.deepEqual(y.shape, [2, 3, OUT]);
      assert.ok(worstDiff(y.f32, want.f32) <= 1e-5, `relu ${relu}`);
    }
    // Under bfloat16 matmul precision the inputs round too; still close to the float32 twin.
    const yb = withMatmulPrecision("bfloat16", () => noGrad(() => layer.forward(x)));
    assert.ok(worstDiff(yb.f32, noGrad(() => twin.forward(x)).f32) <= 3e-2);
  });

  test("dx and the adapter's gradients match finite differences; the base gets none", () => {
    const { layer, twin } = held(11);
    const rng = new Rng(4);
    gradcheck("dx", (x) => layer.forward(x), [randomTensor([5, IN], rng)], {
      h: 1e-2,
      atol: 2e-3,
      rtol: 1e-2,
    });
    const x = randomTensor([5, IN], rng);
    const w = randomTensor([5, OUT], rng);
    const adapter = layer.adapter;
    assert.ok(adapter);
    for (const [name, p] of [
      ["lora_A", adapter.lora_A.weight],
      ["lora_B", adapter.lora_B.weight],
    ] as const) {
      gradcheckParameter(name, () => sum(mul(layer.forward(x), w)), p, {
        h: 1e-2,
        atol: 2e-3,
        rtol: 1e-2,
      });
    }
    assert.equal(layer.bias?.grad, null, "the frozen bias has no gradient");
    // dx equals the float32 twin's (same rounded weight): the backward reads the bfloat16 bits.
    const leaf = new Tensor(x.f32.slice(), x.shape, true);
    const twinLeaf = new Tensor(x.f32.slice(), x.shape, true);
    backward(sum(mul(layer.forward(leaf), w)));
    backward(sum(mul(twin.forward(twinLeaf), w)));
    assert.ok(worstDiff((leaf.grad as Tensor).f32, (twinLeaf.grad as Tensor).f32) <= 1e-5);
  });

  test("into (a decoding step) agrees with forward", () => {
    const { layer } = held(13);
    layer.eval();
    const R = 4;
    const x = randomTensor([R, IN], new Rng(2));
    const want = noGrad(() => layer.forward(x)).f32;
    const out = new Float32Array(R * OUT);
    layer.into(x.f32, out, R);
    // into rounds its inputs to bfloat16 (Backend.gemmBf16, as every bfloat16 decoding step).
    assert.ok(worstDiff(out, want) <= 2e-2);
    const res = Float32Array.from(out, (v) => v + 1);
    layer.into(x.f32, res, R, true);
    assert.ok(
      worstDiff(
        res,
        Float32Array.from(out, (v) => 2 * v + 1),
      ) <= 1e-5,
    );
  });
});

test("holding lets the float32 weight go: no parameter, reads throw, tied and trainable stay", () => {
  const rng = new Rng(3);
  const model = new Container();
  const a = model.add("a", new Linear(IN, OUT, { rng }));
  const trainable = model.add("b", new Linear(IN, OUT, { rng }));
  const tiedTo = model.add("c", new Linear(OUT, IN, { rng }, false, a.weight));
  a.weight.requiresGrad = false;
  tiedTo.weight.requiresGrad = false;
  const before = model.namedParameters().map(([n]) => n);
  assert.deepEqual(before, ["a.weight", "a.bias", "b.weight", "b.bias", "c.weight"]);
  // a's weight is tied (c shares it): neither lets it go.
  assert.deepEqual(holdFrozenWeightsBf16(model).layers, []);
  const solo = new Container();
  const s = solo.add("s", new Linear(IN, OUT, { rng }));
  const t = solo.add("t", new Linear(IN, OUT, { rng }));
  s.weight.requiresGrad = false;
  const rounded = fromBf16(toBf16(s.weight.f32));
  const res = holdFrozenWeightsBf16(solo);
  assert.deepEqual(res.layers, ["s"]);
  assert.deepEqual(
    solo.namedParameters().map(([n]) => n),
    ["s.bias", "t.weight", "t.bias"],
  );
  assert.throws(() => s.weight, /bfloat16 only/);
  assert.deepEqual(Array.from(fromBf16(s.weightBf16 as Uint16Array)), Array.from(rounded));
  assert.throws(() => t.holdWeightBf16(), /only a frozen weight/);
  assert.throws(() => tiedTo.holdWeightBf16(), /tied/);
  assert.ok(trainable.weight.requiresGrad);
  // Widening brings a frozen float32 parameter back, of the rounded values, in its place.
  const w = s.widenWeight();
  assert.equal(w.requiresGrad, false);
  assert.deepEqual(Array.from(w.f32), Array.from(rounded));
  assert.deepEqual(
    solo.namedParameters().map(([n]) => n),
    ["s.weight", "s.bias", "t.weight", "t.bias"],
  );
});

test("mergeLora on a base held in bfloat16: float32 weights computing what the adapter did", () => {
  const { layer } = held(17);
  const x = randomTensor([3, IN], new Rng(8));
  const want = noGrad(() => layer.forward(x)).f32;
  mergeLora(layer);
  assert.equal(layer.adapter, null);
  assert.equal(layer.weightBf16, null);
  assert.ok(worstDiff(noGrad(() => layer.forward(x)).f32, want) <= 1e-5);
});

test("an output head held in bfloat16 with final_logits_bias (BART's) projects from its bits", () => {
  const rng = new Rng(21);
  const head = new Linear(IN, OUT, { rng, std: 0.3 }, false);
  const bias = randomTensor([1, OUT], rng, 0.5);
  const x = randomTensor([2, IN], rng);
  const twin = new Linear(IN, OUT, { rng }, false);
  twin.weight.f32.set(fromBf16(toBf16(head.weight.f32)));
  head.weight.requiresGrad = false;
  head.holdWeightBf16();
  const got = noGrad(() => project(head, bias, x)).f32;
  const want = noGrad(() => project(twin, bias, x)).f32;
  assert.ok(worstDiff(got, want) <= 1e-5);
});

test("decoding copies (bfloat16, int8) leave a held layer out; its into reads its own bits", () => {
  const { layer } = held(23);
  layer.eval();
  const other = new Linear(IN, OUT, { rng: new Rng(1) });
  const R = 2;
  const x = randomTensor([R, IN], new Rng(4));
  const plain = new Float32Array(R * OUT);
  layer.into(x.f32, plain, R);
  for (const make of [(l: Linear[]) => new Bf16Weights(l), (l: Linear[]) => new Int8Weights(l)]) {
    const copies = make([layer, other]);
    // Only the float32 layer is copied.
    assert.equal(copies.bytes, make([other]).bytes);
    const out = new Float32Array(R * OUT);
    layer.into(x.f32, out, R, false, copies);
    assert.deepEqual(Array.from(out), Array.from(plain), copies.precision);
  }
});
