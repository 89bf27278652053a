// Batched translation on a model whose sentences end at very different steps (greedy, and beam
// search with n-best lists). The decoder's step runs on the unfinished rows only: finished
// sentences leave the batch (their cache rows, cross-attention memory rows and step-buffer rows
// are no longer read), with the results of a decoder that keeps feeding them. Every sentence gets
// what it gets decoded alone: the same tokens, and the same log-probs and scores (exactly on the
// reference backend; to float32 rounding on the native one, whose GEMM sums in an order that
// depends on the rows of the product). The weights are packed once for a translateLines call
// (Backend.holdPacked), with the same results bit for bit. Each batch's caches take the storage
// the batch before gave back, unzeroed: with that storage filled with NaN, every result is the
// same.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AttentionCache } from "../../src/attention/cache.js";
import { MultiHeadAttention } from "../../src/attention/multi-head.js";
import { beamSearch } from "../../src/decode/beam.js";
import { greedy } from "../../src/decode/greedy.js";
import type { Hypothesis, IncrementalDecoder, SentenceFeed } from "../../src/decode/types.js";
import type { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../../src/models/incremental.js";
import { poisonUnzeroedF32 } from "../../src/tensor/pool.js";
import { intTensor, type Tensor } from "../../src/tensor/tensor.js";
import { sourceBatch, translateLines } from "../../src/train/translate.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { numberCodec, toyTranslator } from "../helpers/toy-translator.js";

const codec = numberCodec;

function setup() {
  // eos just likely enough that some sentences end at once and others run to the length limit.
  return toyTranslator({ seed: 17, noiseSeed: 23, noise: 0.2, eosBias: 3.5 });
}

// Sources of 1 to 24 tokens in a shuffled order (the batches are sorted by length).
const rng = new Rng(5);
const lines = Array.from({ length: 14 }, (_, i) => {
  const n = 1 + ((i * 7) % 24);
  return Array.from({ length: n }, () => 3 + rng.int(36)).join(" ");
});

/**
 * The path without compaction, for comparison: the inner decoder keeps every row it ever held
 * (finished ones padded with copies of row 0 and fed a dummy token); the search sees only its
 * live rows.
 */
class Undropped implements IncrementalDecoder {
  readonly vocabSize: number;
  private width: number;
  private live: number;
  constructor(private readonly inner: Seq2SeqIncremental) {
    this.vocabSize = inner.vocabSize;
    this.width = inner.rows;
    this.live = inner.rows;
  }
  get rows() {
    return this.live;
  }
  next(tokens: Int32Array): Float32Array {
    const all = new Int32Array(this.width).fill(3);
    all.set(tokens);
    return this.inner.next(all).subarray(0, this.live * this.vocabSize);
  }
  reorder(keep: readonly number[]): void {
    this.width = Math.max(this.width, keep.length);
    const full = [...keep];
    while (full.length < this.width) full.push(0);
    this.inner.reorder(full);
    this.live = keep.length;
  }
}

/** Records the rows each step feeds through the model. */
class Counted implements IncrementalDecoder {
  readonly fed: number[] = [];
  constructor(private readonly inner: IncrementalDecoder) {}
  get vocabSize() {
    return this.inner.vocabSize;
  }
  get rows() {
    return this.inner.rows;
  }
  next(tokens: Int32Array): Float32Array {
    this.fed.push(tokens.length);
    return this.inner.next(tokens);
  }
  reorder(keep: readonly number[]): void {
    this.inner.reorder(keep);
  }
}

/** A batch of the lines as translateLines builds it: ids [N, S], mask [N, S]. */
function batchOf(model: EncoderDecoderModel, of: readonly string[] = lines): [Tensor, Tensor] {
  const cfg = model.config;
  const encoded = of.map((l) => [...codec.encode(l), cfg.eos_token_id]);
  const S = Math.max(...encoded.map((e) => e.length));
  const ids = new Int32Array(encoded.length * S).fill(cfg.pad_token_id);
  const mask = new Int32Array(encoded.length * S);
  encoded.forEach((e, r) => {
    ids.set(e, r * S);
    mask.fill(1, r * S, r * S + e.length);
  });
  return [intTensor(ids, [encoded.length, S]), intTensor(mask, [encoded.length, S])];
}

/**
 * The same hypotheses: the same tokens, and the same log-probs and scores, exactly on the
 * reference backend; the native GEMM sums in an order that depends on the rows of the product (a
 * few rows stream the weight, more are packed), so there they agree to float32 rounding.
 */
function assertSame(got: Hypothesis[], want: Hypothesis[], exact: boolean, at: string): void {
  assert.equal(got.length, want.length, `${at}: n-best`);
  got.forEach((h, n) => {
    const w = want[n];
    assert.deepEqual(h.tokens, w.tokens, `${at}, hypothesis ${n}`);
    for (const key of ["logProb", "score"] as const) {
      const tol = exact ? 0 : 1e-6 * Math.max(1, Math.abs(w.logProb));
      assert.ok(Math.abs(h[key] - w[key]) <= tol, `${at}, hypothesis ${n}: ${key}`);
    }
  });
}

forEachBackend("batched translation", (backend) => {
  const model = setup();
  const exact = backend.name === "reference";
  const cfg = model.config;
  const gen = { startToken: cfg.decoder_start_token_id, eosToken: cfg.eos_token_id, maxLength: 30 };

  test("greedy: finished rows leave the step, and the results equal those of never dropping them", () => {
    const [ids, mask] = batchOf(model);
    const counted = new Counted(new Seq2SeqIncremental(model, ids, mask));
    const compacted = greedy(counted, gen);
    const full = greedy(new Undropped(new Seq2SeqIncremental(model, ids, mask)), gen);
    compacted.forEach((h, i) => {
      assertSame([h], [full[i]], exact, `line ${i}`);
    });
    // Every step feeds exactly the sentences that have not yet emitted eos.
    const lengths = compacted.map((h) => h.tokens.length);
    assert.ok(Math.max(...lengths) - Math.min(...lengths) >= 10, `lengths ${lengths}`);
    const expected = counted.fed.map((_, t) => lengths.filter((n) => n > t).length);
    assert.deepEqual(counted.fed, expected);
  });

  test("beam search with n-best: finished sentences leave the step, results unchanged", () => {
    const [ids, mask] = batchOf(model);
    const options = { ...gen, beamSize: 3, nBest: 3, lengthPenalty: 1 };
    const counted = new Counted(new Seq2SeqIncremental(model, ids, mask));
    const compacted = beamSearch(counted, options);
    const full = beamSearch(new Undropped(new Seq2SeqIncremental(model, ids, mask)), options);
    compacted.forEach((h, i) => {
      assertSame(h, full[i], exact, `line ${i}`);
    });
    for (const h of compacted) assert.equal(h.length, 3);
    // After the first step a running sentence holds 3 rows; the batch shrinks as sentences end.
    assert.equal(counted.fed[0], lines.length);
    assert.equal(counted.fed[1], 3 * lines.length);
    const last = counted.fed[counted.fed.length - 1];
    assert.ok(last < 3 * lines.length && last % 3 === 0, `rows fed: ${counted.fed}`);
  });

  test("translateLines (weights held packed for the run) equals the same batch decoded without", () => {
    const [ids, mask] = batchOf(model);
    const plainGreedy = greedy(new Seq2SeqIncremental(model, ids, mask), gen);
    const options = { ...gen, beamSize: 3, nBest: 3, lengthPenalty: 1 };
    const plainBeam = beamSearch(new Seq2SeqIncremental(model, ids, mask), options);
    const settings = { maxLenA: 0, maxLenB: 30, batchSize: lines.length };
    const held1 = translateLines(model, codec, lines, settings);
    const held3 = translateLines(model, codec, lines, { ...settings, beam: 3, nBest: 3 });
    lines.forEach((_, i) => {
      assert.deepEqual(held1[i][0].hypothesis, plainGreedy[i], `line ${i}: greedy`);
      assert.deepEqual(
        held3[i].map((h) => h.hypothesis),
        plainBeam[i],
        `line ${i}: beam`,
      );
    });
  });

  test("one sentence at a time, Q, K and V held as one weight: the tokens and scores of the three products", () => {
    // translateLines holds the weights for 14 lines at batch 1: each step is one row, which
    // multiplies by the fused Q, K and V (MultiHeadAttention.holdFusedQkv).
    const settings = { maxLenA: 0, maxLenB: 30, batchSize: 1 };
    const held = translateLines(model, codec, lines, settings);
    lines.forEach((line, i) => {
      const [ids, mask] = batchOf(model, [line]);
      const alone = greedy(new Seq2SeqIncremental(model, ids, mask), gen)[0];
      assert.deepEqual(held[i][0].hypothesis, alone, `line ${i}`);
    });
    const attention = [...model.namedModules()].filter(([, m]) => m instanceof MultiHeadAttention);
    assert.ok(attention.length > 0);
    for (const [name, m] of attention) {
      const { fused, release } = (m as MultiHeadAttention).holdFusedQkv();
      release();
      assert.ok(fused, `${name}: Q, K and V fuse`);
    }
  });

  test("translateLines: caches on reused storage filled with NaN give the same results", () => {
    // 80 steps: the longest sentences outgrow the 64 positions reserved and are copied.
    const options = { beam: 3, nBest: 3, maxLenA: 0, maxLenB: 80, batchSize: 5 };
    const plain = translateLines(model, codec, lines, options);
    assert.ok(
      plain.some((h) => h[0].hypothesis.tokens.length > 64),
      "a sentence runs past 64 tokens",
    );
    const poisoned = onPoisonedPool(() => translateLines(model, codec, lines, options));
    poisoned.forEach((hyps, i) => {
      for (const h of hyps) assert.ok(Number.isFinite(h.hypothesis.score), `line ${i}: score`);
      assert.deepEqual(
        hyps.map((h) => h.hypothesis),
        plain[i].map((h) => h.hypothesis),
        `line ${i}`,
      );
    });
  });

  for (const beam of [1, 3]) {
    test(`translateLines: batches equal one sentence at a time (beam ${beam})`, () => {
      const options = { beam, nBest: beam, maxLenA: 0, maxLenB: 30 };
      const alone = translateLines(model, codec, lines, { ...options, batchSize: 1 });
      for (const batchSize of [14, 5]) {
        const batched = translateLines(model, codec, lines, { ...options, batchSize });
        batched.forEach((hyps, i) => {
          assert.deepEqual(
            hyps.map((h) => h.text),
            alone[i].map((h) => h.text),
          );
          assertSame(
            hyps.map((h) => h.hypothesis),
            alone[i].map((h) => h.hypothesis),
            exact,
            `line ${i}, batch size ${batchSize}`,
          );
        });
      }
    });
  }

  /** Line i decoded on its own (padded as in the whole batch). */
  function aloneDecoder(i: number): Seq2SeqIncremental {
    const [ids, mask] = batchOf(model);
    return new Seq2SeqIncremental(model, rowOfBatch(ids, i), rowOfBatch(mask, i));
  }

  /**
   * A feed that admits the lines after the first `initial` ones, `group` at a time through
   * Seq2SeqIncremental.admit; records the decoder's width at every step.
   */
  function joining(initial: number, rows: number, maxLength: number) {
    const cfg = model.config;
    const encoded = lines.map((l) => [...codec.encode(l), cfg.eos_token_id]);
    const batch = (from: number, to: number) =>
      sourceBatch(encoded.slice(from, to), cfg.pad_token_id);
    const decoder = new Seq2SeqIncremental(model, ...batch(0, initial));
    const counted = new Counted(decoder);
    let next = initial;
    const joins: { at: number; live: number; n: number }[] = [];
    const feed: SentenceFeed = {
      rows,
      maxLength: () => maxLength,
      admit: (room) => {
        const n = Math.min(room, lines.length - next);
        if (n > 0) {
          joins.push({ at: counted.fed.length, live: decoder.rows, n });
          decoder.admit(...batch(next, next + n));
        }
        next += n;
        return n;
      },
    };
    return { counted, feed, joins };
  }

  test("greedy: sentences joining a running batch get what they get decoded alone", () => {
    const alone = lines.map((_, i) => greedy(aloneDecoder(i), gen)[0]);
    const drops = spyDropFront();
    let got: Hypothesis[];
    try {
      const { counted, feed, joins } = joining(4, 4, 30);
      got = greedy(counted, gen, feed);
      // Sentences joined while others were still decoding, and the batch never grew past 4.
      assert.ok(
        joins.some((j) => j.live > 0 && j.at > 1),
        `joins: ${JSON.stringify(joins)}`,
      );
      assert.ok(Math.max(...counted.fed) <= 4, `rows fed: ${counted.fed}`);
    } finally {
      drops.restore();
    }
    // The caches shed positions nobody reads any more as the early sentences finished.
    assert.ok(drops.calls > 0, "dropFront was called");
    assert.equal(got.length, lines.length);
    got.forEach((h, i) => {
      assertSame([h], [alone[i]], exact, `line ${i}`);
    });
  });

  test("beam search: sentences joining a running batch get what they get decoded alone", () => {
    const options = { ...gen, beamSize: 3, nBest: 3, lengthPenalty: 1 };
    const alone = lines.map((_, i) => beamSearch(aloneDecoder(i), options)[0]);
    const { counted, feed, joins } = joining(3, 3, 30);
    const got = beamSearch(counted, options, feed);
    assert.ok(
      joins.some((j) => j.live > 0),
      `joins: ${JSON.stringify(joins)}`,
    );
    assert.equal(got.length, lines.length);
    got.forEach((h, i) => {
      assertSame(h, alone[i], exact, `line ${i}`);
    });
  });

  test("encoded sources admit any part of them until released; then they are refused", () => {
    const [ids, mask] = batchOf(model);
    const decoder = new Seq2SeqIncremental(model, rowOfBatch(ids, 0), rowOfBatch(mask, 0));
    const sources = decoder.encodeSources(ids, mask);
    decoder.admitEncoded(sources, 3, 2);
    assert.equal(decoder.rows, 3);
    assert.throws(() => decoder.admitEncoded(sources, 13, 2), /not among the 14 encoded/);
    decoder.releaseSources(sources);
    assert.throws(() => decoder.admitEncoded(sources, 5, 1), /were released/);
  });

  test("translateLines: joining rows on storage filled with NaN give the same results", () => {
    const options = { maxLenA: 0, maxLenB: 40, batchSize: 4 };
    const plain = translateLines(model, codec, lines, options);
    const poisoned = onPoisonedPool(() => translateLines(model, codec, lines, options));
    poisoned.forEach((hyps, i) => {
      assert.deepEqual(hyps[0].hypothesis, plain[i][0].hypothesis, `line ${i}`);
    });
  });

  test("translateLines: a sentence's length limit is its own source's, whatever its batch", () => {
    // maxLenA > 0: the limit differs between sentences; some run into it.
    const options = { maxLenA: 0.5, maxLenB: 2 };
    const alone = translateLines(model, codec, lines, { ...options, batchSize: 1 });
    const cut = lines.filter(
      (l, i) =>
        alone[i][0].hypothesis.tokens.length === Math.round(0.5 * (codec.encode(l).length + 1) + 2),
    );
    assert.ok(cut.length >= 3, `${cut.length} sentences cut by their limit`);
    for (const beam of [1, 3]) {
      const a =
        beam === 1
          ? alone
          : translateLines(model, codec, lines, { ...options, beam, batchSize: 1 });
      const batched = translateLines(model, codec, lines, { ...options, beam, batchSize: 14 });
      batched.forEach((hyps, i) => {
        assertSame([hyps[0].hypothesis], [a[i][0].hypothesis], exact, `line ${i}, beam ${beam}`);
      });
    }
  });
});

/** What `fn` returns when the pool's unzeroed buffers come filled with NaN. */
function onPoisonedPool<T>(fn: () => T): T {
  poisonUnzeroedF32(true);
  try {
    return fn();
  } finally {
    poisonUnzeroedF32(false);
  }
}

/** Row i of a batch tensor [N, S], as a batch of one [1, S]. */
function rowOfBatch(t: Tensor, i: number): Tensor {
  const S = t.shape[1];
  return intTensor(Int32Array.from(t.i32.subarray(i * S, (i + 1) * S)), [1, S]);
}

/** Counts AttentionCache.dropFront calls until restored. */
function spyDropFront() {
  const proto = AttentionCache.prototype;
  const original = proto.dropFront;
  const spy = {
    calls: 0,
    restore: () => {
      proto.dropFront = original;
    },
  };
  proto.dropFront = function (this: AttentionCache, n: number) {
    spy.calls++;
    original.call(this, n);
  };
  return spy;
}
