// chrF (Popović, 2015) and chrF++ (Popović, 2017) exactly as sacreBLEU 2.6.0 computes them:
// character n-grams of orders 1..6 with whitespace removed, plus word n-grams of orders 1..2 for
// chrF++, matched per order; statistics are summed over the corpus and turned into an F-beta
// score (beta = 2: recall weighs twice as much) of the precision and recall averaged over the
// orders that occur. With several references, each segment keeps the statistics of the
// reference that gives it the best F-score.
import { charNgrams, wordNgramsOfOrder } from "./ngrams.js";
import { pyFixed, pyRemoveSpace, pySplit } from "./pystr.js";
import { checkStreams, nrefsOf, type RefStreams, segmentRefs } from "./refs.js";
import { chrfSignature } from "./signature.js";

export interface ChrfOptions {
  /** Character n-gram order (default 6). */
  charOrder?: number;
  /** Word n-gram order: 0 for chrF (default), 2 for chrF++. */
  wordOrder?: number;
  /** Recall weight (default 2). */
  beta?: number;
  lowercase?: boolean;
  /** Keep whitespace inside character n-grams (default false). */
  whitespace?: boolean;
  /**
   * Average the per-order F-scores with an epsilon for empty orders, as chrF++.py, Moses and NLTK
   * do (signature `eff:no`), instead of sacreBLEU's default effective-order averaging of
   * precision and recall (`eff:yes`).
   */
  epsSmoothing?: boolean;
}

export interface ChrfScore {
  /** chrF in [0, 100]. */
  score: number;
  /** `chrF2` or `chrF2++` (one + per word order). */
  name: string;
  /** Per order (characters 1..charOrder, then words 1..wordOrder): [hyp, ref, match] counts. */
  stats: number[];
  signature: string;
}

/** The ASCII punctuation chrF++ splits off word edges (Python's `string.punctuation`). */
const PUNCTS = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");

/**
 * chrF++'s word tokenization: split on whitespace, then split one punctuation character off the
 * end of a word, or else off its start ("(hi)" gives "(hi" and ")", as in sacreBLEU).
 */
export function chrfWords(sentence: string): string[] {
  const out: string[] = [];
  for (const w of pySplit(sentence)) {
    // A word of one UTF-16 unit is one character; an astral character (two units) is never
    // punctuation, so treating it as a longer word gives the same result.
    if (w.length === 1) out.push(w);
    else if (PUNCTS.has(w[w.length - 1])) out.push(w.slice(0, -1), w[w.length - 1]);
    else if (PUNCTS.has(w[0])) out.push(w[0], w.slice(1));
    else out.push(w);
  }
  return out;
}

type Ngrams = Map<string, number>[];

/** Match statistics of one order: [hyp count (0 if the reference has none), ref count, matches]. */
function matchStats(hyp: Map<string, number>, ref: Map<string, number>, out: number[]): void {
  let match = 0;
  let hypCount = 0;
  for (const [g, c] of hyp) {
    hypCount += c;
    const r = ref.get(g);
    if (r !== undefined) match += Math.min(c, r);
  }
  let refCount = 0;
  for (const c of ref.values()) refCount += c;
  out.push(ref.size > 0 ? hypCount : 0, refCount, match);
}

export class Chrf {
  readonly charOrder: number;
  readonly wordOrder: number;
  readonly beta: number;
  readonly lowercase: boolean;
  readonly whitespace: boolean;
  readonly epsSmoothing: boolean;

  constructor(options: ChrfOptions = {}) {
    this.charOrder = options.charOrder ?? 6;
    this.wordOrder = options.wordOrder ?? 0;
    this.beta = options.beta ?? 2;
    this.lowercase = options.lowercase ?? false;
    this.whitespace = options.whitespace ?? false;
    this.epsSmoothing = options.epsSmoothing ?? false;
  }

  get name(): string {
    return `chrF${this.beta}${"+".repeat(this.wordOrder)}`;
  }

  private ngrams(sentence: string): Ngrams {
    const s = this.lowercase ? sentence.toLowerCase() : sentence;
    const all = charNgrams(this.whitespace ? s : pyRemoveSpace(s), this.charOrder);
    if (this.wordOrder > 0) {
      const words = chrfWords(s);
      for (let n = 1; n <= this.wordOrder; n++) all.push(wordNgramsOfOrder(words, n));
    }
    return all;
  }

  /**
   * The F-score of summed statistics (sacreBLEU's `_compute_f_score`), in [0, 100]. The sums run
   * in sacreBLEU's order so that the floating-point result is the same.
   */
  fScore(stats: readonly number[]): number {
    const eps = 1e-16;
    const factor = this.beta ** 2;
    const order = this.charOrder + this.wordOrder;
    let score = 0;
    let effectiveOrder = 0;
    let avgPrec = 0;
    let avgRec = 0;
    for (let i = 0; i < order; i++) {
      const nHyp = stats[3 * i];
      const nRef = stats[3 * i + 1];
      const nMatch = stats[3 * i + 2];
      const prec = nHyp > 0 ? nMatch / nHyp : eps;
      const rec = nRef > 0 ? nMatch / nRef : eps;
      const denom = factor * prec + rec;
      score += denom > 0 ? ((1 + factor) * prec * rec) / denom : eps;
      if (nHyp > 0 && nRef > 0) {
        avgPrec += prec;
        avgRec += rec;
        effectiveOrder += 1;
      }
    }
    if (this.epsSmoothing) return (100 * score) / order;
    if (effectiveOrder === 0) {
      avgPrec = 0;
      avgRec = 0;
    } else {
      avgPrec /= effectiveOrder;
      avgRec /= effectiveOrder;
    }
    if (avgPrec + avgRec) {
      let f = (1 + factor) * avgPrec * avgRec;
      f /= factor * avgPrec + avgRec;
      return 100 * f;
    }
    return 0;
  }

  /** The statistics of one segment: those of the reference with the best F-score. */
  segmentStats(hyp: string, refs: readonly string[]): number[] {
    const h = this.ngrams(hyp);
    let best: number[] = [];
    let bestF = -1;
    for (const ref of refs) {
      const r = this.ngrams(ref);
      const stats: number[] = [];
      for (let i = 0; i < h.length; i++) matchStats(h[i], r[i], stats);
      const f = this.fScore(stats);
      if (f > bestF) {
        bestF = f;
        best = stats;
      }
    }
    return best;
  }

  signature(nrefs: number | "var"): string {
    return chrfSignature({
      nrefs,
      lowercase: this.lowercase,
      charOrder: this.charOrder,
      wordOrder: this.wordOrder,
      whitespace: this.whitespace,
      epsSmoothing: this.epsSmoothing,
    });
  }

  /** Corpus chrF of `hyps` against reference streams (refs[k][i]), as `sacrebleu.corpus_chrf`. */
  corpusScore(hyps: readonly string[], refs: RefStreams): ChrfScore {
    checkStreams(hyps, refs, "chrF");
    const sum = new Array<number>(3 * (this.charOrder + this.wordOrder)).fill(0);
    const nrefs = new Set<number>();
    for (let i = 0; i < hyps.length; i++) {
      const lines = segmentRefs(refs, i, "chrF");
      nrefs.add(lines.length);
      const s = this.segmentStats(hyps[i], lines);
      for (let j = 0; j < sum.length; j++) sum[j] += s[j];
    }
    return {
      score: this.fScore(sum),
      name: this.name,
      stats: sum,
      signature: this.signature(nrefsOf(nrefs)),
    };
  }

  /** chrF of one sentence, as `CHRF.sentence_score`. */
  sentenceScore(hyp: string, refs: readonly string[]): ChrfScore {
    const lines = segmentRefs(
      refs.map((r) => [r]),
      0,
      "sentence chrF",
    );
    const stats = this.segmentStats(hyp, lines);
    return {
      score: this.fScore(stats),
      name: this.name,
      stats,
      signature: this.signature(lines.length),
    };
  }
}

export function corpusChrf(
  hyps: readonly string[],
  refs: RefStreams,
  options: ChrfOptions = {},
): ChrfScore {
  return new Chrf(options).corpusScore(hyps, refs);
}

export function sentenceChrf(
  hyp: string,
  refs: readonly string[],
  options: ChrfOptions = {},
): ChrfScore {
  return new Chrf(options).sentenceScore(hyp, refs);
}

/**
 * sacreBLEU's text line: `chrF2|<signature> = 64.64` (`chrF2++|…` for chrF++), the score with
 * `width` decimals.
 */
export function formatChrf(s: ChrfScore, withSignature = true, width = 2): string {
  return `${withSignature ? `${s.name}|${s.signature}` : s.name} = ${pyFixed(s.score, width)}`;
}
