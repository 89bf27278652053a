// Attention on the kept rows (attentionRows, AttentionArgs' row layout): the output and all three
// gradients are exactly those of laying the rows out by head, attending, and taking the rows back
// (rowsToHeads / attention / headsToRows), on both backends; self- and cross-attention with right
// and left padding and a hole, a score bias (with its gradient), dropout, accumulation into
// existing gradients, and finite differences. Slots that name no row are refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { attention, attentionArgs, attentionRows } from "../../src/attention/fused.js";
import {
  type AttendMask,
  and,
  causal,
  keyPaddingFromAttentionMask,
} from "../../src/attention/masks.js";
import { headsToRows, rowsToHeads, type Unpadded } from "../../src/attention/unpadded.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { nativeBackend } from "../../src/node/backend.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";
import { kMask, kRows, outputAndGradients, qMask, qRows } from "../helpers/row-layouts.js";

const H = 2;
const Dh = 3;
const D = H * Dh;

interface Case {
  name: string;
  keys: Unpadded;
  mask: AttendMask;
  bias?: () => T.Tensor;
  dropout?: number;
}

const CASES: Case[] = [
  {
    name: "self-attention, causal and padding",
    keys: qRows,
    mask: qRows.maskQueries(and(causal(), keyPaddingFromAttentionMask(qMask))),
  },
  {
    name: "cross-attention, source padding",
    keys: kRows,
    mask: qRows.maskQueries(keyPaddingFromAttentionMask(kMask)),
  },
  {
    name: "self-attention with a shared bias and dropout",
    keys: qRows,
    mask: qRows.maskQueries(keyPaddingFromAttentionMask(qMask)),
    bias: () => randomTensor([H, 5, 5], new Rng(9)),
    dropout: 0.3,
  },
  {
    name: "cross-attention with a per-row bias",
    keys: kRows,
    mask: qRows.maskQueries(keyPaddingFromAttentionMask(kMask)),
    bias: () => randomTensor([3, H, 5, 4], new Rng(10)),
  },
];

/** attention through the head layout: the definition attentionRows must reproduce. */
function viaHeads(q: T.Tensor, k: T.Tensor, v: T.Tensor, c: Case, bias: T.Tensor | null) {
  const o = attention(
    rowsToHeads(q, qRows, H),
    rowsToHeads(k, c.keys, H),
    rowsToHeads(v, c.keys, H),
    c.mask,
    { bias, dropout: c.dropout, training: c.dropout !== undefined, seed: 5 },
  );
  return headsToRows(o, qRows);
}

function viaRows(q: T.Tensor, k: T.Tensor, v: T.Tensor, c: Case, bias: T.Tensor | null) {
  return attentionRows(q, k, v, H, qRows, c.keys, c.mask, {
    bias,
    dropout: c.dropout,
    training: c.dropout !== undefined,
    seed: 5,
  });
}

/** viaHeads or viaRows on case c, as outputAndGradients takes it. */
function run(
  f: typeof viaRows,
  c: Case,
  inputs: T.Tensor[],
  w: T.Tensor,
  existing: boolean,
): Float32Array[] {
  return outputAndGradients((q, k, v, bias) => f(q, k, v, c, bias), inputs, w, existing);
}

forEachBackend("attention on kept rows", () => {
  for (const c of CASES) {
    test(`${c.name}: the head layout's output and gradients, bit for bit`, () => {
      const rng = new Rng(3);
      const inputs = [
        randomTensor([qRows.count, D], rng),
        randomTensor([c.keys.count, D], rng),
        randomTensor([c.keys.count, D], rng),
      ];
      if (c.bias) inputs.push(c.bias());
      const w = randomTensor([qRows.count, D], rng);
      for (const existing of [false, true]) {
        const want = run(viaHeads, c, inputs, w, existing);
        const got = run(viaRows, c, inputs, w, existing);
        const names = ["out", "dq", "dk", "dv", "dbias"];
        got.forEach((g, i) => {
          assert.deepEqual(g, want[i], `${names[i]}${existing ? " (accumulated)" : ""}`);
        });
        assert.ok(want[0].some((x) => x !== 0) && want[1].some((x) => x !== 0));
      }
    });
  }

  test("gradients against finite differences", () => {
    const rng = new Rng(4);
    const c = CASES[1];
    gradcheck("attentionRows", (q, k, v) => attentionRows(q, k, v, H, qRows, c.keys, c.mask), [
      randomTensor([qRows.count, D], rng),
      randomTensor([kRows.count, D], rng),
      randomTensor([kRows.count, D], rng),
    ]);
  });

  test("wrong shapes are reported", () => {
    const q = T.zeros([qRows.count, D]);
    const k = T.zeros([kRows.count, D]);
    const more = T.zeros([kRows.count + 1, D]);
    assert.throws(
      () => attentionRows(q, more, more, H, qRows, kRows, null),
      /attention on rows needs/,
    );
    assert.throws(() => attentionRows(q, k, k, 4, qRows, kRows, null), /Hkv dividing 4/);
  });
});

test("both backends refuse slots that name no row, naming the field", () => {
  const rng = new Rng(5);
  const q = randomTensor([1, H, 2, Dh], rng);
  const args = attentionArgs(q, q, q, null);
  const backends = [new ReferenceBackend(), nativeBackend()].filter((b) => typeof b !== "string");
  for (const b of backends) {
    if (typeof b === "string") continue;
    const rows = {
      ...args,
      q: new Float32Array(2 * D),
      k: new Float32Array(2 * D),
      v: new Float32Array(2 * D),
    };
    const out = new Float32Array(2 * D);
    const lse = new Float32Array(H * 2);
    // Positions 0 and 1 at rows 1 and 0: fine; a row 2 does not exist.
    b.attentionForward(
      { ...rows, qSlots: Int32Array.of(1, 0), kSlots: Int32Array.of(0, -1) },
      out,
      lse,
    );
    assert.throws(
      () =>
        b.attentionForward(
          { ...rows, qSlots: Int32Array.of(2, 0), kSlots: Int32Array.of(0, 1) },
          out,
          lse,
        ),
      /qSlots.*row 2/,
      b.name,
    );
    assert.throws(
      () =>
        b.attentionForward(
          { ...rows, qSlots: Int32Array.of(0, 1), kSlots: Int32Array.of(0, -2) },
          out,
          lse,
        ),
      /kSlots.*row -2/,
      b.name,
    );
  }
});
