// Fused attention with an additive bias per head, on both backends: against the materialised
// softmax(q k^T * scale + bias) on the shared reference cases' masks and on random ones (a bias
// shared by the batch and one per batch row, scale 1 as T5 uses), gradients of q, k, v and the
// bias against finite differences (dropout on, masked rows), -Infinity entries, shape errors.
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
  full,
  keyPadding,
  or,
  prefix,
  slidingWindow,
} from "../../src/attention/masks.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";

const refDir = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "attention");

interface Case {
  name: string;
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

/** The shared cases' masks (tests/attention/fused.test.ts checks them against the fixtures). */
function maskFor(c: Case): AttendMask {
  const offset = c.offset ?? 0;
  const masks: Record<string, () => AttendMask> = {
    self_causal_padding: () => and(causal(offset), keyPadding(c.lengths ?? [])),
    cross_padding_empty_source: () => keyPadding(c.lengths ?? []),
    causal_cache_offset: () => causal(offset),
    sliding_window: () => slidingWindow(c.window ?? 1, offset),
    prefix_lm: () => or(causal(offset), prefix(c.prefix ?? 0)),
    packed_documents_causal: () => and(causal(offset), documents(c.segments ?? [])),
  };
  const m = masks[c.name];
  assert.ok(m, `no mask for case ${c.name}`);
  return m();
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** softmax(q k^T * scale + bias, masked) v with the score matrix materialised. */
function plainBiased(
  q: T.Tensor,
  k: T.Tensor,
  v: T.Tensor,
  mask: AttendMask,
  bias: T.Tensor,
  scale: number,
): T.Tensor {
  const [, , Tq] = q.shape;
  const Tk = k.shape[2];
  const mb = mask.batch ?? 1;
  const grid = mask.attendGrid(mb, Tq, Tk);
  const keep = new T.Tensor(Int32Array.from(grid), [mb, 1, Tq, Tk]);
  const scores = T.add(T.mul(T.matmul(q, k, { transB: true }), scale), bias);
  const p = T.softmax(T.fillWhereNot(scores, keep, -1e30));
  const rowHas = new Int32Array(mb * Tq);
  for (let r = 0; r < rowHas.length; r++)
    for (let j = 0; j < Tk; j++) rowHas[r] |= grid[r * Tk + j];
  const pz = T.where(new T.Tensor(rowHas, [mb, 1, Tq, 1]), p, T.zeros([1]));
  return T.matmul(pz, v);
}

forEachBackend("attention with an additive bias", () => {
  const cases: Case[] = existsSync(join(refDir, "index.json"))
    ? JSON.parse(readFileSync(join(refDir, "index.json"), "utf8")).cases
    : [];
  test("the shared cases' masks exist here", () => assert.equal(cases.length, 6));
  for (const c of cases) {
    test(`${c.name}: biased equals the materialised form, shared and per-row bias`, () => {
      const rng = new Rng(c.Tq * 31 + c.Tk);
      const q = randomTensor([c.B, c.H, c.Tq, c.Dh], rng);
      const k = randomTensor([c.B, c.H, c.Tk, c.Dh], rng);
      const v = randomTensor([c.B, c.H, c.Tk, c.Dh], rng);
      const mask = maskFor(c);
      for (const shape of [
        [c.H, c.Tq, c.Tk],
        [c.B, c.H, c.Tq, c.Tk],
      ]) {
        const bias = randomTensor(shape, rng, 2);
        for (const scale of [1, 1 / Math.sqrt(c.Dh)]) {
          for (const skipBlocks of [true, false]) {
            const o = attention(q, k, v, mask, { bias, scale, blockQ: 2, blockK: 2, skipBlocks });
            const want = plainBiased(q, k, v, mask, bias, scale);
            assert.ok(maxDiff(o.f32, want.f32) < 2e-5, `${shape}: ${maxDiff(o.f32, want.f32)}`);
          }
        }
        // The weights for inspection include the bias too.
        const w = attentionWeights(q, k, mask, 1, bias);
        const wv = T.matmul(w, v);
        const want = plainBiased(q, k, v, mask, bias, 1);
        assert.ok(maxDiff(wv.f32, want.f32) < 2e-5, `weights ${shape}`);
      }
    });
  }

  test("gradients of q, k, v and the bias against finite differences", () => {
    const rng = new Rng(5);
    const B = 2;
    const H = 2;
    const T_ = 6;
    const Dh = 3;
    // Row 1 has 2 real keys: its padding queries 0..1 see something, all of row 1's queries
    // past the causal edge keep seeing only those two; a length 0 row would see nothing.
    const masks: [string, AttendMask][] = [
      ["causal & padding", and(causal(), keyPadding([6, 2]))],
      ["padding with an empty row", keyPadding([4, 0])],
    ];
    for (const [name, mask] of masks) {
      for (const shape of [
        [H, T_, T_],
        [B, H, T_, T_],
      ]) {
        for (const dropout of [0, 0.25]) {
          const q = randomTensor([B, H, T_, Dh], rng);
          const k = randomTensor([B, H, T_, Dh], rng);
          const v = randomTensor([B, H, T_, Dh], rng);
          const bias = randomTensor(shape, rng);
          const o = { training: true, dropout, seed: 9, blockQ: 2, blockK: 4, scale: 1 };
          gradcheck(
            `${name}, bias [${shape}], dropout ${dropout}`,
            (a, b, c, d) => attention(a, b, c, mask, { ...o, bias: d }),
            [q, k, v, bias],
            { samples: 12 },
          );
        }
      }
    }
  });

  test("the bias's gradient is zero where masked and summed over the batch when shared", () => {
    const rng = new Rng(6);
    const q = randomTensor([3, 1, 4, 2], rng);
    const k = randomTensor([3, 1, 4, 2], rng);
    const v = randomTensor([3, 1, 4, 2], rng);
    const mask = and(causal(), keyPadding([4, 3, 0]));
    const shared = T.parameter(randomTensor([1, 4, 4], rng));
    const perRow = T.parameter(
      new T.Tensor(
        new Float32Array(3 * 16).map((_, i) => shared.f32[i % 16]),
        [3, 1, 4, 4],
      ),
    );
    const dout = randomTensor([3, 1, 4, 2], rng);
    T.backward(attention(q, k, v, mask, { bias: shared }), dout);
    T.backward(attention(q, k, v, mask, { bias: perRow }), dout);
    const gs = shared.grad?.f32 ?? new Float32Array(0);
    const gr = perRow.grad?.f32 ?? new Float32Array(0);
    const grid = mask.attendGrid(3, 4, 4);
    for (let b = 0; b < 3; b++)
      for (let x = 0; x < 16; x++) if (!grid[b * 16 + x]) assert.equal(gr[b * 16 + x], 0);
    for (let x = 0; x < 16; x++) {
      const sum = gr[x] + gr[16 + x] + gr[32 + x];
      assert.ok(Math.abs(gs[x] - sum) < 1e-6, `[${x}] ${gs[x]} vs ${sum}`);
    }
    assert.ok(gs.some((g) => g !== 0));
  });

  test("a -Infinity bias leaves its key out; a row of them outputs 0 with finite gradients", () => {
    const rng = new Rng(7);
    const q = T.parameter(randomTensor([1, 2, 3, 4], rng));
    const k = T.parameter(randomTensor([1, 2, 5, 4], rng));
    const v = T.parameter(randomTensor([1, 2, 5, 4], rng));
    const b = randomTensor([2, 3, 5], rng);
    b.f32[2] = Number.NEGATIVE_INFINITY; // head 0, query 0, key 2
    b.f32.fill(Number.NEGATIVE_INFINITY, 5, 10); // head 0, query 1: every key
    const bias = T.parameter(b);
    const o = attention(q, k, v, null, { bias, blockQ: 2, blockK: 2 });
    // The materialised form with -1e30 in place of -Infinity weighs those keys 0 too, except in
    // the row that has nothing left, which it averages and the kernel zeroes.
    const finite = new T.Tensor(
      b.f32.map((x) => (x === Number.NEGATIVE_INFINITY ? -1e30 : x)),
      [2, 3, 5],
    );
    const want = plainBiased(q, k, v, full(), finite, 0.5);
    for (let i = 0; i < o.size; i++) {
      if (i >= 4 && i < 8) assert.equal(o.f32[i], 0, "head 0, query 1 outputs 0");
      else assert.ok(Math.abs(o.f32[i] - want.f32[i]) < 1e-5, `[${i}]`);
    }
    T.backward(o, randomTensor([1, 2, 3, 4], rng));
    for (const p of [q, k, v, bias]) assert.ok(p.grad?.f32.every(Number.isFinite));
    const gb = bias.grad?.f32 ?? new Float32Array(0);
    assert.ok(gb.subarray(5, 10).every((x) => x === 0) && gb[2] === 0, "no gradient there");
  });

  test("a bias of the wrong shape is an error naming the sizes", () => {
    const z = (s: number[]) => T.zeros(s);
    const q = z([2, 2, 3, 4]);
    for (const shape of [
      [3, 3, 3],
      [2, 2, 2, 3, 3],
      [3, 2, 3, 3],
      [2, 3, 4],
    ]) {
      assert.throws(
        () => attention(q, q, q, null, { bias: z(shape) }),
        /attention bias float32 .* does not fit B 2, H 2, Tq 3, Tk 3/,
      );
    }
    assert.throws(
      () => attention(q, q, q, null, { bias: T.zeros([2, 3, 3], "int32") }),
      /bias int32/,
    );
  });
});
