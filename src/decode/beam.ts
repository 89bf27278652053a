// Beam search as fairseq's sequence generator does it. Every sentence keeps `beamSize` live
// hypotheses; at each step the 2 * beamSize best continuations by summed log-probability are
// considered in order: one ending in eos among the first beamSize is finished, with the score
//   logProb / length^lengthPenalty   (length counts generated tokens, eos included);
// the others continue until beamSize are live again. A sentence is done when it has beamSize
// finished hypotheses; at maxLength the live ones are finished as they stand. Rows of finished
// sentences leave the decoder's batch.
import { getBackend } from "../tensor/dispatch.js";
import { logSoftmaxRows, processLogProbs, processorsMayAct } from "./processors.js";
import {
  type GenerationOptions,
  type Hypothesis,
  type IncrementalDecoder,
  RESERVE_STEPS,
  type SentenceFeed,
  wantsMore,
} from "./types.js";

export interface BeamOptions extends GenerationOptions {
  beamSize: number;
  /** alpha in score / length^alpha (default 1: the mean log-probability per token). */
  lengthPenalty?: number;
  /** Hypotheses to return per sentence (default 1, at most beamSize). */
  nBest?: number;
}

interface Live {
  tokens: number[];
  logProb: number;
  /** The decoder row holding this hypothesis's cache. */
  row: number;
}

export function lengthNormalised(logProb: number, length: number, alpha: number): number {
  return logProb / Math.max(1, length) ** alpha;
}

/**
 * Beam search over every row of `decoder` (each row one sentence's first hypothesis); with
 * `feed`, sentences join as others finish (continuous batching: `feed.rows` sentences of
 * beamSize rows each), and the result holds every sentence, in the feed's numbering.
 */
export function beamSearch(
  decoder: IncrementalDecoder,
  options: BeamOptions,
  feed?: SentenceFeed,
): Hypothesis[][] {
  const N = decoder.rows;
  const V = decoder.vocabSize;
  const K = options.beamSize;
  const alpha = options.lengthPenalty ?? 1;
  const nBest = Math.min(options.nBest ?? 1, K);
  const finished: Hypothesis[][] = [];
  const limits: number[] = [];
  // Sentence s starts as one live hypothesis, in decoder row `row`.
  const live: Live[][] = [];
  let active: number[] = [];
  const join = (n: number, firstRow: number) => {
    for (let i = 0; i < n; i++) {
      const s = finished.length;
      limits.push(feed ? feed.maxLength(s) : options.maxLength);
      finished.push([]);
      live.push([{ tokens: [], logProb: 0, row: firstRow + i }]);
      active.push(s);
    }
  };
  join(N, 0);
  decoder.reserve?.(Math.min(Math.max(0, ...limits), RESERVE_STEPS), N * K);

  while (active.length > 0) {
    const hyps = active.flatMap((s) => live[s]);
    const last = new Int32Array(hyps.length);
    for (let i = 0; i < hyps.length; i++) {
      const tokens = hyps[i].tokens;
      last[i] = tokens.length ? tokens[tokens.length - 1] : options.startToken;
    }
    const lp = decoder.next(last);
    logSoftmaxRows(lp, hyps.length, V);
    // A sentence's hypotheses are all as long as the steps it has been decoding.
    const prefixes = hyps.map((h) => h.tokens);
    if (processorsMayAct(options, prefixes)) {
      processLogProbs(
        lp,
        V,
        prefixes,
        prefixes.map((p) => p.length),
        options,
        active.flatMap((s) => live[s].map(() => limits[s])),
      );
    }
    const keepRows: number[] = [];
    const nextActive: number[] = [];
    // The best 2K continuations (hypothesis, token) of each sentence by summed log-prob.
    const best = topContinuations(
      active.map((s) => live[s]),
      lp,
      V,
      2 * K,
    );
    for (let a = 0; a < active.length; a++) {
      const s = active[a];
      const own = live[s];
      const step = own[0].tokens.length;
      const next: Live[] = [];
      const from = a * best.M;
      for (let c = 0; c < best.counts[a] && next.length < K; c++) {
        const h = own[best.hyp[from + c]];
        const token = best.token[from + c];
        const logProb = best.score[from + c];
        const tokens = h.tokens.slice();
        tokens.push(token);
        if (token === options.eosToken) {
          if (c < K && finished[s].length < K)
            finished[s].push({
              tokens,
              logProb,
              score: lengthNormalised(logProb, tokens.length, alpha),
            });
        } else {
          next.push({ tokens, logProb, row: h.row });
        }
      }
      live[s] = [];
      if (finished[s].length >= K || next.length === 0) continue;
      if (step === limits[s] - 1) {
        for (const h of next)
          finished[s].push({
            tokens: h.tokens,
            logProb: h.logProb,
            score: lengthNormalised(h.logProb, h.tokens.length, alpha),
          });
        continue;
      }
      // Re-home the live hypotheses onto the rows of the decoder's next batch.
      for (const h of next) {
        keepRows.push(h.row);
        h.row = keepRows.length - 1;
      }
      live[s] = next;
      nextActive.push(s);
    }
    active = nextActive;
    const more = feed !== undefined && wantsMore(active.length, feed.rows);
    if (active.length === 0 && !more) break;
    decoder.reorder(keepRows);
    if (more) join(feed.admit(feed.rows - active.length), keepRows.length);
  }
  return finished.map((f) => [...f].sort((a, b) => b.score - a.score).slice(0, nBest));
}

/** Each sentence's continuations: sentence a's c-th best at a * M + c, for c < counts[a]. */
interface Continuations {
  M: number;
  counts: Int32Array;
  /** The continued hypothesis's index among its sentence's live ones. */
  hyp: Int32Array;
  token: Int32Array;
  /** Its summed log-prob. */
  score: Float64Array;
}

/**
 * The best M continuations of each sentence's hypotheses by summed log-prob (ties: lower token,
 * then earlier hypothesis), every sentence in one call of the backend's selection kernel: one
 * pass over each K x V block of log-probs keeping a small sorted array, no K x V list.
 */
function topContinuations(
  sentences: readonly (readonly Live[])[],
  lp: Float32Array,
  V: number,
  M: number,
): Continuations {
  const G = sentences.length;
  const offsets = new Int32Array(G + 1);
  for (let g = 0; g < G; g++) offsets[g + 1] = offsets[g] + sentences[g].length;
  const n = offsets[G];
  const rows = new Int32Array(n);
  const base = new Float64Array(n);
  for (let g = 0; g < G; g++) {
    const own = sentences[g];
    for (let i = 0; i < own.length; i++) {
      rows[offsets[g] + i] = own[i].row;
      base[offsets[g] + i] = own[i].logProb;
    }
  }
  const out: Continuations = {
    M,
    counts: new Int32Array(G),
    hyp: new Int32Array(G * M),
    token: new Int32Array(G * M),
    score: new Float64Array(G * M),
  };
  const { counts, hyp, token, score } = out;
  getBackend().decodeTopKGroups({ lp, V, rows, base, offsets, M, hyp, token, score, counts });
  return out;
}
