// ROUGE-N and ROUGE-L (Lin, 2004) exactly as Google's `rouge-score` package computes them for a
// single target (reference) and prediction: n-gram overlap clipped by counts, and the longest
// common subsequence of tokens, each as precision, recall and F1 (fractions in [0, 1]).
import { MaskwiseError } from "../util/errors.js";
import { lineCount } from "./refs.js";
import { tokenizeRouge } from "./tokenize-rouge.js";

export interface RougeTriple {
  precision: number;
  recall: number;
  fmeasure: number;
}

export type RougeType = "rouge1" | "rouge2" | "rougeL";

export const ROUGE_TYPES: readonly RougeType[] = ["rouge1", "rouge2", "rougeL"];

export type RougeScores = Record<RougeType, RougeTriple>;

export interface RougeOptions {
  /** Porter-stem words longer than three letters (rouge-score's `use_stemmer`). */
  useStemmer?: boolean;
}

/** rouge-score's `scoring.fmeasure`: the harmonic mean, 0 when both are 0. */
function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    // Tokens are [a-z0-9]+, so a space cannot make two n-grams share a key.
    const key = n === 1 ? tokens[i] : tokens.slice(i, i + n).join(" ");
    m.set(key, (m.get(key) ?? 0) + 1);
  }
  return m;
}

/** ROUGE-N: clipped n-gram overlap over max(count, 1) of prediction (P) and target (R). */
export function rougeN(target: readonly string[], prediction: readonly string[], n: number) {
  if (!Number.isInteger(n) || n <= 0) {
    throw new MaskwiseError(`ROUGE-N needs a positive integer n, got ${n}`, {
      code: "E_ARG",
      where: "rougeN",
    });
  }
  const t = ngramCounts(target, n);
  const p = ngramCounts(prediction, n);
  let overlap = 0;
  let targetCount = 0;
  for (const [g, c] of t) {
    targetCount += c;
    overlap += Math.min(c, p.get(g) ?? 0);
  }
  let predictionCount = 0;
  for (const c of p.values()) predictionCount += c;
  const precision = overlap / Math.max(predictionCount, 1);
  const recall = overlap / Math.max(targetCount, 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** Length of the longest common subsequence, by the usual dynamic programme over two rows. */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Int32Array(b.length + 1);
  let cur = new Int32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/** ROUGE-L: LCS length over prediction length (P) and target length (R); 0 if either is empty. */
export function rougeL(target: readonly string[], prediction: readonly string[]): RougeTriple {
  if (target.length === 0 || prediction.length === 0) {
    return { precision: 0, recall: 0, fmeasure: 0 };
  }
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

/** `RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer).score(target, prediction)`. */
export function rougeScore(
  target: string,
  prediction: string,
  options: RougeOptions = {},
): RougeScores {
  const t = tokenizeRouge(target, options.useStemmer);
  const p = tokenizeRouge(prediction, options.useStemmer);
  return { rouge1: rougeN(t, p, 1), rouge2: rougeN(t, p, 2), rougeL: rougeL(t, p) };
}

/**
 * `RougeScorer.score_multi(targets, prediction)`: per ROUGE type, the scores against the target
 * with the highest F (the first of equals).
 */
export function rougeScoreMulti(
  targets: readonly string[],
  prediction: string,
  options: RougeOptions = {},
): RougeScores {
  if (targets.length === 0) {
    throw new MaskwiseError("ROUGE needs at least one target", {
      code: "E_INPUT",
      where: "rougeScoreMulti",
    });
  }
  const all = targets.map((t) => rougeScore(t, prediction, options));
  const best = {} as RougeScores;
  for (const type of ROUGE_TYPES) {
    let k = 0;
    for (let i = 1; i < all.length; i++) if (all[i][type].fmeasure > all[k][type].fmeasure) k = i;
    best[type] = all[k][type];
  }
  return best;
}

export interface CorpusRouge {
  /** Plain means over the pairs of precision, recall and F, per ROUGE type. */
  mean: RougeScores;
  /** Per pair, as rougeScoreMulti returns. */
  perPair: RougeScores[];
  /** e.g. `nrefs:1|stem:no|tok:rouge-score|version:0.1.2`. */
  signature: string;
}

/** The rouge-score release whose definitions this module reproduces. */
export const ROUGE_SCORE_VERSION = "0.1.2";

/**
 * ROUGE over a corpus: each prediction against its targets (refs[k][i]: target k of pair i),
 * averaged over pairs, as summarization papers report rouge-score figures (without the bootstrap
 * interval).
 */
export function corpusRouge(
  predictions: readonly string[],
  refs: readonly (readonly string[])[],
  options: RougeOptions = {},
): CorpusRouge {
  if (refs.length === 0) {
    throw new MaskwiseError("ROUGE needs at least one reference stream", {
      code: "E_INPUT",
      where: "corpusRouge",
    });
  }
  for (const [k, stream] of refs.entries()) {
    if (stream.length !== predictions.length) {
      throw new MaskwiseError(
        `reference ${k + 1} has ${lineCount(stream.length)} but the hypothesis has ${lineCount(predictions.length)}`,
        { code: "E_LENGTH", where: "ROUGE", hint: "give every reference as many lines" },
      );
    }
  }
  const perPair = predictions.map((p, i) =>
    rougeScoreMulti(
      refs.map((s) => s[i]),
      p,
      options,
    ),
  );
  const mean = {} as RougeScores;
  for (const type of ROUGE_TYPES) {
    let sp = 0;
    let sr = 0;
    let sf = 0;
    for (const s of perPair) {
      sp += s[type].precision;
      sr += s[type].recall;
      sf += s[type].fmeasure;
    }
    const n = Math.max(perPair.length, 1);
    mean[type] = { precision: sp / n, recall: sr / n, fmeasure: sf / n };
  }
  const signature = [
    `nrefs:${refs.length}`,
    `stem:${options.useStemmer ? "yes" : "no"}`,
    "tok:rouge-score",
    `version:${ROUGE_SCORE_VERSION}`,
  ].join("|");
  return { mean, perPair, signature };
}
