// Mixed tiles (a causal diagonal, a padding edge, a window's edges) are computed only where the
// mask leaves something, in blocks of rows and of 16 columns: with tiles large enough for that
// to happen (8 to 40 rows and columns), T not a multiple of the tile, all-padded rows and keys,
// a bias and dropout, the kernel with block skipping must give the same bits as without it, and
// outputs and gradients within the tolerances of the float64 cases (1e-5, 1e-4) of the
// reference backend's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { attention } from "../../src/attention/fused.js";
import {
  type AttendMask,
  and,
  causal,
  keyPadding,
  prefix,
  slidingWindow,
} from "../../src/attention/masks.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { getBackend, setBackend } from "../../src/tensor/dispatch.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { randomTensor } from "../helpers/gradcheck.js";

interface Shape {
  name: string;
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  Dh: number;
  block: number;
  mask: AttendMask;
  bias?: boolean;
  dropout?: number;
}

const shapes: Shape[] = [
  // B, H, T, Dh as in `bench attention`, shortened: lengths spread, one row fully padded.
  {
    name: "causal, key padding, T a multiple of the tile",
    ...{ B: 3, H: 2, Tq: 64, Tk: 64, Dh: 16, block: 32 },
    mask: and(causal(), keyPadding([64, 37, 0])),
  },
  {
    name: "causal, key padding, T not a multiple of the tile",
    ...{ B: 2, H: 2, Tq: 45, Tk: 45, Dh: 24, block: 32 },
    mask: and(causal(), keyPadding([45, 19])),
  },
  {
    name: "causal with a cache offset, tiles of 8 by 40",
    ...{ B: 2, H: 1, Tq: 30, Tk: 50, Dh: 8, block: 8 },
    mask: and(causal(20), keyPadding([50, 33])),
  },
  {
    name: "sliding window: live columns that start inside the tile",
    ...{ B: 1, H: 2, Tq: 70, Tk: 70, Dh: 20, block: 32 },
    mask: slidingWindow(21),
  },
  {
    name: "prefix LM and padding, with a shared bias",
    ...{ B: 2, H: 2, Tq: 40, Tk: 40, Dh: 12, block: 16 },
    mask: and(causal().or(prefix(5)), keyPadding([40, 23])),
    bias: true,
  },
  {
    name: "causal with padding, bias and dropout",
    ...{ B: 2, H: 1, Tq: 36, Tk: 36, Dh: 8, block: 32 },
    mask: and(causal(), keyPadding([36, 17])),
    bias: true,
    dropout: 0.2,
  },
];

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Run {
  out: Float32Array;
  grads: Float32Array[];
}

/** Forward and backward of one shape on the active backend. */
function run(s: Shape, skipBlocks: boolean, blockK: number): Run {
  const rng = new Rng(5);
  const q = T.parameter(randomTensor([s.B, s.H, s.Tq, s.Dh], rng));
  const k = T.parameter(randomTensor([s.B, s.H, s.Tk, s.Dh], rng));
  const v = T.parameter(randomTensor([s.B, s.H, s.Tk, s.Dh], rng));
  const bias = s.bias ? T.parameter(randomTensor([s.H, s.Tq, s.Tk], rng)) : null;
  const dout = randomTensor([s.B, s.H, s.Tq, s.Dh], rng);
  const out = attention(q, k, v, s.mask, {
    blockQ: s.block,
    blockK,
    skipBlocks,
    bias,
    training: s.dropout !== undefined,
    dropout: s.dropout,
    seed: 9,
  });
  T.backward(out, dout);
  const params = bias ? [q, k, v, bias] : [q, k, v];
  return { out: out.f32, grads: params.map((p) => p.grad?.f32 ?? new Float32Array(0)) };
}

forEachBackend("attention on partly masked tiles", () => {
  for (const s of shapes) {
    for (const blockK of [s.block, s.block === 32 ? 16 : 40]) {
      test(`${s.name} (tiles ${s.block} x ${blockK})`, () => {
        const skip = run(s, true, blockK);
        const whole = run(s, false, blockK);
        assert.deepEqual(skip.out, whole.out, "output with and without block skipping");
        skip.grads.forEach((g, i) => {
          assert.deepEqual(g, whole.grads[i], `gradient ${i} with and without block skipping`);
        });
        const previous = getBackend();
        setBackend(new ReferenceBackend());
        let ref: Run;
        try {
          ref = run(s, true, blockK);
        } finally {
          setBackend(previous);
        }
        assert.ok(maxDiff(skip.out, ref.out) <= 1e-5, `out: ${maxDiff(skip.out, ref.out)}`);
        skip.grads.forEach((g, i) => {
          assert.ok(g.every(Number.isFinite), `gradient ${i} has a non-finite value`);
          assert.ok(maxDiff(g, ref.grads[i]) <= 1e-4, `gradient ${i}: ${maxDiff(g, ref.grads[i])}`);
        });
        // The fully padded batch row attends nothing: 0 out, 0 gradient.
        if (s.name.startsWith("causal, key padding, T a multiple")) {
          const row = s.H * s.Tq * s.Dh;
          assert.ok(skip.out.subarray(2 * row).every((x) => x === 0));
          assert.ok(skip.grads[0].subarray(2 * row).every((x) => x === 0));
        }
      });
    }
  }
});
