// The fused affine op (GEMM + bias + optional ReLU) on both backends: the same values and
// gradients as the composition matmul -> add -> relu, gradients against finite differences, and
// accumulation when its inputs feed other ops too.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { linear } from "../../src/tensor/ops/linear.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor as rt } from "../helpers/gradcheck.js";

function close(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])),
      `${what}[${i}]: ${got[i]} vs ${want[i]}`,
    );
  }
}

/** Values and gradients of sum(f(...) * w) for fresh leaves holding the given data. */
function run(f: (...xs: T.Tensor[]) => T.Tensor, inputs: T.Tensor[], w: T.Tensor) {
  const leaves = inputs.map((x) => new T.Tensor(x.f32.slice(), x.shape, true));
  const y = f(...leaves);
  T.backward(T.sum(T.mul(y, w)));
  return { y: y.f32, grads: leaves.map((l) => l.grad?.f32 ?? null) };
}

forEachBackend("linear: GEMM, bias and ReLU as one op", () => {
  const rng = new Rng(31);

  test("equals matmul + add (+ relu), values and gradients, with and without bias", () => {
    for (const shape of [
      [2, 3, 5],
      [7, 16],
      [1, 1, 1],
    ]) {
      const K = shape[shape.length - 1];
      const N = 6;
      const x = rt(shape, rng);
      const W = rt([N, K], rng);
      const b = rt([N], rng);
      const w = rt([...shape.slice(0, -1), N], rng);
      for (const relu of [false, true]) {
        const composed = (xx: T.Tensor, ww: T.Tensor, bb: T.Tensor) => {
          const y = T.add(T.matmul(xx, ww, { transB: true }), bb);
          return relu ? T.relu(y) : y;
        };
        const want = run(composed, [x, W, b], w);
        const got = run((xx, ww, bb) => linear(xx, ww, bb, { relu }), [x, W, b], w);
        close(got.y, want.y, 1e-5, `y relu=${relu}`);
        got.grads.forEach((g, i) => {
          assert.ok(g && want.grads[i], `gradient ${i} exists`);
          close(g, want.grads[i] as Float32Array, 1e-5, `grad ${i} relu=${relu}`);
        });
        const noBias = run((xx, ww) => linear(xx, ww, null, { relu }), [x, W], w);
        const noBiasWant = run(
          (xx, ww) => {
            const y = T.matmul(xx, ww, { transB: true });
            return relu ? T.relu(y) : y;
          },
          [x, W],
          w,
        );
        close(noBias.y, noBiasWant.y, 1e-5, "y without bias");
        noBias.grads.forEach((g, i) => {
          close(g as Float32Array, noBiasWant.grads[i] as Float32Array, 1e-5, `grad ${i} no bias`);
        });
      }
    }
  });

  test("gradients match finite differences (bias of shape [1, N] as final_logits_bias)", () => {
    const x = rt([2, 3, 4], rng);
    const W = rt([5, 4], rng);
    const b = rt([1, 5], rng);
    gradcheck("linear", (xx, ww, bb) => linear(xx, ww, bb), [x, W, b]);
    // Away from the ReLU's kink: pre-activations kept off 0 by a large bias of either sign.
    const b2 = T.tensor([1.5, -1.5, 2, -2, 1.7], [5]);
    gradcheck("linear+relu", (xx, ww, bb) => linear(xx, ww, bb, { relu: true }), [
      x,
      rt([5, 4], rng, 0.2),
      b2,
    ]);
  });

  test("gradients accumulate into inputs used elsewhere too", () => {
    const x = rt([3, 4], rng);
    const W = rt([4, 4], rng);
    const b = rt([4], rng);
    const w = rt([3, 4], rng);
    // y = linear(x) + x + b (x and b used twice): compare with the composed form.
    const f = (use: (xx: T.Tensor, ww: T.Tensor, bb: T.Tensor) => T.Tensor) =>
      run((xx, ww, bb) => T.add(T.add(use(xx, ww, bb), xx), bb), [x, W, b], w);
    const want = f((xx, ww, bb) => T.add(T.matmul(xx, ww, { transB: true }), bb));
    const got = f((xx, ww, bb) => linear(xx, ww, bb));
    got.grads.forEach((g, i) => {
      close(g as Float32Array, want.grads[i] as Float32Array, 1e-5, `grad ${i}`);
    });
  });

  test("with a residual: add(r, linear(x)) as one op, the same bits, gradients included", () => {
    const x = rt([5, 4], rng);
    const W = rt([6, 4], rng);
    const b = rt([6], rng);
    const r = rt([5, 6], rng);
    const w = rt([5, 6], rng);
    const same = (got: ReturnType<typeof run>, want: ReturnType<typeof run>, what: string) => {
      assert.deepEqual(got.y, want.y, `${what}: y`);
      got.grads.forEach((g, i) => {
        assert.deepEqual(g, want.grads[i], `${what}: grad ${i}`);
      });
    };
    // r alone; r also read by another op (its gradient already exists when the layer's arrives,
    // or arrives after); no bias.
    same(
      run((xx, ww, bb, rr) => linear(xx, ww, bb, { residual: rr }), [x, W, b, r], w),
      run((xx, ww, bb, rr) => T.add(rr, linear(xx, ww, bb)), [x, W, b, r], w),
      "alone",
    );
    same(
      run(
        (xx, ww, bb, rr) => T.mul(linear(xx, ww, bb, { residual: rr }), T.exp(rr)),
        [x, W, b, r],
        w,
      ),
      run((xx, ww, bb, rr) => T.mul(T.add(rr, linear(xx, ww, bb)), T.exp(rr)), [x, W, b, r], w),
      "r used twice",
    );
    same(
      run((xx, ww, rr) => linear(xx, ww, null, { residual: rr }), [x, W, r], w),
      run((xx, ww, rr) => T.add(rr, linear(xx, ww, null)), [x, W, r], w),
      "no bias",
    );
    // The layer's input as its own residual (K = N): its two gradients meet in another order
    // (g W added to g, or g added to g W), so equal up to rounding.
    const sq = rt([4, 4], rng);
    const w4 = rt([5, 4], rng);
    const fusedSelf = run((xx, ww) => linear(xx, ww, null, { residual: xx }), [x, sq], w4);
    const addSelf = run((xx, ww) => T.add(xx, linear(xx, ww, null)), [x, sq], w4);
    close(fusedSelf.y, addSelf.y, 0, "x as residual: y");
    fusedSelf.grads.forEach((g, i) => {
      close(g as Float32Array, addSelf.grads[i] as Float32Array, 1e-6, `x as residual: grad ${i}`);
    });
    gradcheck("linear+residual", (xx, ww, bb, rr) => linear(xx, ww, bb, { residual: rr }), [
      x,
      W,
      b,
      r,
    ]);
    assert.throws(() => linear(x, W, b, { residual: rt([5, 5], rng) }), /residual/);
    assert.throws(() => linear(x, W, b, { residual: r, relu: true }), /no ReLU/);
  });

  test("a weight that does not fit is a shape error", () => {
    assert.throws(() => linear(rt([2, 3], rng), rt([4, 5], rng), null), /E_SHAPE|weight/);
    assert.throws(() => linear(rt([2, 3], rng), rt([4, 3], rng), rt([5], rng)), /bias/);
  });
});
