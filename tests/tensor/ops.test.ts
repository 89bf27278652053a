// Forward values of the primitives on small inputs worked by hand, broadcasting rules, the tape's
// bookkeeping, and error messages that name the op and both shapes.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as T from "../../src/tensor/index.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

const close = (got: ArrayLike<number>, want: number[], tol = 1e-6) => {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `[${i}] ${got[i]} vs ${want[i]}`);
  }
};

forEachBackend("forward values", () => {
  test("broadcasting arithmetic", () => {
    const a = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = T.tensor([10, 20, 30], [3]);
    const c = T.tensor([100, 200], [2, 1]);
    assert.deepEqual(T.add(a, b).toArray(), [
      [11, 22, 33],
      [14, 25, 36],
    ]);
    assert.deepEqual(T.mul(a, c).toArray(), [
      [100, 200, 300],
      [800, 1000, 1200],
    ]);
    assert.deepEqual(T.sub(b, 1).shape, [3]);
    close(T.div(a, 2).f32, [0.5, 1, 1.5, 2, 2.5, 3]);
    assert.deepEqual(T.add(T.tensor([1], [1, 1, 1]), a).shape, [1, 2, 3]);
  });

  test("matmul with transposes and a shared weight", () => {
    const a = T.tensor([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = T.tensor([1, 0, 0, 1, 1, 1], [3, 2]);
    assert.deepEqual(T.matmul(a, b).toArray(), [
      [4, 5],
      [10, 11],
    ]);
    // a^T [3,2] @ a [2,3] = [3,3]
    assert.deepEqual(T.matmul(a, a, { transA: true }).toArray(), [
      [17, 22, 27],
      [22, 29, 36],
      [27, 36, 45],
    ]);
    // a @ a^T = [2,2]
    assert.deepEqual(T.matmul(a, a, { transB: true }).toArray(), [
      [14, 32],
      [32, 77],
    ]);
    const batched = T.reshape(T.concat([a, T.mul(a, 2)]), [2, 2, 3]);
    assert.deepEqual(T.matmul(batched, b).toArray(), [
      [
        [4, 5],
        [10, 11],
      ],
      [
        [8, 10],
        [20, 22],
      ],
    ]);
  });

  test("reductions", () => {
    const x = T.tensor([1, 5, 3, 4, 2, 6], [2, 3]);
    assert.deepEqual(T.sum(x).toArray(), 21);
    assert.deepEqual(T.sum(x, 0).toArray(), [5, 7, 9]);
    assert.deepEqual(T.sum(x, -1, { keepDims: true }).shape, [2, 1]);
    assert.deepEqual(T.mean(x, 1).toArray(), [3, 4]);
    assert.deepEqual(T.max(x, 1).toArray(), [5, 6]);
    assert.deepEqual(T.max(x, 0).toArray(), [4, 5, 6]);
  });

  test("softmax rows sum to one and survive large logits", () => {
    const x = T.tensor([1000, 1001, 1002, -5, 0, 5], [2, 3]);
    const p = T.softmax(x);
    for (let r = 0; r < 2; r++) close([p.f32[r * 3] + p.f32[r * 3 + 1] + p.f32[r * 3 + 2]], [1]);
    close(p.f32.subarray(0, 3), [0.09003057, 0.24472847, 0.66524096]);
    const lp = T.logSoftmax(x);
    close(lp.f32.subarray(0, 3), [-2.40760596, -1.40760596, -0.40760596], 1e-5);
  });

  test("layer norm normalises each row", () => {
    const x = T.tensor([1, 2, 3, 4, 2, 2, 2, 2], [2, 4]);
    const y = T.layerNorm(x, T.ones([4]), T.zeros([4]), 0);
    close(y.f32.subarray(0, 4), [-1.34164079, -0.4472136, 0.4472136, 1.34164079], 1e-5);
    // A constant row has zero variance: eps keeps it finite.
    const z = T.layerNorm(x, T.ones([4]), T.tensor([1, 1, 1, 1]), 1e-5);
    close(z.f32.subarray(4), [1, 1, 1, 1]);
  });

  test("RMS norm: weight * x / sqrt(mean(x^2) + eps) by rows, as the ops compose it", () => {
    const x = T.tensor([1, 2, 3, 4, -2, 0.5, 0, 1], [2, 4]);
    const w = T.tensor([1, 0.5, -2, 3]);
    const y = T.rmsNorm(x, w, 1e-6);
    const composed = T.mul(
      T.mul(x, T.rsqrt(T.add(T.mean(T.mul(x, x), -1, { keepDims: true }), 1e-6))),
      w,
    );
    close(y.f32, Array.from(composed.f32), 1e-6);
    const r0 = 1 / Math.sqrt(30 / 4 + 1e-6);
    close(y.f32.subarray(0, 4), [r0, 2 * r0 * 0.5, 3 * r0 * -2, 4 * r0 * 3], 1e-6);
    assert.throws(
      () => T.rmsNorm(T.zeros([2, 3]), T.ones([4]), 1e-6),
      /rmsNorm of \[2, 3\].*\[4\]/,
    );
  });

  test("cross-entropy ignores -100 and smooths over V classes", () => {
    const logits = T.tensor([2, 1, 0, 0, 0, 0, 1, 2, 3], [3, 3]);
    const targets = T.intTensor([0, -100, 2]);
    const lse0 = Math.log(Math.exp(2) + Math.exp(1) + 1);
    const lse2 = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    const ce0 = lse0 - 2;
    const ce2 = lse2 - 3;
    close([T.crossEntropy(logits, targets).item()], [(ce0 + ce2) / 2], 1e-6);
    close([T.crossEntropy(logits, targets, { reduction: "sum" }).item()], [ce0 + ce2], 1e-6);
    close(T.crossEntropy(logits, targets, { reduction: "none" }).f32, [ce0, 0, ce2], 1e-6);
    const eps = 0.1;
    const smooth0 = (1 - eps) * ce0 + eps * (lse0 - 1);
    const smooth2 = (1 - eps) * ce2 + eps * (lse2 - 2);
    close(
      [T.crossEntropy(logits, targets, { labelSmoothing: eps }).item()],
      [(smooth0 + smooth2) / 2],
      1e-6,
    );
    // Everything ignored: 0, not NaN.
    assert.equal(T.crossEntropy(logits, T.intTensor([-100, -100, -100])).item(), 0);
  });

  test("shape ops move the right elements", () => {
    const x = T.tensor([0, 1, 2, 3, 4, 5], [2, 3]);
    assert.deepEqual(T.transpose(x).toArray(), [
      [0, 3],
      [1, 4],
      [2, 5],
    ]);
    assert.deepEqual(T.slice(x, 1, 1).toArray(), [
      [1, 2],
      [4, 5],
    ]);
    assert.deepEqual(T.slice(x, 1, -1).toArray(), [[2], [5]]);
    assert.deepEqual(T.concat([x, x], 1).shape, [2, 6]);
    assert.deepEqual(T.reshape(x, [3, -1]).shape, [3, 2]);
    assert.equal(T.reshape(x, [6]).data, x.data, "reshape shares the data");
    const ids = T.intTensor([1, 2, 3, 4], [2, 2]);
    assert.deepEqual(T.transpose(ids).toArray(), [
      [1, 3],
      [2, 4],
    ]);
    assert.deepEqual(T.broadcastTo(T.tensor([7, 8], [2, 1]), [2, 2]).toArray(), [
      [7, 7],
      [8, 8],
    ]);
  });

  test("embedding and where", () => {
    const table = T.tensor([0, 0, 1, 1, 2, 2], [3, 2]);
    assert.deepEqual(T.embedding(table, T.intTensor([2, 0], [1, 2])).toArray(), [
      [
        [2, 2],
        [0, 0],
      ],
    ]);
    const keep = T.intTensor([1, 0, 1], [1, 3]);
    const filled = T.fillWhereNot(T.tensor([1, 2, 3, 4, 5, 6], [2, 3]), keep, -1);
    assert.deepEqual(filled.toArray(), [
      [1, -1, 3],
      [4, -1, 6],
    ]);
  });

  test("dropout keeps the expected share and scales it", () => {
    const x = T.ones([100000]);
    const y = T.dropout(x, 0.25, new Rng(9));
    let kept = 0;
    for (const v of y.f32) if (v !== 0) kept++;
    assert.ok(Math.abs(kept / 100000 - 0.75) < 0.01);
    close([y.f32.find((v) => v !== 0) ?? 0], [1 / 0.75]);
    assert.equal(T.dropout(x, 0.25, new Rng(9), false), x);
  });

  test("dropout's mask: element i is dropped when hash(seed, i) / 2^32 < p, forward and backward", () => {
    // The seed is the next draw of the stream (so a resumed run, which restores the stream,
    // reproduces the uninterrupted one); each element is a pure function of it and its index
    // (murmur3's finaliser of i * golden ratio + seed), computed here independently. The
    // gradient uses the same mask, also when it accumulates.
    const n = 70000; // several threads' chunks on the native backend
    const x = T.parameter(T.tensor(Array.from({ length: n }, (_, i) => (i % 7) - 3.5)), "x");
    const p = 0.1;
    const seed = new Rng(42).nextU32();
    const hash = (i: number) => {
      let h = (Math.imul(i, 0x9e3779b1) + seed) >>> 0;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
      return (h ^ (h >>> 16)) >>> 0;
    };
    const y = T.dropout(x, p, new Rng(42));
    const scale = Math.fround(1 / (1 - p));
    const want = new Float32Array(n);
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      const drop = hash(i) / 4294967296 < p;
      if (drop) dropped++;
      want[i] = x.f32[i] * (drop ? 0 : scale);
    }
    assert.ok(Math.abs(dropped / n - p) < 0.005, `dropped ${dropped} of ${n}`);
    assert.deepEqual(Array.from(y.f32), Array.from(want));
    T.backward(T.sum(T.dropout(x, p, new Rng(42))));
    T.backward(T.sum(T.dropout(x, p, new Rng(42))));
    const g = x.grad?.f32 ?? new Float32Array(0);
    for (let i = 0; i < n; i++)
      assert.equal(g[i], want[i] === 0 ? 0 : Math.fround(2 * scale), `[${i}]`);
    // Another seed, another mask.
    const other = T.dropout(x, p, new Rng(43));
    assert.notDeepEqual(Array.from(other.f32), Array.from(y.f32));
  });
});

forEachBackend("the tape", () => {
  test("noGrad records nothing; gradients accumulate over backward calls", () => {
    const w = T.parameter(T.tensor([1, 2]), "w");
    const y = T.noGrad(() => T.mul(w, 3));
    assert.equal(y.requiresGrad, false);
    assert.equal(y.node, null);
    T.backward(T.sum(T.mul(w, 3)));
    T.backward(T.sum(T.mul(w, 3)));
    assert.deepEqual(Array.from(w.grad?.f32 ?? []), [6, 6]);
  });

  test("backward cuts the tape and rejects what it cannot do", () => {
    const w = T.parameter(T.tensor([1, 2]), "w");
    const h = T.mul(w, w);
    const loss = T.sum(h);
    T.backward(loss);
    assert.equal(h.node, null);
    assert.throws(() => T.backward(T.mul(w, 2)), /needs a scalar/);
    assert.throws(() => T.backward(T.tensor([1])), /does not require gradients/);
  });
});

forEachBackend("errors name the op and both shapes", () => {
  const expectShapeError = (fn: () => unknown, pattern: RegExp, where: string) => {
    assert.throws(fn, (e: unknown) => {
      assert.ok(e instanceof MaskwiseError);
      assert.equal(e.where, where);
      assert.match(e.message, pattern);
      return true;
    });
  };
  test("mismatches", () => {
    expectShapeError(
      () => T.add(T.zeros([2, 3]), T.zeros([4])),
      /\[2, 3\] and \[4\] do not broadcast/,
      "add",
    );
    expectShapeError(
      () => T.matmul(T.zeros([2, 3]), T.zeros([4, 5])),
      /\[2, 3\] by \[4, 5\]: inner sizes 3 and 4/,
      "matmul",
    );
    expectShapeError(() => T.reshape(T.zeros([2, 3]), [4, 2]), /\[2, 3\].*\[4, 2\]/, "reshape");
    expectShapeError(
      () => T.layerNorm(T.zeros([2, 3]), T.ones([4]), T.zeros([4])),
      /\[2, 3\].*\[4\]/,
      "layerNorm",
    );
    expectShapeError(
      () => T.concat([T.zeros([2, 3]), T.zeros([3, 3])], 1),
      /\[2, 3\].*\[3, 3\]/,
      "concat",
    );
    assert.throws(
      () => T.embedding(T.zeros([3, 2]), T.intTensor([3])),
      /index 3 at position 0 is outside \[0, 3\)/,
    );
  });
});
