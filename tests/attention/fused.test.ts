// Fused attention against the six float64 reference cases in ../shared/ref/attention (outputs
// within 1e-5, gradients within 1e-4), against a plain materialised softmax on random masks, with
// block skipping on and off, and with dropout checked by finite differences.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { attention, attentionWeights } from "../../src/attention/fused.js";
import {
  type AttendMask,
  and,
  causal,
  documents,
  keyPadding,
  or,
  prefix,
  slidingWindow,
} from "../../src/attention/masks.js";
import { parseSafetensors } from "../../src/io/safetensors.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";

const refDir = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "attention");

interface Case {
  name: string;
  spec: string;
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  Dh: number;
  lengths?: number[];
  offset?: number;
  window?: number;
  prefix?: number;
  segments?: number[];
}

function maskFor(c: Case): AttendMask {
  const offset = c.offset ?? 0;
  switch (c.name) {
    case "self_causal_padding":
      return and(causal(offset), keyPadding(c.lengths ?? []));
    case "cross_padding_empty_source":
      return keyPadding(c.lengths ?? []);
    case "causal_cache_offset":
      return causal(offset);
    case "sliding_window":
      return slidingWindow(c.window ?? 1, offset);
    case "prefix_lm":
      return or(causal(offset), prefix(c.prefix ?? 0));
    case "packed_documents_causal":
      return and(causal(offset), documents(c.segments ?? []));
    default:
      throw new Error(`no mask for case ${c.name}`);
  }
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

forEachBackend("fused attention matches the float64 reference cases", () => {
  const haveRefs = existsSync(join(refDir, "index.json"));
  const cases: Case[] = haveRefs
    ? JSON.parse(readFileSync(join(refDir, "index.json"), "utf8")).cases
    : [];
  test("reference cases are present", (t) => {
    if (!haveRefs) t.skip(`${refDir} is absent`);
    else assert.equal(cases.length, 6);
  });
  for (const c of cases) {
    for (const skipBlocks of [true, false]) {
      test(`${c.name} (${c.spec}), block skipping ${skipBlocks ? "on" : "off"}`, () => {
        const f = parseSafetensors(readFileSync(join(refDir, `${c.name}.safetensors`))).tensors;
        const get = (n: string) => {
          const t = f.get(n);
          assert.ok(t, `${c.name} lacks ${n}`);
          return new T.Tensor(Float32Array.from(t.data), t.shape);
        };
        const mask = maskFor(c);
        const attendRef = get("attend");
        const grid = mask.attendGrid(attendRef.shape[0], c.Tq, c.Tk);
        // The fixture's mask may be [B, Tq, Tk] for a batch-independent mask: compare row by row.
        for (let b = 0; b < attendRef.shape[0]; b++) {
          for (let x = 0; x < c.Tq * c.Tk; x++) {
            const mine = grid[(mask.batch === null ? 0 : b) * c.Tq * c.Tk + x];
            assert.equal(
              mine,
              attendRef.f32[b * c.Tq * c.Tk + x],
              `${c.name}: attend grid at row ${b}, ${x}`,
            );
          }
        }
        const q = T.parameter(get("q"));
        const k = T.parameter(get("k"));
        const v = T.parameter(get("v"));
        // Small blocks so that every block class occurs in these short sequences.
        const out = attention(q, k, v, mask, { blockQ: 2, blockK: 2, skipBlocks });
        assert.ok(
          maxDiff(out.f32, get("out").f32) <= 1e-5,
          `out differs by ${maxDiff(out.f32, get("out").f32)}`,
        );
        T.backward(out, get("dout"));
        for (const [name, p] of [
          ["dq", q],
          ["dk", k],
          ["dv", v],
        ] as const) {
          const g = p.grad?.f32 ?? new Float32Array(0);
          assert.ok(g.every(Number.isFinite), `${name} has a non-finite value`);
          assert.ok(
            maxDiff(g, get(name).f32) <= 1e-4,
            `${name} differs by ${maxDiff(g, get(name).f32)}`,
          );
        }
      });
    }
  }
});

/** softmax(q k^T * scale + mask) v with the score matrix materialised, from tensor primitives. */
function plainAttention(q: T.Tensor, k: T.Tensor, v: T.Tensor, mask: AttendMask): T.Tensor {
  const [, , Tq, Dh] = q.shape;
  const Tk = k.shape[2];
  const grid = mask.attendGrid(mask.batch ?? 1, Tq, Tk);
  const keep = new T.Tensor(Int32Array.from(grid), [mask.batch ?? 1, 1, Tq, Tk]);
  const scores = T.mul(T.matmul(q, k, { transB: true }), 1 / Math.sqrt(Dh));
  const p = T.softmax(T.fillWhereNot(scores, keep, -1e30));
  // Rows with nothing to attend to: zero them (softmax of all -1e30 is uniform).
  const rowHas = new Int32Array((mask.batch ?? 1) * Tq);
  for (let r = 0; r < rowHas.length; r++)
    for (let j = 0; j < Tk; j++) rowHas[r] |= grid[r * Tk + j];
  const pz = T.where(new T.Tensor(rowHas, [mask.batch ?? 1, 1, Tq, 1]), p, T.zeros([1]));
  return T.matmul(pz, v);
}

forEachBackend("fused attention equals the materialised form", () => {
  test("random masks, shapes and block sizes", () => {
    const rng = new Rng(21);
    for (let trial = 0; trial < 12; trial++) {
      const B = 1 + rng.int(3);
      const H = 1 + rng.int(2);
      const Tk = 1 + rng.int(10);
      const offset = rng.int(3);
      const Tq = Math.max(1, Tk - offset);
      const Dh = 1 + rng.int(6);
      const lengths = Array.from({ length: B }, () => rng.int(Tk + 1));
      const mask =
        rng.uniform() < 0.5
          ? and(causal(offset), keyPadding(lengths))
          : or(slidingWindow(2, offset), prefix(1)).and(keyPadding(lengths));
      const q = randomTensor([B, H, Tq, Dh], rng);
      const k = randomTensor([B, H, Tk, Dh], rng);
      const v = randomTensor([B, H, Tk, Dh], rng);
      const bq = 1 + rng.int(4);
      const bk = 1 + rng.int(4);
      const fused = attention(q, k, v, mask, { blockQ: bq, blockK: bk });
      const plain = plainAttention(q, k, v, mask);
      assert.ok(
        maxDiff(fused.f32, plain.f32) < 1e-5,
        `trial ${trial}: ${maxDiff(fused.f32, plain.f32)}`,
      );
      gradcheck(
        `attention trial ${trial}`,
        (a, b, c) => attention(a, b, c, mask, { blockQ: bq, blockK: bk }),
        [q, k, v],
        { samples: 8 },
      );
    }
  });

  test("weights for inspection sum to one per row, 0 in empty rows", () => {
    const rng = new Rng(2);
    const q = randomTensor([2, 1, 3, 4], rng);
    const k = randomTensor([2, 1, 3, 4], rng);
    const w = attentionWeights(q, k, keyPadding([3, 0]));
    for (let i = 0; i < 3; i++) {
      const row = w.f32.subarray(i * 3, i * 3 + 3);
      assert.ok(Math.abs(row[0] + row[1] + row[2] - 1) < 1e-6);
    }
    assert.ok(w.f32.subarray(9).every((x) => x === 0));
  });

  test("dropout: same seed same result, gradient consistent, expectation preserved", () => {
    const rng = new Rng(4);
    const q = randomTensor([1, 2, 5, 3], rng);
    const k = randomTensor([1, 2, 5, 3], rng);
    const v = randomTensor([1, 2, 5, 3], rng);
    const o = { training: true, dropout: 0.3, seed: 77 };
    const a = attention(q, k, v, causal(), o);
    const b = attention(q, k, v, causal(), o);
    const c = attention(q, k, v, causal(), { ...o, seed: 78 });
    assert.deepEqual(a.f32, b.f32);
    assert.notDeepEqual(a.f32, c.f32);
    assert.deepEqual(
      attention(q, k, v, causal(), { ...o, training: false }).f32,
      attention(q, k, v, causal()).f32,
    );
    gradcheck("attention dropout", (x, y, z) => attention(x, y, z, causal(), o), [q, k, v]);
  });

  test("shape errors name q, k and v", () => {
    const z = (s: number[]) => T.zeros(s);
    assert.throws(
      () => attention(z([1, 2, 3, 4]), z([1, 2, 3, 5]), z([1, 2, 3, 5]), null),
      /q \[1, 2, 3, 4\], k \[1, 2, 3, 5\]/,
    );
    assert.throws(
      () => attention(z([2, 1, 3, 4]), z([2, 1, 3, 4]), z([2, 1, 3, 4]), keyPadding([3])),
      /1 batch rows, q has 2/,
    );
  });
});
