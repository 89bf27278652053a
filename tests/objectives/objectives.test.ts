// Objectives: rates within tolerance over many samples, and labels -100 exactly where nothing is
// predicted.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { permuteSentences, poisson, textInfilling } from "../../src/objectives/infilling.js";
import { causalLM, prefixLM, seq2seq } from "../../src/objectives/lm.js";
import { mass } from "../../src/objectives/mass.js";
import { maskedLM } from "../../src/objectives/mlm.js";
import { randomSpansNoiseMask, spanCorruption } from "../../src/objectives/span-corruption.js";
import { IGNORE, type SpecialIds } from "../../src/objectives/types.js";
import { Rng } from "../../src/util/rng.js";

const ids: SpecialIds = {
  mask: 4,
  eos: 2,
  pad: 1,
  special: new Set([0, 1, 2, 3, 4]),
  vocabSize: 1000,
};
const sentence = (rng: Rng, n: number) => Array.from({ length: n }, () => 10 + rng.int(990));

describe("masked LM", () => {
  test("15% chosen; of those 80% <mask>, 10% random, 10% unchanged; labels only there", () => {
    const rng = new Rng(1);
    let total = 0;
    let chosen = 0;
    let masked = 0;
    let same = 0;
    for (let s = 0; s < 400; s++) {
      const toks = [0, ...sentence(rng, 60), 2];
      const ex = maskedLM(toks, ids, rng);
      assert.equal(ex.input_ids.length, toks.length);
      toks.forEach((t, i) => {
        if (ids.special.has(t)) {
          assert.equal(ex.labels[i], IGNORE);
          assert.equal(ex.input_ids[i], t);
          return;
        }
        total++;
        if (ex.labels[i] === IGNORE) {
          assert.equal(ex.input_ids[i], t, "unchosen tokens are untouched");
          return;
        }
        assert.equal(ex.labels[i], t);
        chosen++;
        if (ex.input_ids[i] === ids.mask) masked++;
        else if (ex.input_ids[i] === t) same++;
      });
    }
    assert.ok(Math.abs(chosen / total - 0.15) < 0.005, `rate ${chosen / total}`);
    assert.ok(Math.abs(masked / chosen - 0.8) < 0.02);
    // Unchanged: the 10% kept plus random draws that hit the same token (rare).
    assert.ok(Math.abs(same / chosen - 0.1) < 0.015);
  });

  test("any rate up to 50%, and whole words together", () => {
    const rng = new Rng(2);
    const toks = sentence(rng, 200);
    const ex = maskedLM(toks, ids, rng, { rate: 0.5 });
    assert.equal(ex.labels.filter((l) => l !== IGNORE).length, 100);
    const wordStarts = toks.map((_, i) => i % 4 === 0);
    const ww = maskedLM(toks, ids, rng, { rate: 0.25, wordStarts });
    for (let w = 0; w < 50; w++) {
      const picked = [0, 1, 2, 3].map((k) => ww.labels[w * 4 + k] !== IGNORE);
      assert.ok(
        picked.every((p) => p === picked[0]),
        `word ${w} partly masked`,
      );
    }
  });
});

describe("T5 span corruption", () => {
  test("noise density and mean span length", () => {
    const rng = new Rng(3);
    let noise = 0;
    let spans = 0;
    let tokens = 0;
    for (let s = 0; s < 300; s++) {
      const m = randomSpansNoiseMask(100, 0.15, 3, rng);
      tokens += 100;
      noise += m.filter(Boolean).length;
      spans += m.filter((x, i) => x && (i === 0 || !m[i - 1])).length;
      assert.equal(m[0], false, "sequences start with kept tokens");
    }
    assert.equal(noise / tokens, 0.15);
    assert.ok(Math.abs(noise / spans - 3) < 0.05, `mean span ${noise / spans}`);
  });

  test("inputs and targets interleave sentinels and rebuild the original", () => {
    const rng = new Rng(4);
    const sentinels = Array.from({ length: 100 }, (_, i) => 999 - i);
    const toks = sentence(rng, 40).map((t) => Math.min(t, 899));
    const ex = spanCorruption(toks, ids, sentinels, rng);
    assert.equal(ex.input_ids.at(-1), ids.eos);
    assert.equal(ex.labels.at(-1), ids.eos);
    // Put the spans back: walk the input, replacing each sentinel by its span from the target.
    const spansBySentinel = new Map<number, number[]>();
    let current = -1;
    for (const t of ex.labels.slice(0, -1)) {
      if (sentinels.includes(t)) {
        current = t;
        spansBySentinel.set(t, []);
      } else spansBySentinel.get(current)?.push(t);
    }
    const rebuilt = ex.input_ids.slice(0, -1).flatMap((t) => spansBySentinel.get(t) ?? [t]);
    assert.deepEqual(rebuilt, toks);
  });
});

describe("BART text infilling", () => {
  test("Poisson(3) span lengths", () => {
    const rng = new Rng(5);
    let s = 0;
    for (let i = 0; i < 20000; i++) s += poisson(3, rng);
    assert.ok(Math.abs(s / 20000 - 3) < 0.05);
  });

  test("about 30% of tokens replaced, each span by one <mask>; labels are the original", () => {
    const rng = new Rng(6);
    let removed = 0;
    let total = 0;
    for (let k = 0; k < 200; k++) {
      const toks = sentence(rng, 80);
      const ex = textInfilling(toks, ids, rng);
      assert.deepEqual(ex.labels, [...toks, ids.eos]);
      const masks = ex.input_ids.filter((t) => t === ids.mask).length;
      const kept = ex.input_ids.length - 1 - masks;
      removed += toks.length - kept;
      total += toks.length;
    }
    assert.ok(Math.abs(removed / total - 0.3) < 0.02, `rate ${removed / total}`);
  });

  test("sentence permutation keeps every sentence whole", () => {
    const rng = new Rng(7);
    const toks = [10, 11, 5, 20, 21, 22, 5, 30, 5];
    const p = permuteSentences(toks, new Set([5]), rng);
    assert.deepEqual([...p].sort(), [...toks].sort());
    const chunks = p
      .join(",")
      .split(",5")
      .filter((c) => c !== "");
    assert.deepEqual(chunks.map((c) => c.replace(/^,/, "")).sort(), ["10,11", "20,21,22", "30"]);
  });
});

describe("MASS, causal LM, prefix LM, seq2seq", () => {
  test("MASS masks one fragment of half the sentence in encoder and decoder", () => {
    const rng = new Rng(8);
    const toks = sentence(rng, 20);
    const ex = mass(toks, ids, rng);
    const fragment = ex.labels.map((l, i) => (l === IGNORE ? -1 : i)).filter((i) => i >= 0);
    assert.equal(fragment.length, 10);
    assert.equal(fragment[fragment.length - 1] - fragment[0], 9, "contiguous");
    for (const i of fragment) {
      assert.equal(ex.input_ids[i], ids.mask);
      assert.equal(ex.labels[i], toks[i]);
    }
    const dec = ex.decoder_input_ids ?? [];
    dec.forEach((t, i) => {
      if (i > fragment[0] && i <= fragment[fragment.length - 1]) assert.equal(t, toks[i - 1]);
      else assert.equal(t, ids.mask);
    });
  });

  test("causal LM labels are the next token; prefix LM predicts only the continuation", () => {
    assert.deepEqual(causalLM([5, 6, 7]).labels, [6, 7, IGNORE]);
    const p = prefixLM([5, 6, 7, 8, 9], 2);
    assert.deepEqual(p.labels, [IGNORE, 7, 8, 9, IGNORE]);
    assert.equal(p.prefix_length, 2);
    assert.deepEqual(seq2seq([5, 6], [7], ids), { input_ids: [5, 6, 2], labels: [7, 2] });
  });
});
