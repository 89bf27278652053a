// Every figure in ../shared/ref/sacrebleu, computed by sacreBLEU 2.6.0 itself: corpus BLEU and
// chrF on the WMT22 test sets (tokenizers, smoothing, lowercase, two references), and sentence
// BLEU on edge cases under every smoothing method. Scores must agree within 0.005 (they agree to
// the last bit here), n-gram counts and lengths exactly, signatures and text lines character for
// character.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type BleuOptions,
  corpusBleu,
  corpusChrf,
  formatBleu,
  formatChrf,
  sentenceBleu,
} from "../../src/eval/index.js";
import { readJson, readLines, skipWithoutShared } from "./shared.js";

interface PyOptions {
  tokenize?: string;
  lowercase?: boolean;
  smooth_method?: "exp" | "floor" | "add-k" | "none";
  smooth_value?: number;
  effective_order?: boolean;
  word_order?: number;
}

interface Expected {
  score: number;
  precisions?: number[];
  bp?: number;
  ratio?: number;
  hyp_len?: number;
  ref_len?: number;
  counts?: number[];
  totals?: number[];
  signature?: string;
  line?: string;
}

interface Case {
  name?: string;
  metric: "bleu" | "chrf" | "sentence_bleu";
  hyp?: string;
  refs?: string[];
  hyp_lines?: string[];
  ref_lines?: string[][];
  options: PyOptions;
  expected: Expected;
}

/** sacreBLEU's keyword arguments as BleuOptions. */
function bleuOptions(o: PyOptions): BleuOptions {
  return {
    tokenize: o.tokenize,
    lowercase: o.lowercase,
    smoothMethod: o.smooth_method,
    smoothValue: o.smooth_value,
    effectiveOrder: o.effective_order,
  };
}

const SIGNATURE_FORM =
  /^nrefs:(\d+|var)\|case:(mixed|lc)\|eff:(yes|no)\|tok:(13a|intl|zh|char|none)\|smooth:(exp|none|floor\[\d+\.\d\d\]|add-k\[\d+\.\d\d\])\|version:2\.6\.0$/;

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${what}: got ${actual}, sacreBLEU ${expected} (tolerance ${tol})`,
  );
}

function checkBleu(
  got: ReturnType<typeof corpusBleu>,
  e: Expected,
  what: string,
  exactCounts = true,
): void {
  close(got.score, e.score, 0.005, `${what} score`);
  if (e.precisions) {
    e.precisions.forEach((p, i) => {
      close(got.precisions[i], p, 1e-9, `${what} precision ${i + 1}`);
    });
  }
  if (e.bp !== undefined) close(got.bp, e.bp, 1e-12, `${what} BP`);
  if (e.ratio !== undefined) close(got.ratio, e.ratio, 1e-12, `${what} ratio`);
  if (e.hyp_len !== undefined) assert.equal(got.hypLen, e.hyp_len, `${what} hyp_len`);
  if (e.ref_len !== undefined) assert.equal(got.refLen, e.ref_len, `${what} ref_len`);
  if (exactCounts && e.counts) assert.deepEqual(got.counts, e.counts, `${what} counts`);
  if (exactCounts && e.totals) assert.deepEqual(got.totals, e.totals, `${what} totals`);
  assert.match(got.signature, SIGNATURE_FORM, `${what} signature form`);
  if (e.signature) assert.equal(got.signature, e.signature, `${what} signature`);
  if (e.line) assert.equal(formatBleu(got, false), e.line, `${what} line`);
}

describe("corpus BLEU and chrF on WMT22 (../shared/ref/sacrebleu/corpus.json)", () => {
  if (skipWithoutShared) {
    test("reference figures", { skip: skipWithoutShared }, () => {});
    return;
  }
  const ref = readJson<{ data_dir: string; cases: Case[] }>("ref", "sacrebleu", "corpus.json");
  assert.ok(ref.cases.length >= 11, "the reference file lists its cases");
  for (const c of ref.cases) {
    test(`${c.metric}: ${c.name}`, () => {
      const hyps = readLines("data", "wmt22", c.hyp as string);
      const refs = (c.refs as string[]).map((f) => readLines("data", "wmt22", f));
      if (c.metric === "bleu") {
        checkBleu(corpusBleu(hyps, refs, bleuOptions(c.options)), c.expected, c.name as string);
      } else {
        const got = corpusChrf(hyps, refs, { wordOrder: c.options.word_order });
        close(got.score, c.expected.score, 0.005, `${c.name} score`);
        assert.equal(got.signature, c.expected.signature);
        assert.equal(formatChrf(got, false), c.expected.line);
      }
    });
  }
});

describe("sentence BLEU edge cases (../shared/ref/sacrebleu/sentences.json)", () => {
  if (skipWithoutShared) {
    test("reference figures", { skip: skipWithoutShared }, () => {});
    return;
  }
  const ref = readJson<{ cases: Case[] }>("ref", "sacrebleu", "sentences.json");
  assert.ok(ref.cases.length >= 61);
  ref.cases.forEach((c, i) => {
    const label = `${i + 1}: ${JSON.stringify(c.hyp ?? c.hyp_lines?.[0])} ${JSON.stringify(c.options)}`;
    test(`${c.metric} ${label}`, () => {
      if (c.metric === "sentence_bleu") {
        const got = sentenceBleu(c.hyp as string, c.refs as string[], bleuOptions(c.options));
        checkBleu(got, c.expected, label);
      } else {
        // A corpus of the edge cases: ref_lines[k] is the k-th reference stream.
        const got = corpusBleu(c.hyp_lines as string[], c.ref_lines as string[][], {
          ...bleuOptions(c.options),
        });
        checkBleu(got, c.expected, label);
      }
    });
  });
});
