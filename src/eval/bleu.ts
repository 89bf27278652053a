// BLEU (Papineni et al., 2002) exactly as sacreBLEU 2.6.0 computes it: corpus-level n-gram
// statistics summed over segments, clipped counts against the per-n-gram maximum over the
// references, the closest reference length for the brevity penalty, and one of four smoothing
// methods (Chen and Cherry, 2014). Every arithmetic step follows sacreBLEU's order of operations
// so the floating-point results agree, not just the rounded ones.
import { MaskwiseError } from "../util/errors.js";
import { type NgramCounts, wordNgrams } from "./ngrams.js";
import { pyFixed, pyRstrip, pySplit } from "./pystr.js";
import { checkStreams, nrefsOf, type RefStreams, segmentRefs } from "./refs.js";
import { bleuSignature, SMOOTH_DEFAULTS, type SmoothMethod } from "./signature.js";
import { getTokenizer } from "./tokenizers.js";

export interface BleuOptions {
  /** sacreBLEU tokenizer name: 13a (default), intl, zh, char, none. */
  tokenize?: string;
  /** Lowercase hypothesis and references before tokenizing (signature `case:lc`). */
  lowercase?: boolean;
  /** exp (default; mteval's NIST smoothing), floor, add-k, none. */
  smoothMethod?: SmoothMethod;
  /** The value for floor (default 0.1) and add-k (default 1); ignored by exp and none. */
  smoothValue?: number | null;
  /**
   * Average only over the n-gram orders the hypothesis has (sentence BLEU needs this: a
   * three-word sentence has no 4-grams). Default: false for corpus BLEU, true for sentence BLEU.
   */
  effectiveOrder?: boolean;
  /** Highest n-gram order (default 4). */
  maxNgramOrder?: number;
}

/** Summed segment statistics: lengths and, per order n, matched and total hypothesis n-grams. */
export interface BleuStats {
  hypLen: number;
  refLen: number;
  /** correct[n - 1]: clipped matches of order n. */
  correct: number[];
  /** total[n - 1]: hypothesis n-grams of order n. */
  total: number[];
}

export interface BleuScore {
  /** BLEU in [0, 100]. */
  score: number;
  /** Matched n-grams per order (after add-k smoothing, as sacreBLEU reports them). */
  counts: number[];
  /** Hypothesis n-grams per order (after add-k smoothing, likewise). */
  totals: number[];
  /** Modified n-gram precisions in percent. */
  precisions: number[];
  /** Brevity penalty. */
  bp: number;
  /** hypLen / refLen (0 when refLen is 0). */
  ratio: number;
  hypLen: number;
  refLen: number;
  /** sacreBLEU's signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`. */
  signature: string;
}

/** sacreBLEU's `my_log`: log with log(0) floored to a large negative number instead of -inf. */
function myLog(x: number): number {
  return x === 0 ? -9999999999 : Math.log(x);
}

/**
 * BLEU from summed statistics (sacreBLEU's `BLEU.compute_bleu`). Returns everything but the
 * signature. With add-k, the counts and totals of orders 2 and up are increased by k in place of
 * copies, and returned so, since that is what sacreBLEU reports.
 */
export function computeBleu(
  stats: BleuStats,
  smoothMethod: SmoothMethod = "none",
  smoothValue: number | null = null,
  effectiveOrder = false,
): Omit<BleuScore, "signature"> {
  const k = smoothValue ?? SMOOTH_DEFAULTS[smoothMethod] ?? 0;
  const correct = stats.correct.slice();
  const total = stats.total.slice();
  const { hypLen, refLen } = stats;
  const maxOrder = correct.length;
  const bp = hypLen < refLen ? (hypLen > 0 ? Math.exp(1 - refLen / hypLen) : 0) : 1;
  const ratio = refLen ? hypLen / refLen : 0;
  const precisions = new Array<number>(maxOrder).fill(0);
  const result = (score: number) => ({
    score,
    counts: correct,
    totals: total,
    precisions,
    bp,
    ratio,
    hypLen,
    refLen,
  });

  // No match of any order: 0, whatever the smoothing (sacreBLEU issue #141).
  if (!correct.some((c) => c !== 0)) return result(0);

  let smoothMteval = 1;
  let effOrder = maxOrder;
  for (let n = 1; n <= maxOrder; n++) {
    if (smoothMethod === "add-k" && n > 1) {
      correct[n - 1] += k;
      total[n - 1] += k;
    }
    if (total[n - 1] === 0) break;
    if (effectiveOrder) effOrder = n;
    if (correct[n - 1] === 0) {
      if (smoothMethod === "exp") {
        // NIST geometric sequence: 1/2, 1/4, ... for each successive order without a match.
        smoothMteval *= 2;
        precisions[n - 1] = 100 / (smoothMteval * total[n - 1]);
      } else if (smoothMethod === "floor") {
        precisions[n - 1] = (100 * k) / total[n - 1];
      }
    } else {
      precisions[n - 1] = (100 * correct[n - 1]) / total[n - 1];
    }
  }
  let logSum = 0;
  for (let i = 0; i < effOrder; i++) logSum += myLog(precisions[i]);
  return result(bp * Math.exp(logSum / effOrder));
}

/**
 * The reference length closest to the hypothesis length; on a tie, the shorter one
 * (sacreBLEU's `_get_closest_ref_len`).
 */
export function closestRefLen(hypLen: number, refLens: readonly number[]): number {
  let bestDiff = -1;
  let best = -1;
  for (const r of refLens) {
    const diff = Math.abs(hypLen - r);
    if (bestDiff === -1 || diff < bestDiff) {
      bestDiff = diff;
      best = r;
    } else if (diff === bestDiff && r < best) {
      best = r;
    }
  }
  return best;
}

interface RefInfo {
  /** Per order, each n-gram's highest count in any one reference. */
  ngrams: NgramCounts;
  lens: number[];
}

/** A BLEU scorer with fixed options; `corpusScore` and `sentenceScore` share its tokenizer. */
export class Bleu {
  readonly tokenize: string;
  readonly lowercase: boolean;
  readonly smoothMethod: SmoothMethod;
  readonly smoothValue: number | null;
  readonly effectiveOrder: boolean;
  readonly maxNgramOrder: number;
  private readonly tokenizer: (line: string) => string;

  constructor(options: BleuOptions = {}, defaultEffectiveOrder = false) {
    this.tokenize = options.tokenize ?? "13a";
    this.tokenizer = getTokenizer(this.tokenize);
    this.lowercase = options.lowercase ?? false;
    this.smoothMethod = options.smoothMethod ?? "exp";
    if (!Object.hasOwn(SMOOTH_DEFAULTS, this.smoothMethod)) {
      throw new MaskwiseError(`unknown BLEU smoothing method '${this.smoothMethod}'`, {
        code: "E_ARG",
        where: "smoothMethod",
        hint: "use one of exp, floor, add-k, none",
      });
    }
    this.smoothValue = options.smoothValue ?? null;
    this.effectiveOrder = options.effectiveOrder ?? defaultEffectiveOrder;
    this.maxNgramOrder = options.maxNgramOrder ?? 4;
  }

  /** Lowercase (optionally), strip trailing whitespace, tokenize, split into words. */
  preprocess(sentence: string): string[] {
    const s = this.lowercase ? sentence.toLowerCase() : sentence;
    return pySplit(this.tokenizer(pyRstrip(s)));
  }

  private refInfo(refs: readonly string[]): RefInfo {
    let merged: NgramCounts | null = null;
    const lens: number[] = [];
    for (const ref of refs) {
      const tokens = this.preprocess(ref);
      lens.push(tokens.length);
      const counts = wordNgrams(tokens, this.maxNgramOrder);
      if (merged === null) {
        merged = counts;
        continue;
      }
      for (let n = 0; n < counts.length; n++) {
        const into = merged[n];
        for (const [g, c] of counts[n]) if (c > (into.get(g) ?? 0)) into.set(g, c);
      }
    }
    return { ngrams: merged as NgramCounts, lens };
  }

  /** The statistics of one segment against its (non-empty) references. */
  segmentStats(hyp: string, refs: readonly string[]): BleuStats {
    const ref = this.refInfo(refs);
    const tokens = this.preprocess(hyp);
    const hypNgrams = wordNgrams(tokens, this.maxNgramOrder);
    const correct: number[] = [];
    const total: number[] = [];
    for (let n = 0; n < this.maxNgramOrder; n++) {
      const refN = ref.ngrams[n];
      let t = 0;
      let c = 0;
      for (const [g, count] of hypNgrams[n]) {
        t += count;
        const r = refN.get(g);
        if (r !== undefined) c += Math.min(count, r);
      }
      correct.push(c);
      total.push(t);
    }
    return {
      hypLen: tokens.length,
      refLen: closestRefLen(tokens.length, ref.lens),
      correct,
      total,
    };
  }

  /** The signature for this scorer with `nrefs` references. */
  signature(nrefs: number | "var"): string {
    return bleuSignature({
      nrefs,
      lowercase: this.lowercase,
      effectiveOrder: this.effectiveOrder,
      tokenize: this.tokenize,
      smoothMethod: this.smoothMethod,
      smoothValue: this.smoothValue,
    });
  }

  /** Score from summed statistics. */
  scoreStats(stats: BleuStats, nrefs: number | "var"): BleuScore {
    const s = computeBleu(stats, this.smoothMethod, this.smoothValue, this.effectiveOrder);
    return { ...s, signature: this.signature(nrefs) };
  }

  /**
   * Corpus BLEU of `hyps` against reference streams `refs` (refs[k][i]: reference k of
   * segment i), as `sacrebleu.corpus_bleu(hyps, refs)`.
   */
  corpusScore(hyps: readonly string[], refs: RefStreams): BleuScore {
    checkStreams(hyps, refs, "BLEU");
    const order = this.maxNgramOrder;
    const sum: BleuStats = {
      hypLen: 0,
      refLen: 0,
      correct: new Array(order).fill(0),
      total: new Array(order).fill(0),
    };
    const nrefs = new Set<number>();
    for (let i = 0; i < hyps.length; i++) {
      const lines = segmentRefs(refs, i, "BLEU");
      nrefs.add(lines.length);
      const s = this.segmentStats(hyps[i], lines);
      sum.hypLen += s.hypLen;
      sum.refLen += s.refLen;
      for (let n = 0; n < order; n++) {
        sum.correct[n] += s.correct[n];
        sum.total[n] += s.total[n];
      }
    }
    return this.scoreStats(sum, nrefsOf(nrefs));
  }

  /** BLEU of one sentence against one or more references, as `BLEU.sentence_score`. */
  sentenceScore(hyp: string, refs: readonly string[]): BleuScore {
    const lines = segmentRefs(
      refs.map((r) => [r]),
      0,
      "sentence BLEU",
    );
    return this.scoreStats(this.segmentStats(hyp, lines), lines.length);
  }
}

/** Corpus BLEU; options default to sacreBLEU's (13a, exp smoothing, no effective order). */
export function corpusBleu(
  hyps: readonly string[],
  refs: RefStreams,
  options: BleuOptions = {},
): BleuScore {
  return new Bleu(options).corpusScore(hyps, refs);
}

/**
 * Sentence BLEU; options default to `sacrebleu.sentence_bleu`'s, which include effective order.
 */
export function sentenceBleu(
  hyp: string,
  refs: readonly string[],
  options: BleuOptions = {},
): BleuScore {
  return new Bleu(options, true).sentenceScore(hyp, refs);
}

/**
 * sacreBLEU's text line: `BLEU|<signature> = 38.37 66.9/44.1/31.6/23.3 (BP = 1.000 ratio = 1.005
 * hyp_len = 39114 ref_len = 38914)`; without the signature when `withSignature` is false. The
 * score has `width` decimals (sacreBLEU's `Score.format` default 2; its command line's is 1).
 */
export function formatBleu(s: BleuScore, withSignature = true, width = 2): string {
  const name = withSignature ? `BLEU|${s.signature}` : "BLEU";
  const prec = s.precisions.map((p) => pyFixed(p, 1)).join("/");
  return (
    `${name} = ${pyFixed(s.score, width)} ${prec} (BP = ${pyFixed(s.bp, 3)} ` +
    `ratio = ${pyFixed(s.ratio, 3)} hyp_len = ${s.hypLen} ref_len = ${s.refLen})`
  );
}
