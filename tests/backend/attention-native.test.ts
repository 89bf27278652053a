// The native fused attention against the reference kernel on the same arguments (dropout
// included: both hash the same element indices), and its argument validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { attentionArgs } from "../../src/attention/fused.js";
import { and, causal, documents, keyPadding, or, prefix } from "../../src/attention/masks.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { nativeBackend } from "../../src/node/backend.js";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import {
  type AttentionArgs,
  attentionKeep,
  type Backend,
  dropoutHash,
} from "../../src/tensor/backend.js";
import { tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/util/rng.js";
import { randomTensor } from "../helpers/gradcheck.js";

const native = nativeBackend();
const mustHave = process.env.CI === "true" || process.env.MASKWISE_REQUIRE_NATIVE === "1";

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/**
 * The native run equals the reference's: each array within 2e-5 of its largest value (at least
 * 1), and the log-sum-exp within 1e-4, -Infinity (an empty row) exactly.
 */
function assertSameRun<K extends string>(
  a: Record<K | "lse", Float32Array>,
  b: Record<K | "lse", Float32Array>,
  keys: readonly K[],
  what: string,
): void {
  for (const key of keys) {
    const scale = Math.max(1, ...a[key].map(Math.abs));
    assert.ok(
      maxDiff(a[key], b[key]) <= 2e-5 * scale,
      `${what} ${key}: ${maxDiff(a[key], b[key])}`,
    );
  }
  a.lse.forEach((x, i) => {
    if (x === Number.NEGATIVE_INFINITY) assert.equal(b.lse[i], x);
    else assert.ok(Math.abs(x - b.lse[i]) < 1e-4, `${what} lse`);
  });
}

/**
 * attentionBackward with accumulate false on garbage (NaN) gradients gives the bits that
 * accumulating into zeros gave (`want`); dbias still accumulates.
 */
function writesFresh(
  be: Backend,
  args: AttentionArgs,
  out: Float32Array,
  lse: Float32Array,
  dout: Float32Array,
  want: { dq: Float32Array; dk: Float32Array; dv: Float32Array },
  dbias: Float32Array | null,
  label: string,
): void {
  const garbage = (n: number) => new Float32Array(n).fill(Number.NaN);
  const dq = garbage(want.dq.length);
  const dk = garbage(want.dk.length);
  const dv = garbage(want.dv.length);
  const db = dbias ? new Float32Array(dbias.length) : null;
  be.attentionBackward(args, out, lse, dout, dq, dk, dv, db, false);
  assert.deepEqual({ dq, dk, dv }, want, `${label}: written gradients`);
  if (dbias && db) assert.deepEqual(db, dbias, `${label}: dbias`);
}

/** The GEMM ISAs this CPU runs (the tiles' key transpose follows the selected one). */
function isas(): { names: string[]; select: (isa: string) => void } {
  const loaded = loadNativeAddon();
  if ("error" in loaded) return { names: [], select: () => {} };
  const all = ["portable", "avx2", "avx512"];
  return {
    names: all.slice(0, all.indexOf(loaded.addon.cpuIsa()) + 1),
    select: (isa) => loaded.addon.setGemmIsa(isa),
  };
}

test("native attention equals the reference kernel, forward and backward, on every ISA", (t) => {
  if (typeof native === "string") {
    if (mustHave) assert.fail(`native backend unavailable: ${native}`);
    t.skip(native);
    return;
  }
  const ref = new ReferenceBackend();
  const { names, select } = isas();
  const best = names[names.length - 1];
  try {
    for (const isa of names) {
      select(isa);
      trials(ref, native, isa);
    }
  } finally {
    select(best);
  }
});

function trials(ref: Backend, native: Backend, isa: string): void {
  const rng = new Rng(31);
  for (let trial = 0; trial < 20; trial++) {
    const B = 1 + rng.int(3);
    const H = 1 + rng.int(3);
    const Tk = 1 + rng.int(70);
    const offset = rng.int(3);
    const Tq = Math.max(1, Tk - offset - rng.int(3));
    const Dh = [1, 7, 16, 64][rng.int(4)];
    const lengths = Array.from({ length: B }, () => rng.int(Tk + 1));
    const segs = Array.from({ length: Tk }, (_, i) => Math.floor(i / 9));
    const mask = [
      and(causal(offset), keyPadding(lengths)),
      keyPadding(lengths),
      or(causal(offset), prefix(3)),
      and(causal(), documents(segs)),
    ][trial % 4];
    const q = randomTensor([B, H, Tq, Dh], rng);
    const k = randomTensor([B, H, Tk, Dh], rng);
    const v = randomTensor([B, H, Tk, Dh], rng);
    const dout = randomTensor([B, H, Tq, Dh], rng).f32;
    const dropout = trial % 3 === 0 ? 0.2 : 0;
    const args = attentionArgs(q, k, v, trial % 4 === 3 && Tq !== Tk ? keyPadding(lengths) : mask, {
      blockQ: 1 + rng.int(40),
      blockK: 1 + rng.int(40),
      skipBlocks: trial % 2 === 0,
      training: true,
      dropout,
      seed: 1000 + trial,
    });
    const run = (be: Backend) => {
      const out = new Float32Array(B * H * Tq * Dh);
      const lse = new Float32Array(B * H * Tq);
      be.attentionForward(args, out, lse);
      const dq = new Float32Array(q.size);
      const dk = new Float32Array(k.size);
      const dv = new Float32Array(v.size);
      be.attentionBackward(args, out, lse, dout, dq, dk, dv);
      writesFresh(be, args, out, lse, dout, { dq, dk, dv }, null, `trial ${trial} ${be.name}`);
      return { out, lse, dq, dk, dv };
    };
    const a = run(ref);
    const b = run(native);
    assertSameRun(a, b, ["out", "dq", "dk", "dv"], `${isa} trial ${trial}`);
  }
}

test("native attention rejects bad arguments with a named error", (t) => {
  if (typeof native === "string") {
    if (mustHave) assert.fail(`native backend unavailable: ${native}`);
    t.skip(native);
    return;
  }
  const rng = new Rng(1);
  const q = randomTensor([1, 1, 4, 8], rng);
  const good = attentionArgs(q, q, q, causal());
  const out = new Float32Array(32);
  const lse = new Float32Array(4);
  const bad: [Partial<typeof good>, RegExp][] = [
    [{ q: new Float32Array(3) }, /array 'q' is too short/],
    [{ attend: new Uint8Array(2) }, /array 'attend' is too short/],
    [{ blocks: new Uint8Array(0) }, /array 'blocks' is too short/],
    [{ maskBatch: 3 }, /maskBatch' must be 1 or B/],
    [{ blockQ: 0 }, /blockQ' must be an integer >= 1/],
    [{ dropout: 1 }, /dropout' must be in \[0, 1\)/],
    [{ Dh: Number.NaN }, /Dh' must be an integer/],
    [{ scale: Number.POSITIVE_INFINITY }, /scale' must be finite/],
  ];
  for (const [change, pattern] of bad) {
    assert.throws(() => native.attentionForward({ ...good, ...change }, out, lse), pattern);
  }
  assert.throws(
    () => native.attentionForward(good, new Float32Array(2), lse),
    /array 'out' is too short/,
  );
  assert.throws(
    () => native.attentionBackward(good, out, lse, out, out, out, new Float32Array(1)),
    /array 'dv' is too short/,
  );
});

test("attention dropout: a probability between two floats drops what the reference drops", (t) => {
  if (typeof native === "string") {
    if (mustHave) assert.fail(`native backend unavailable: ${native}`);
    t.skip(native);
    return;
  }
  // Key 1's hash h (seed 0, index 1) against p just above h / 2^32: the reference drops it.
  // Rounded to float, such a p can fall to or below h / 2^32, which would keep it: the
  // probability must reach the kernel in double.
  const h = dropoutHash(0, 1);
  let p = h / 4294967296 + 2 ** -50;
  for (let k = 2; Math.fround(p) > h / 4294967296 && k < 40; k++) p = (h + k / 64) / 4294967296;
  assert.ok(Math.fround(p) <= h / 4294967296 && p > h / 4294967296, "a p between two floats");
  const q = tensor([1], [1, 1, 1, 1]);
  const kv = tensor([1, 2], [1, 1, 2, 1]);
  const args = attentionArgs(q, kv, kv, null, { dropout: p, seed: 0, training: true });
  const run = (be: {
    attentionForward: (a: typeof args, o: Float32Array, l: Float32Array) => void;
  }) => {
    const out = new Float32Array(1);
    be.attentionForward(args, out, new Float32Array(1));
    return out[0];
  };
  const want = run(new ReferenceBackend());
  assert.equal(attentionKeep(0, 1, p), false);
  assert.ok(Math.abs(run(native) - want) < 1e-6, `${run(native)} vs ${want}`);
});

test("native biased attention equals the reference: shared and per-row bias, dropout, empty rows", (t) => {
  if (typeof native === "string") {
    if (mustHave) assert.fail(`native backend unavailable: ${native}`);
    t.skip(native);
    return;
  }
  const ref = new ReferenceBackend();
  const rng = new Rng(41);
  for (let trial = 0; trial < 24; trial++) {
    const B = 1 + rng.int(3);
    const H = 1 + rng.int(3);
    const Tk = 1 + rng.int(70);
    const offset = rng.int(3);
    const Tq = Math.max(1, Tk - offset - rng.int(3));
    const Dh = [1, 7, 16, 64][rng.int(4)];
    // Some rows have no key at all: their queries see nothing.
    const lengths = Array.from({ length: B }, () => (rng.uniform() < 0.25 ? 0 : rng.int(Tk + 1)));
    const mask = [
      and(causal(offset), keyPadding(lengths)),
      keyPadding(lengths),
      or(causal(offset), prefix(3)),
    ][trial % 3];
    const q = randomTensor([B, H, Tq, Dh], rng);
    const k = randomTensor([B, H, Tk, Dh], rng);
    const v = randomTensor([B, H, Tk, Dh], rng);
    const shared = trial % 2 === 0;
    const bias = randomTensor(shared ? [H, Tq, Tk] : [B, H, Tq, Tk], rng, 2);
    // A few -Infinity entries: left out like masked ones.
    for (let n = 0; n < 3; n++) bias.f32[rng.int(bias.size)] = Number.NEGATIVE_INFINITY;
    const dout = randomTensor([B, H, Tq, Dh], rng).f32;
    const args = attentionArgs(q, k, v, mask, {
      blockQ: 1 + rng.int(40),
      blockK: 1 + rng.int(40),
      skipBlocks: trial % 4 < 2,
      training: true,
      dropout: trial % 3 === 1 ? 0.2 : 0,
      seed: 2000 + trial,
      scale: trial % 5 === 0 ? 1 : 1 / Math.sqrt(Dh),
      bias,
    });
    const run = (be: Backend) => {
      const out = new Float32Array(B * H * Tq * Dh);
      const lse = new Float32Array(B * H * Tq);
      be.attentionForward(args, out, lse);
      const dq = new Float32Array(q.size);
      const dk = new Float32Array(k.size);
      const dv = new Float32Array(v.size);
      const dbias = new Float32Array(bias.size);
      be.attentionBackward(args, out, lse, dout, dq, dk, dv, dbias);
      writesFresh(be, args, out, lse, dout, { dq, dk, dv }, dbias, `trial ${trial} ${be.name}`);
      return { out, lse, dq, dk, dv, dbias };
    };
    const a = run(ref);
    const b = run(native);
    for (const key of ["out", "dq", "dk", "dv", "dbias"] as const)
      assert.ok(b[key].every(Number.isFinite), `trial ${trial} ${key} finite`);
    assertSameRun(a, b, ["out", "dq", "dk", "dv", "dbias"], `trial ${trial}`);
  }
});

test("with a bias, fully masked blocks are still skipped (they are never read)", (t) => {
  if (typeof native === "string") {
    if (mustHave) assert.fail(`native backend unavailable: ${native}`);
    t.skip(native);
    return;
  }
  // Keys 8..15 are padding: with blocks of 8 keys their block is class 0 for every query. NaN in
  // those keys' values and bias reaches the output only if the block is computed: without
  // skipping, a masked weight of 0 times a NaN value is NaN; with skipping nothing reads them.
  const rng = new Rng(12);
  const q = randomTensor([1, 2, 8, 4], rng);
  const k = randomTensor([1, 2, 16, 4], rng);
  const v = randomTensor([1, 2, 16, 4], rng);
  const bias = randomTensor([2, 8, 16], rng);
  for (let h = 0; h < 2; h++) {
    v.f32.fill(Number.NaN, (h * 16 + 8) * 4, (h * 16 + 16) * 4);
    for (let i = 0; i < 8; i++)
      bias.f32.fill(Number.NaN, (h * 8 + i) * 16 + 8, (h * 8 + i + 1) * 16);
  }
  const mask = keyPadding([8]);
  const run = (skipBlocks: boolean) => {
    const args = attentionArgs(q, k, v, mask, { blockQ: 4, blockK: 8, skipBlocks, bias });
    const out = new Float32Array(64);
    const lse = new Float32Array(16);
    native.attentionForward(args, out, lse);
    const g = { dq: new Float32Array(64), dk: new Float32Array(128), dv: new Float32Array(128) };
    const dbias = new Float32Array(256);
    native.attentionBackward(args, out, lse, out, g.dq, g.dk, g.dv, dbias);
    return { out, dq: g.dq, dbias };
  };
  const skipped = run(true);
  assert.ok(skipped.out.every(Number.isFinite), "skipped blocks are not read");
  assert.ok(skipped.dq.every(Number.isFinite), "nor in the backward pass");
  assert.ok(skipped.dbias.every((x, i) => (i % 16 < 8 ? Number.isFinite(x) : x === 0)));
  assert.ok(run(false).out.some(Number.isNaN), "without skipping the NaN values are read");
});

test("native attention rejects a bad bias with a named error", (t) => {
  if (typeof native === "string") {
    if (mustHave) assert.fail(`native backend unavailable: ${native}`);
    t.skip(native);
    return;
  }
  const rng = new Rng(2);
  const q = randomTensor([2, 1, 4, 8], rng);
  const good = attentionArgs(q, q, q, causal(), { bias: randomTensor([1, 4, 4], rng) });
  const out = new Float32Array(64);
  const lse = new Float32Array(8);
  assert.throws(
    () => native.attentionForward({ ...good, bias: new Float32Array(15) }, out, lse),
    /array 'bias' is too short/,
  );
  assert.throws(
    () => native.attentionForward({ ...good, biasBatch: 2 }, out, lse),
    /array 'bias' is too short/,
  );
  assert.throws(
    () => native.attentionForward({ ...good, biasBatch: 3 }, out, lse),
    /biasBatch' must be 1 or B/,
  );
  const g = new Float32Array(64);
  assert.throws(
    () => native.attentionBackward(good, out, lse, g, g, g, g, new Float32Array(3)),
    /array 'dbias' is too short/,
  );
  assert.throws(
    () => native.attentionBackward({ ...good, bias: null }, out, lse, g, g, g, g, g),
    /'dbias' needs a bias/,
  );
  const ref = new ReferenceBackend();
  assert.throws(
    () => ref.attentionForward({ ...good, bias: new Float32Array(15) }, out, lse),
    /bias holds 15 values/,
  );
  assert.throws(
    () => ref.attentionBackward({ ...good, bias: null }, out, lse, g, g, g, g, g),
    /dbias is given/,
  );
});
