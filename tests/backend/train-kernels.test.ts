// The native training-step kernels against the reference backend on the shapes of the
// benchmark model and on the edges their fast paths hand over to exact code: cross-entropy over
// a vocabulary of 8000 (vectorised log-sum-exp and gradient) and rows holding NaN or infinities;
// AdamW in float over many steps, compared with the reference's double arithmetic.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import { type Backend, dropThreshold } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
const addon = ("addon" in loaded ? loaded.addon : null) as NativeAddon;
const ref: Backend = new ReferenceBackend();
const nat = (): Backend => new NativeBackend(addon);

function rand(rng: Rng, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * rng.uniform();
  return a;
}

/** |got - want| <= tol * (1 + |want|), NaN matching NaN, infinities exactly. */
function closeTo(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) || Number.isNaN(g)) {
      assert.ok(Number.isNaN(w) && Number.isNaN(g), `${what}[${i}]: ${g} vs ${w}`);
      continue;
    }
    if (g === w) continue;
    assert.ok(Math.abs(g - w) <= tol * (1 + Math.abs(w)), `${what}[${i}]: ${g} vs ${w}`);
  }
}

function crossEntropyBoth(logits: Float32Array, targets: Int32Array, V: number, eps: number) {
  const rows = targets.length;
  const out = [ref, nat()].map((b) => {
    const loss = new Float32Array(rows);
    const lse = new Float32Array(rows);
    b.crossEntropy({ logits, targets, loss, lse, rows, V, ignoreIndex: -100, smoothing: eps });
    const dloss = Float32Array.from({ length: rows }, (_, r) => 0.5 + r / rows);
    const d = new Float32Array(rows * V);
    b.crossEntropyBackward({
      logits,
      targets,
      lse,
      dloss,
      dlogits: d,
      rows,
      V,
      ignoreIndex: -100,
      smoothing: eps,
      accumulate: false,
    });
    return { loss, lse, d };
  });
  return { want: out[0], got: out[1] };
}

describe("native cross-entropy = reference on a large vocabulary", { skip }, () => {
  test("V = 8000 and V = 8003 (a tail after the 16-lane body), with smoothing", () => {
    const rng = new Rng(5);
    for (const V of [8000, 8003]) {
      const rows = 9;
      const logits = rand(rng, rows * V, -8, 8);
      const targets = Int32Array.from({ length: rows }, (_, r) => (r === 4 ? -100 : rng.int(V)));
      for (const eps of [0, 0.1]) {
        const { want, got } = crossEntropyBoth(logits, targets, V, eps);
        closeTo(got.loss, want.loss, 1e-5, `loss V=${V}`);
        closeTo(got.lse, want.lse, 1e-5, `lse V=${V}`);
        closeTo(got.d, want.d, 1e-5, `dlogits V=${V}`);
      }
    }
  });

  test("rows with NaN, +Infinity or -Infinity logits give what the reference gives", () => {
    const V = 40;
    const rows = 4;
    const logits = rand(new Rng(6), rows * V, -3, 3);
    logits[0 * V + 7] = Number.NaN;
    logits[1 * V + 3] = Number.POSITIVE_INFINITY;
    logits[2 * V + 11] = Number.NEGATIVE_INFINITY;
    const targets = Int32Array.from([1, 2, 3, 4]);
    const { want, got } = crossEntropyBoth(logits, targets, V, 0);
    closeTo(got.loss, want.loss, 1e-5, "loss");
    closeTo(got.lse, want.lse, 1e-5, "lse");
    closeTo(got.d, want.d, 1e-5, "dlogits");
    assert.ok(Number.isNaN(got.lse[0]), "a NaN row has a NaN log-sum-exp");
    assert.ok(Number.isFinite(got.lse[2]), "-Infinity is an ordinary (zero) probability");
  });
});

describe("cross-entropy's gradient by blocks of the vocabulary", { skip }, () => {
  test("each block's gradient is its columns of the whole row's, on both backends, smoothing too", () => {
    const rng = new Rng(7);
    const V = 8003;
    const rows = 6;
    const logits = rand(rng, rows * V, -8, 8);
    // Targets in the first block, the last, on a block's edge, and an ignored row.
    const targets = Int32Array.of(5, 8002, 2999, 3000, -100, 4100);
    const blocks = [
      [0, 3000],
      [3000, 5003],
    ];
    for (const eps of [0, 0.1]) {
      const { want } = crossEntropyBoth(logits, targets, V, eps);
      const dloss = Float32Array.from({ length: rows }, (_, r) => 0.5 + r / rows);
      for (const b of [ref, nat()]) {
        const whole = new Float32Array(rows * V);
        for (const [offset, width] of blocks) {
          const part = new Float32Array(rows * width);
          const slice = new Float32Array(rows * width);
          for (let r = 0; r < rows; r++)
            slice.set(logits.subarray(r * V + offset, r * V + offset + width), r * width);
          b.crossEntropyBackward({
            logits: slice,
            targets,
            lse: want.lse,
            dloss,
            dlogits: part,
            rows,
            V: width,
            ignoreIndex: -100,
            smoothing: eps,
            accumulate: false,
            vocabOffset: offset,
            vocab: V,
          });
          for (let r = 0; r < rows; r++)
            whole.set(part.subarray(r * width, (r + 1) * width), r * V + offset);
        }
        closeTo(whole, want.d, 1e-5, `${b.name}, smoothing ${eps}`);
        // The target's one-hot term lands in the block that holds it, nowhere else.
        assert.ok(whole[3 * V + 3000] < 0 && whole[1 * V + 8002] < 0, b.name);
        assert.ok(
          whole.subarray(4 * V, 5 * V).every((x) => x === 0),
          `${b.name}: ignored row`,
        );
      }
    }
  });

  test("a block past the vocabulary and a target outside it are refused", () => {
    for (const b of [ref, nat()]) {
      const args = {
        logits: new Float32Array(4),
        targets: Int32Array.of(1, 2),
        lse: new Float32Array(2),
        dloss: new Float32Array(2),
        dlogits: new Float32Array(4),
        rows: 2,
        V: 2,
        ignoreIndex: -100,
        smoothing: 0,
        accumulate: false,
      };
      assert.throws(() => b.crossEntropyBackward({ ...args, vocabOffset: 3, vocab: 4 }), /vocab/);
      assert.throws(
        () => b.crossEntropyBackward({ ...args, targets: Int32Array.of(1, 4), vocab: 4 }),
        /target 4/,
      );
    }
  });
});

describe("native AdamW = reference over many steps", { skip }, () => {
  test("100 steps on 70001 parameters, with and without weight decay", () => {
    const rng = new Rng(7);
    const n = 70001;
    for (const wd of [0, 0.01]) {
      const p0 = rand(rng, n, -0.1, 0.1);
      const states = [ref, nat()].map(() => ({
        p: p0.slice(),
        m: new Float32Array(n),
        v: new Float32Array(n),
      }));
      for (let step = 1; step <= 100; step++) {
        const g = rand(rng, n, -1e-2, 1e-2);
        [ref, nat()].forEach((b, i) => {
          const s = states[i];
          b.adamw({
            p: s.p,
            g,
            m: s.m,
            v: s.v,
            n,
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weightDecay: wd,
            step,
          });
        });
      }
      closeTo(states[1].p, states[0].p, 1e-5, `p wd=${wd}`);
      closeTo(states[1].m, states[0].m, 1e-5, `m wd=${wd}`);
      closeTo(states[1].v, states[0].v, 1e-5, `v wd=${wd}`);
      assert.ok(
        states[1].p.some((x, i) => x !== p0[i]),
        "the parameters moved",
      );
    }
  });
});

describe("native column sums (bias gradients) = reference", { skip }, () => {
  test("reduce over the rows of [1024, 8000] and [1024, 256] into one row", () => {
    const rng = new Rng(8);
    for (const [dim, inner] of [
      [1024, 8000],
      [1024, 256],
      [300, 257],
    ]) {
      const x = rand(rng, dim * inner);
      const want = new Float32Array(inner);
      const got = new Float32Array(inner);
      ref.reduce({ op: "sum", x, out: want, outer: 1, dim, inner });
      nat().reduce({ op: "sum", x, out: got, outer: 1, dim, inner });
      closeTo(got, want, 1e-6, `sum ${dim}x${inner}`);
    }
  });
});

describe("dropout masks", { skip }, () => {
  test("native equals the reference bit for bit, at every drop probability's edge", () => {
    const n = 100_003; // several threads' chunks and a ragged end
    for (const [seed, p] of [
      [0, 0.1],
      [0xffffffff, 0.3],
      [12345, 0.5],
      [7, 0],
      [7, 1 - 2 ** -32],
    ] as const) {
      const threshold = dropThreshold(p);
      const keep = Math.fround(1 / (1 - p));
      const want = new Float32Array(n).fill(Number.NaN);
      const got = new Float32Array(n).fill(Number.NaN);
      ref.dropoutMask({ out: want, n, seed, threshold, keep });
      nat().dropoutMask({ out: got, n, seed, threshold, keep });
      assert.deepEqual(got, want, `seed ${seed}, p ${p}`);
      const dropped = want.reduce((s, x) => s + (x === 0 ? 1 : 0), 0);
      assert.ok(Math.abs(dropped / n - p) < 0.01, `seed ${seed}, p ${p}: dropped ${dropped}`);
    }
  });

  test("a bad seed, threshold or length is refused with a named error", () => {
    const out = new Float32Array(8);
    assert.throws(
      () => nat().dropoutMask({ out, n: 8, seed: 2 ** 32, threshold: 0, keep: 1 }),
      /dropoutMask.*'seed'/,
    );
    assert.throws(
      () => nat().dropoutMask({ out, n: 8, seed: 1, threshold: 2 ** 32 + 1, keep: 1 }),
      /dropoutMask.*'threshold'/,
    );
    assert.throws(
      () => nat().dropoutMask({ out, n: 9, seed: 1, threshold: 0, keep: 1 }),
      /dropoutMask/,
    );
    assert.throws(
      () => nat().dropoutMask({ out, n: 8, seed: -1, threshold: 0, keep: 1 }),
      /dropoutMask.*'seed'/,
    );
  });
});
