// Decoding algorithms on table-driven decoders (hand-worked cases) and on a real model with a KV
// cache (beam size 1 equals greedy; cached steps equal full recomputation).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { beamSearch, lengthNormalised } from "../../src/decode/beam.js";
import { greedy } from "../../src/decode/greedy.js";
import { processLogProbs, processorsMayAct } from "../../src/decode/processors.js";
import { sample, sampleToken } from "../../src/decode/sampling.js";
import type { IncrementalDecoder } from "../../src/decode/types.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../../src/models/incremental.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";

/**
 * A decoder whose next-token distribution depends only on the prefix, given as a table from the
 * prefix (tokens joined by ",", start token excluded) to probabilities over V tokens.
 */
class TableDecoder implements IncrementalDecoder {
  readonly vocabSize: number;
  prefixes: number[][];
  constructor(
    private readonly table: Record<string, number[]>,
    rows: number,
    private readonly start: number,
  ) {
    this.vocabSize = Object.values(table)[0].length;
    this.prefixes = Array.from({ length: rows }, () => []);
  }
  get rows() {
    return this.prefixes.length;
  }
  next(tokens: Int32Array): Float32Array {
    const V = this.vocabSize;
    const out = new Float32Array(this.rows * V);
    this.prefixes.forEach((p, r) => {
      if (tokens[r] !== this.start || p.length > 0) p.push(tokens[r]);
      const probs = this.table[p.join(",")] ?? Array(V).fill(1 / V);
      for (let j = 0; j < V; j++) out[r * V + j] = Math.log(probs[j]);
    });
    return out;
  }
  reorder(keep: readonly number[]): void {
    this.prefixes = keep.map((r) => [...this.prefixes[r]]);
  }
}

// Tokens: 0 = start, 1 = eos, 2 = "a", 3 = "b".
const TABLE: Record<string, number[]> = {
  "": [0, 0.1, 0.5, 0.4],
  "2": [0, 0.5, 0.3, 0.2], // a -> eos 0.5
  "3": [0, 0.05, 0.05, 0.9], // b -> b 0.9
  "3,3": [0, 0.95, 0.03, 0.02], // b b -> eos
  "2,2": [0, 0.9, 0.05, 0.05],
  "2,3": [0, 0.9, 0.05, 0.05],
};
const base = { startToken: 0, eosToken: 1, maxLength: 5 };

describe("hand-worked searches", () => {
  test("greedy follows the locally best token", () => {
    const [h] = greedy(new TableDecoder(TABLE, 1, 0), base);
    assert.deepEqual(h.tokens, [2, 1]); // a (0.5), eos (0.5): p = 0.25
    assert.ok(Math.abs(h.logProb - Math.log(0.25)) < 1e-6);
  });

  test("beam search finds the better sequence greedy misses", () => {
    // b b eos: 0.4 * 0.9 * 0.95 = 0.342 beats a eos = 0.25 even before length normalisation.
    const [[best, second]] = beamSearch(new TableDecoder(TABLE, 1, 0), {
      ...base,
      beamSize: 2,
      nBest: 2,
      lengthPenalty: 0,
    });
    assert.deepEqual(best.tokens, [3, 3, 1]);
    assert.ok(Math.abs(best.logProb - Math.log(0.4 * 0.9 * 0.95)) < 1e-5);
    assert.deepEqual(second.tokens, [2, 1]);
  });

  test("length penalty divides by length^alpha", () => {
    assert.equal(lengthNormalised(-6, 3, 1), -2);
    assert.equal(lengthNormalised(-6, 4, 0.5), -3);
    assert.equal(lengthNormalised(-6, 3, 0), -6);
    const [[best]] = beamSearch(new TableDecoder(TABLE, 1, 0), {
      ...base,
      beamSize: 2,
      lengthPenalty: 1,
    });
    assert.ok(Math.abs(best.score - best.logProb / best.tokens.length) < 1e-9);
  });

  test("beam size 1 equals greedy", () => {
    const g = greedy(new TableDecoder(TABLE, 1, 0), base);
    const [[b]] = beamSearch(new TableDecoder(TABLE, 1, 0), { ...base, beamSize: 1 });
    assert.deepEqual(b.tokens, g[0].tokens);
  });

  test("min length, forced first token, no-repeat n-grams, repetition penalty", () => {
    const [h] = greedy(new TableDecoder(TABLE, 1, 0), { ...base, minLength: 2 });
    assert.deepEqual(h.tokens.slice(0, 2), [2, 2]);
    const [f] = greedy(new TableDecoder(TABLE, 1, 0), { ...base, forcedFirstToken: 3 });
    assert.deepEqual(f.tokens, [3, 3, 1]);
    const lp = new Float32Array([-1, -1, -1, -1]);
    processLogProbs(lp, 4, [[2, 3, 2]], 3, { ...base, noRepeatNgramSize: 2 });
    assert.equal(lp[3], Number.NEGATIVE_INFINITY); // "2 3" already occurred; after 2, 3 is banned
    assert.equal(lp[2], -1);
    const lp2 = new Float32Array([-1, -1, -1, -1]);
    processLogProbs(lp2, 4, [[2]], 1, { ...base, repetitionPenalty: 2 });
    assert.deepEqual(Array.from(lp2), [-1, -1, -2, -1]);
  });

  test("processorsMayAct is false only where processLogProbs changes nothing", () => {
    // Every processor alone, at steps 0..4 of a hypothesis that repeats itself (so that the
    // n-gram and penalty processors have something to act on), rows limited to 5 tokens.
    const settings = [
      {},
      { forcedFirstToken: 3 },
      { forcedLastToken: 1 },
      { badWordsIds: [[2]] },
      { minLength: 2 },
      { noRepeatNgramSize: 1 },
      { repetitionPenalty: 1.5 },
    ];
    let idle = 0;
    for (const extra of settings) {
      const o = { ...base, ...extra };
      for (let step = 0; step < 5; step++) {
        const prefix = Array.from({ length: step }, () => 2);
        const lp = Float32Array.from([-1.5, -0.5, -1, -2]);
        const before = Float32Array.from(lp);
        processLogProbs(lp, 4, [prefix], step, o);
        const changed = lp.some((v, j) => !Object.is(v, before[j]));
        if (!processorsMayAct(o, [prefix])) {
          idle++;
          assert.ok(!changed, `${JSON.stringify(extra)} at step ${step} changed the row`);
        }
        if (changed) assert.ok(processorsMayAct(o, [prefix]), `${JSON.stringify(extra)} ${step}`);
      }
    }
    // Idle: no processor (5 steps), a forced first token past step 0 (4), min length 2 from
    // step 2 (3).
    assert.equal(idle, 12);
  });

  test("sampling is seeded and respects top-k and top-p", () => {
    const a = sample(new TableDecoder(TABLE, 3, 0), { ...base, seed: 5 });
    const b = sample(new TableDecoder(TABLE, 3, 0), { ...base, seed: 5 });
    assert.deepEqual(a, b);
    const lp = Float32Array.from([0.5, 0.3, 0.15, 0.05].map(Math.log));
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[sampleToken(lp, rng, 1, 2, 1)]++;
    assert.equal(counts[2] + counts[3], 0);
    assert.ok(Math.abs(counts[0] / 4000 - 0.625) < 0.03);
    const counts2 = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts2[sampleToken(lp, rng, 1, 0, 0.7)]++;
    assert.equal(counts2[2] + counts2[3], 0); // 0.5 + 0.3 reaches 0.7
    assert.equal(sampleToken(lp, rng, 0, 0, 1), 0); // temperature 0 = greedy
  });
});

describe("decoding a real model on its KV cache", () => {
  const cfg = resolveConfig({
    vocab_size: 20,
    d_model: 16,
    encoder_layers: 1,
    decoder_layers: 2,
    encoder_attention_heads: 2,
    decoder_attention_heads: 2,
    encoder_ffn_dim: 32,
    decoder_ffn_dim: 32,
  });
  const model = new EncoderDecoderModel(cfg, 11).eval();
  const rng = new Rng(3);
  for (const p of model.parameters())
    for (let i = 0; i < p.size; i++) p.f32[i] += rng.normal() * 0.3;
  const src = T.intTensor([5, 6, 7, 8, 9, 0], [2, 3]);
  const srcMask = T.intTensor([1, 1, 1, 1, 1, 0], [2, 3]);
  const opts = { startToken: cfg.decoder_start_token_id, eosToken: cfg.eos_token_id, maxLength: 8 };

  test("greedy on the cache equals greedy by full recomputation", () => {
    const hyps = greedy(new Seq2SeqIncremental(model, src, srcMask), opts);
    for (let s = 0; s < 2; s++) {
      const prefix = [cfg.decoder_start_token_id];
      const expected: number[] = [];
      for (let step = 0; step < opts.maxLength; step++) {
        const logits = T.noGrad(() =>
          model.forward({
            input_ids: T.slice(src, 0, s, s + 1),
            attention_mask: T.slice(srcMask, 0, s, s + 1),
            decoder_input_ids: T.intTensor(prefix, [1, prefix.length]),
          }),
        ).logits;
        const V = cfg.vocab_size;
        const row = logits.f32.subarray((prefix.length - 1) * V, prefix.length * V);
        let best = 0;
        for (let j = 1; j < V; j++) if (row[j] > row[best]) best = j;
        expected.push(best);
        prefix.push(best);
        if (best === opts.eosToken) break;
      }
      assert.deepEqual(hyps[s].tokens, expected, `sentence ${s}`);
    }
  });

  test("beam size 1 equals greedy, and a wider beam scores at least as well", () => {
    const g = greedy(new Seq2SeqIncremental(model, src, srcMask), opts);
    const b1 = beamSearch(new Seq2SeqIncremental(model, src, srcMask), {
      ...opts,
      beamSize: 1,
      lengthPenalty: 0,
    });
    const b4 = beamSearch(new Seq2SeqIncremental(model, src, srcMask), {
      ...opts,
      beamSize: 4,
      lengthPenalty: 0,
    });
    for (let s = 0; s < 2; s++) {
      assert.deepEqual(b1[s][0].tokens, g[s].tokens);
      assert.ok(b4[s][0].logProb >= g[s].logProb - 1e-5);
    }
  });
});
