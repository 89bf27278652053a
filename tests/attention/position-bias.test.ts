// T5's relative-position buckets against a transcription of transformers'
// `_relative_position_bucket` (written here from its description, step by step in float32 as
// torch computes it), on a grid of distances for the bucket sizes of the shared T5 fixtures;
// T5's bias as a gather whose gradient reaches the table; ALiBi's slopes and bias; and the
// distance layout of the decoding kernel against the full [H, T, T] bias.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { AttentionCache } from "../../src/attention/cache.js";
import { attention } from "../../src/attention/fused.js";
import { and, causal, keyPadding } from "../../src/attention/masks.js";
import { MultiHeadAttention } from "../../src/attention/multi-head.js";
import {
  alibiBias,
  alibiDistanceBias,
  alibiSlopes,
  t5BucketIndex,
  t5DistanceBias,
  t5PositionBias,
  t5RelativePositionBucket,
} from "../../src/attention/position-bias.js";
import { slice } from "../../src/tensor/ops/shape.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";

const hfDir = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "hf");

/**
 * transformers' T5Attention._relative_position_bucket on one relative position (memory position
 * minus query position), each tensor operation rounded to float32 as torch does:
 *   relative_buckets = 0
 *   bidirectional: num_buckets //= 2; relative_buckets += (rp > 0) * num_buckets; rp = |rp|
 *   otherwise:     rp = -min(rp, 0)
 *   max_exact = num_buckets // 2
 *   large = max_exact + long(log(float(rp) / max_exact) / log(max_distance / max_exact)
 *                            * (num_buckets - max_exact))
 *   large = min(large, num_buckets - 1)
 *   relative_buckets += rp if rp < max_exact else large
 */
function hfBucket(rp: number, bidirectional: boolean, numBuckets: number, maxDistance: number) {
  const f32 = Math.fround;
  let relativeBuckets = 0;
  let n = numBuckets;
  let r = rp;
  if (bidirectional) {
    n = Math.floor(n / 2);
    relativeBuckets += (r > 0 ? 1 : 0) * n;
    r = Math.abs(r);
  } else {
    r = -Math.min(r, 0);
  }
  const maxExact = Math.floor(n / 2);
  const isSmall = r < maxExact;
  const pyLog = Math.log(maxDistance / maxExact); // a Python float, cast to the tensor's float32
  let large =
    maxExact +
    Math.trunc(f32(f32(f32(Math.log(f32(f32(r) / maxExact))) / f32(pyLog)) * (n - maxExact)));
  large = Math.min(large, n - 1);
  return relativeBuckets + (isSmall ? r : large);
}

test("T5 buckets equal transformers' on a grid of distances", () => {
  const sizes: [number, number][] = [
    [32, 128], // transformers' default, the t5_hfbuckets fixture
    [8, 6], // the t5 fixture
    [16, 32],
    [64, 256],
    [6, 20],
  ];
  for (const [numBuckets, maxDistance] of sizes) {
    for (const bidirectional of [true, false]) {
      for (let rp = -600; rp <= 600; rp++) {
        const want = hfBucket(rp, bidirectional, numBuckets, maxDistance);
        const got = t5RelativePositionBucket(rp, { bidirectional, numBuckets, maxDistance });
        assert.equal(got, want, `${numBuckets}/${maxDistance} ${bidirectional} rp ${rp}`);
      }
    }
  }
});

test("T5 buckets of 32 / 128 at the edges worked out by hand", () => {
  const enc = { bidirectional: true, numBuckets: 32, maxDistance: 128 };
  const dec = { bidirectional: false, numBuckets: 32, maxDistance: 128 };
  // Encoder: 16 per direction, exact below 8, then 8 + floor(log(d / 8) / log(16) * 8).
  const encoder: [number, number][] = [
    [0, 0],
    [-1, 1],
    [-7, 7],
    [-8, 8],
    [-16, 10],
    [-32, 12],
    [-64, 14],
    [-127, 15],
    [-1000, 15],
    [1, 17],
    [16, 26],
    [1000, 31],
  ];
  for (const [rp, b] of encoder) assert.equal(t5RelativePositionBucket(rp, enc), b, `enc ${rp}`);
  // Decoder: keys after the query are bucket 0; exact below 16, then 16 + floor(log(d / 16) /
  // log(8) * 16).
  const decoder: [number, number][] = [
    [5, 0],
    [0, 0],
    [-15, 15],
    [-16, 16],
    [-32, 21],
    [-64, 26],
    [-127, 31],
    [-128, 31],
  ];
  for (const [rp, b] of decoder) assert.equal(t5RelativePositionBucket(rp, dec), b, `dec ${rp}`);
});

test("the bucket index of the t5_hfbuckets fixture's sizes, with and without an offset", () => {
  const config = JSON.parse(readFileSync(join(hfDir, "t5_hfbuckets", "config.json"), "utf8"));
  const numBuckets = config.relative_attention_num_buckets;
  const maxDistance = config.relative_attention_max_distance;
  assert.deepEqual([numBuckets, maxDistance], [32, 128]);
  // Source 24 (encoder), target 20 (decoder), and decoding steps: 1 query after a cache.
  for (const [Tq, Tk, bidirectional, offset] of [
    [24, 24, true, 0],
    [20, 20, false, 0],
    [20, 24, true, 0],
    [1, 13, false, 12],
    [3, 20, false, 17],
  ] as const) {
    const idx = t5BucketIndex(Tq, Tk, { bidirectional, numBuckets, maxDistance, offset });
    assert.deepEqual(idx.shape, [Tq, Tk]);
    for (let i = 0; i < Tq; i++)
      for (let j = 0; j < Tk; j++)
        assert.equal(
          idx.i32[i * Tk + j],
          hfBucket(j - (i + offset), bidirectional, numBuckets, maxDistance),
        );
  }
  assert.throws(
    () => t5BucketIndex(2, 2, { bidirectional: true, numBuckets: 2, maxDistance: 8 }),
    /no exact bucket/,
  );
});

forEachBackend("T5 and ALiBi biases in attention", () => {
  test("multi-head attention on a cache, bias built from the cache length: as in one pass", () => {
    const rng = new Rng(8);
    const H = 2;
    const T = 6;
    const mha = new MultiHeadAttention(8, H, { rng });
    const x = randomTensor([2, T, 8], rng);
    const table = randomTensor([8, H], rng);
    const o = { bidirectional: false, numBuckets: 8, maxDistance: 6 };
    const biases = {
      t5: (Tq: number, Tk: number, offset: number) =>
        t5PositionBias(table, t5BucketIndex(Tq, Tk, { ...o, offset })),
      alibi: (Tq: number, Tk: number, offset: number) => alibiBias(H, Tq, Tk, offset),
    };
    for (const [name, bias] of Object.entries(biases)) {
      const whole = mha.forward(x, { mask: causal(), bias: bias(T, T, 0), scale: 1 }).out;
      const plain = mha.forward(x, { mask: causal(), scale: 1 }).out;
      assert.ok(
        whole.f32.some((y, i) => Math.abs(y - plain.f32[i]) > 1e-4),
        `${name}: the bias changes the output`,
      );
      const cache = new AttentionCache();
      for (let t = 0; t < T; t++) {
        const step = mha.forward(slice(x, 1, t, t + 1), {
          mask: (past) => causal(past),
          bias: (past) => bias(1, past + 1, past),
          scale: 1,
          cache,
        }).out;
        for (let b = 0; b < 2; b++)
          for (let d = 0; d < 8; d++) {
            const want = whole.f32[(b * T + t) * 8 + d];
            const got = step.f32[b * 8 + d];
            assert.ok(
              Math.abs(got - want) < 1e-5,
              `${name} step ${t} [${b}, ${d}]: ${got} vs ${want}`,
            );
          }
      }
    }
  });

  test("T5's bias is the table gathered by bucket; its gradient reaches the table", () => {
    const rng = new Rng(3);
    const H = 2;
    const o = { bidirectional: false, numBuckets: 8, maxDistance: 6 };
    const buckets = t5BucketIndex(5, 5, o);
    const table = randomTensor([8, H], rng);
    const bias = t5PositionBias(table, buckets);
    assert.deepEqual(bias.shape, [H, 5, 5]);
    for (let h = 0; h < H; h++)
      for (let x = 0; x < 25; x++)
        assert.equal(bias.f32[h * 25 + x], table.f32[buckets.i32[x] * H + h]);
    const q = randomTensor([2, H, 5, 3], rng);
    const k = randomTensor([2, H, 5, 3], rng);
    const v = randomTensor([2, H, 5, 3], rng);
    const mask = and(causal(), keyPadding([5, 3]));
    gradcheck(
      "attention with T5's bias, d/d table",
      (t, a, b, c) => attention(a, b, c, mask, { bias: t5PositionBias(t, buckets), scale: 1 }),
      [table, q, k, v],
      { samples: 16 },
    );
  });

  test("ALiBi: the paper's slopes, and a bias of slope times distance", () => {
    assert.deepEqual(
      [...alibiSlopes(8)],
      [1, 2, 3, 4, 5, 6, 7, 8].map((e) => 2 ** -e),
    );
    assert.deepEqual([...alibiSlopes(4)], [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8]);
    // 6 heads: the 4 slopes of 4 heads, then every other slope of 8 heads (2^-1, 2^-3).
    assert.deepEqual([...alibiSlopes(6)], [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
    assert.equal(alibiSlopes(1)[0], 2 ** -8);
    const b = alibiBias(2, 3, 5, 2);
    // Head 1 (slope 2^-8), query 0 at position 2, key 0: two back.
    assert.equal(b.f32[15], -2 * 2 ** -8);
    assert.equal(b.f32[2], 0); // head 0, query 0 at position 2, key 2
    assert.throws(() => alibiSlopes(0), /positive number of heads/);
  });
});

test("the decoding layout by distance reads what the full [H, T, T] bias holds", () => {
  const H = 3;
  const T = 9;
  const rng = new Rng(4);
  const table = randomTensor([8, H], rng);
  const o = { bidirectional: false, numBuckets: 8, maxDistance: 6 };
  const full = t5PositionBias(table, t5BucketIndex(T, T, o)).f32;
  const layouts = [
    [t5DistanceBias(table.f32, H, T, o), full],
    [alibiDistanceBias(H, T), alibiBias(H, T, T).f32],
  ] as const;
  for (const [d, want] of layouts) {
    for (let i = 0; i < T; i++)
      for (let h = 0; h < H; h++)
        for (let j = 0; j < T; j++)
          assert.equal(d.bias[d.offsetOf(i) + h * d.headStride + j], want[(h * T + i) * T + j]);
    assert.throws(() => d.offsetOf(T), /outside 0\.\.8/);
  }
});
