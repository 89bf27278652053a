// The mask algebra against direct definitions: every constructor and combination materialises
// to the grid its definition gives, and block classification is never wrong (None blocks hold no
// allowed pair, All blocks no forbidden one), on random parameters.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AttendMask,
  and,
  Block,
  causal,
  documents,
  fromAdditiveBias,
  fromTorchBlockedMask,
  fromTorchKeyPaddingMask,
  keptQueries,
  keyPadding,
  keyPaddingFromAttentionMask,
  or,
  prefix,
  prefixLM,
  slidingWindow,
} from "../../src/attention/masks.js";
import { parseMaskSpec } from "../../src/attention/spec.js";
import { Rng } from "../../src/util/rng.js";

type Def = (b: number, i: number, j: number) => boolean;

function assertGrid(mask: AttendMask, def: Def, B: number, Tq: number, Tk: number, label: string) {
  const grid = mask.attendGrid(B, Tq, Tk);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < Tq; i++) {
      for (let j = 0; j < Tk; j++) {
        assert.equal(
          grid[(b * Tq + i) * Tk + j] === 1,
          def(b, i, j),
          `${label}: b=${b} i=${i} j=${j}`,
        );
      }
    }
  }
}

function assertBlocksSound(
  mask: AttendMask,
  B: number,
  Tq: number,
  Tk: number,
  rng: Rng,
  label: string,
) {
  for (let trial = 0; trial < 60; trial++) {
    const b = rng.int(B);
    const i0 = rng.int(Tq);
    const i1 = i0 + 1 + rng.int(Tq - i0);
    const j0 = rng.int(Tk);
    const j1 = j0 + 1 + rng.int(Tk - j0);
    const c = mask.block(b, i0, i1, j0, j1);
    let any = false;
    let all = true;
    for (let i = i0; i < i1; i++) {
      for (let j = j0; j < j1; j++) {
        if (mask.allows(b, i, j)) any = true;
        else all = false;
      }
    }
    if (c === Block.None) assert.ok(!any, `${label}: block ${i0}-${i1}x${j0}-${j1} said None`);
    if (c === Block.All) assert.ok(all, `${label}: block ${i0}-${i1}x${j0}-${j1} said All`);
  }
}

describe("mask constructors match their definitions", () => {
  const rng = new Rng(11);
  test("random parameters, grids and blocks", () => {
    for (let trial = 0; trial < 40; trial++) {
      const B = 1 + rng.int(3);
      const Tk = 1 + rng.int(12);
      const offset = rng.int(4);
      const Tq = Math.max(1, Tk - offset);
      const lengths = Array.from({ length: B }, () => rng.int(Tk + 1));
      const W = 1 + rng.int(5);
      const P = rng.int(Tk + 1);
      let seg = 0;
      const segments = Array.from({ length: Tk }, () => (rng.uniform() < 0.3 ? ++seg : seg));
      // Kept queries: arrays as long as Tq or shorter (the rest not kept).
      const kept = Array.from({ length: B }, () =>
        Uint8Array.from({ length: rng.int(Tq + 1) }, () => (rng.uniform() < 0.7 ? 1 : 0)),
      );
      const isKept = (b: number, i: number) => i < kept[b].length && kept[b][i] === 1;
      const cases: [string, AttendMask, Def][] = [
        ["causal", causal(offset), (_b, i, j) => j <= i + offset],
        ["kept queries", keptQueries(kept), (b, i) => isKept(b, i)],
        [
          "causal & padding & kept queries",
          and(causal(offset), keyPadding(lengths), keptQueries(kept)),
          (b, i, j) => j <= i + offset && j < lengths[b] && isKept(b, i),
        ],
        [
          "kept queries | prefix",
          or(keptQueries(kept), prefix(P)),
          (b, i, j) => isKept(b, i) || j < P,
        ],
        ["padding", keyPadding(lengths), (b, _i, j) => j < lengths[b]],
        ["window", slidingWindow(W, offset), (_b, i, j) => j <= i + offset && j > i + offset - W],
        ["prefix", prefix(P), (_b, _i, j) => j < P],
        [
          "documents",
          documents(segments, offset),
          (_b, i, j) => i + offset < Tk && segments[i + offset] === segments[j],
        ],
        ["prefixLM", prefixLM(P, offset), (_b, i, j) => j <= i + offset || j < P],
        [
          "causal & padding",
          and(causal(offset), keyPadding(lengths)),
          (b, i, j) => j <= i + offset && j < lengths[b],
        ],
        [
          "causal & documents | prefix",
          or(and(causal(offset), documents(segments, offset)), prefix(P)),
          (_b, i, j) =>
            (j <= i + offset && i + offset < Tk && segments[i + offset] === segments[j]) || j < P,
        ],
        [
          "window & padding",
          slidingWindow(W, offset).and(keyPadding(lengths)),
          (b, i, j) => j <= i + offset && j > i + offset - W && j < lengths[b],
        ],
      ];
      for (const [label, mask, def] of cases) {
        assertGrid(mask, def, B, Tq, Tk, label);
        assertBlocksSound(mask, B, Tq, Tk, rng, label);
      }
    }
  });

  test("causal with a cache offset is bottom-right aligned", () => {
    // 2 new queries after 4 cached keys: the first sees 5 keys, the second all 6.
    assert.deepEqual(causal(4).toBooleans(1, 2, 6), [
      [
        [true, true, true, true, true, false],
        [true, true, true, true, true, true],
      ],
    ]);
  });

  test("Hugging Face attention masks, left padding included", () => {
    const m = keyPaddingFromAttentionMask([
      [0, 0, 1, 1],
      [1, 1, 1, 0],
    ]);
    assertGrid(m, (b, _i, j) => (b === 0 ? j >= 2 : j < 3), 2, 3, 4, "hf");
    assert.throws(() => keyPaddingFromAttentionMask([[2, 1]]), /must be 1 \(real\) or 0/);
    // The [B, T] tensor form gives the same mask, and names the offending element.
    const t = keyPaddingFromAttentionMask({
      data: Int32Array.of(0, 0, 1, 1, 1, 1, 1, 0),
      shape: [2, 4],
    });
    assert.deepEqual(t.toBooleans(2, 3, 4), m.toBooleans(2, 3, 4));
    assert.equal(t.describe(), "padding(attention_mask 2x4)");
    assert.throws(
      () => keyPaddingFromAttentionMask({ data: Int32Array.of(1, 1, 1, 3), shape: [2, 2] }),
      /attention_mask\[1\]\[1\] is 3/,
    );
    assert.throws(
      () => keyPaddingFromAttentionMask({ data: Int32Array.of(1, 1), shape: [2] }),
      /must be \[B, T\]/,
    );
  });

  test("converters flip PyTorch's true = ignore", () => {
    const kp = fromTorchKeyPaddingMask([[false, false, true]]);
    assert.deepEqual(kp.toBooleans(1, 1, 3), [[[true, true, false]]]);
    const blocked = fromTorchBlockedMask([
      [false, true],
      [false, false],
    ]);
    assert.deepEqual(blocked.toBooleans(1, 2, 2), causal().toBooleans(1, 2, 2));
    const bias = fromAdditiveBias([
      [
        [0, Number.NEGATIVE_INFINITY],
        [0, -3.4e38],
      ],
    ]);
    assert.deepEqual(bias.toBooleans(1, 2, 2), [
      [
        [true, false],
        [true, false],
      ],
    ]);
  });

  test("block maps skip the causal upper triangle and padded tails", () => {
    const m = and(causal(), keyPadding([8, 4]));
    const map = m.blockMap(2, 8, 8, 4, 4);
    // Row 0: [[mixed, none], [all, mixed]]; row 1 (4 real keys): [[mixed, none], [all, none]].
    assert.deepEqual(Array.from(map), [
      Block.Mixed,
      Block.None,
      Block.All,
      Block.Mixed,
      Block.Mixed,
      Block.None,
      Block.All,
      Block.None,
    ]);
  });

  test("batch mismatches are reported", () => {
    assert.throws(
      () => keyPadding([3, 2]).attendGrid(3, 2, 3),
      /has 2 batch rows, the attention has 3/,
    );
    assert.throws(() => and(keyPadding([1]), keyPadding([1, 2])), /1 and 2 batch rows/);
  });
});

describe("mask specs", () => {
  test("& binds tighter than |", () => {
    const p = { lengths: [4, 2], prefix: 1 };
    const parsed = parseMaskSpec("causal & padding | prefix", p);
    const direct = or(and(causal(), keyPadding([4, 2])), prefix(1));
    assert.deepEqual(parsed.toBooleans(2, 4, 4), direct.toBooleans(2, 4, 4));
  });
  test("missing parameters and unknown names are clear", () => {
    assert.throws(() => parseMaskSpec("causal & padding"), /'padding' needs --lengths/);
    assert.throws(() => parseMaskSpec("causal & blah"), /unknown mask 'blah'/);
    assert.throws(() => parseMaskSpec("causal &"), /missing a mask/);
  });
});
