// Every pair in ../shared/ref/rouge/dialogsum-test.json: ROUGE-1, ROUGE-2 and ROUGE-L precision,
// recall and F from Google's rouge-score, without and with NLTK 3.8's Porter stemmer, for the
// 500 DialogSum test summaries (summary1 against summary2) and edge cases (empty sides,
// punctuation only, non-ASCII, numbers). Every figure must agree within 1e-6.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ROUGE_TYPES, type RougeType, rougeScore } from "../../src/eval/index.js";
import { readJson, skipWithoutShared } from "./shared.js";

interface RougeRef {
  pairs: { target: string; prediction: string }[];
  cases: {
    use_stemmer: boolean;
    per_pair: Record<RougeType, [number, number, number]>[];
    mean_f: Record<RougeType, number>;
  }[];
}

describe("ROUGE against rouge-score (../shared/ref/rouge/dialogsum-test.json)", () => {
  if (skipWithoutShared) {
    test("reference figures", { skip: skipWithoutShared }, () => {});
    return;
  }
  const ref = readJson<RougeRef>("ref", "rouge", "dialogsum-test.json");
  for (const c of ref.cases) {
    test(`${ref.pairs.length} pairs, use_stemmer=${c.use_stemmer}`, () => {
      assert.equal(c.per_pair.length, ref.pairs.length);
      let worst = 0;
      const sumF: Record<RougeType, number> = { rouge1: 0, rouge2: 0, rougeL: 0 };
      ref.pairs.forEach((p, i) => {
        const got = rougeScore(p.target, p.prediction, { useStemmer: c.use_stemmer });
        for (const type of ROUGE_TYPES) {
          const g = got[type];
          const e = c.per_pair[i][type];
          [g.precision, g.recall, g.fmeasure].forEach((x, j) => {
            const d = Math.abs(x - e[j]);
            worst = Math.max(worst, d);
            assert.ok(
              d <= 1e-6,
              `pair ${i} ${type} ${["precision", "recall", "fmeasure"][j]}: got ${x}, ` +
                `rouge-score ${e[j]} (${JSON.stringify(p)})`,
            );
          });
          sumF[type] += g.fmeasure;
        }
      });
      for (const type of ROUGE_TYPES) {
        const mean = sumF[type] / ref.pairs.length;
        assert.ok(Math.abs(mean - c.mean_f[type]) <= 1e-6, `mean ${type} F`);
      }
      console.log(`# use_stemmer=${c.use_stemmer}: largest difference ${worst}`);
    });
  }
});
