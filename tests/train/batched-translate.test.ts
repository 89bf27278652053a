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
import { beamSearch } from "../../src/decode/beam.js";
import { greedy } from "../../src/decode/greedy.js";
import type { Hypothesis, IncrementalDecoder } from "../../src/decode/types.js";
import type { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../../src/models/incremental.js";
import { poisonUnzeroedF32 } from "../../src/tensor/pool.js";
import { intTensor, type Tensor } from "../../src/tensor/tensor.js";
import { translateLines } from "../../src/train/translate.js";
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
function batchOf(model: EncoderDecoderModel): [Tensor, Tensor] {
  const cfg = model.config;
  const encoded = lines.map((l) => [...codec.encode(l), cfg.eos_token_id]);
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

  test("translateLines: caches on reused storage filled with NaN give the same results", () => {
    // 80 steps: the longest sentences outgrow the 64 positions reserved and are copied.
    const options = { beam: 3, nBest: 3, maxLenA: 0, maxLenB: 80, batchSize: 5 };
    const plain = translateLines(model, codec, lines, options);
    assert.ok(
      plain.some((h) => h[0].hypothesis.tokens.length > 64),
      "a sentence runs past 64 tokens",
    );
    poisonUnzeroedF32(true);
    let poisoned: ReturnType<typeof translateLines>;
    try {
      poisoned = translateLines(model, codec, lines, options);
    } finally {
      poisonUnzeroedF32(false);
    }
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
});
