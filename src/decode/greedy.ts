// One-hypothesis-per-row decoding: at each step every unfinished row picks one next token
// (`choose`: the most likely one for greedy decoding, a draw for sampling). Finished rows are
// dropped from the decoder's batch, so the cost follows the rows still running.
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

/** Picks a token from one row of processed log-probs [V]. */
export type TokenChooser = (logProbs: Float32Array) => number;

/**
 * Decodes every row of `decoder` one token per step until eos or the length limit; with `feed`,
 * sentences join the batch as rows finish (continuous batching), and the result holds every
 * sentence, in the feed's numbering.
 */
export function decodeStepwise(
  decoder: IncrementalDecoder,
  options: GenerationOptions,
  choose: TokenChooser,
  feed?: SentenceFeed,
): Hypothesis[] {
  const N = decoder.rows;
  const V = decoder.vocabSize;
  const out: Hypothesis[] = [];
  const limits: number[] = [];
  const join = (n: number) => {
    for (let i = 0; i < n; i++) {
      limits.push(feed ? feed.maxLength(out.length) : options.maxLength);
      out.push({ tokens: [], logProb: 0, score: 0 });
    }
  };
  join(N);
  let live = Array.from({ length: N }, (_, i) => i); // sentence index of each decoder row
  let last = new Int32Array(N).fill(options.startToken);
  decoder.reserve?.(Math.min(Math.max(0, ...limits), RESERVE_STEPS));
  // Greedy choices of all rows at once on the backend's selection kernel (a JS loop over
  // rows x V was a few percent of a batched step).
  const greedyPicks = choose === argmax;
  let picks = new Int32Array(N);
  while (live.length > 0) {
    const lp = decoder.next(last);
    logSoftmaxRows(lp, live.length, V);
    const prefixes = live.map((s) => out[s].tokens);
    if (processorsMayAct(options, prefixes))
      processLogProbs(
        lp,
        V,
        prefixes,
        prefixes.map((p) => p.length),
        options,
        live.map((s) => limits[s]),
      );
    const keep: number[] = [];
    const nextLast: number[] = [];
    if (picks.length < live.length) picks = new Int32Array(live.length);
    if (greedyPicks) argmaxRows(lp, live.length, V, picks);
    live.forEach((s, r) => {
      const row = lp.subarray(r * V, (r + 1) * V);
      const t = greedyPicks ? picks[r] : choose(row);
      const h = out[s];
      h.tokens.push(t);
      h.logProb += row[t];
      if (t !== options.eosToken && h.tokens.length < limits[s]) {
        keep.push(r);
        nextLast.push(t);
      }
    });
    if (keep.length < live.length && (keep.length > 0 || feed)) decoder.reorder(keep);
    live = keep.map((r) => live[r]);
    if (feed && wantsMore(live.length, feed.rows)) {
      const first = out.length;
      const n = feed.admit(feed.rows - live.length);
      join(n);
      for (let i = 0; i < n; i++) {
        live.push(first + i);
        nextLast.push(options.startToken);
      }
    }
    last = Int32Array.from(nextLast);
  }
  for (const h of out) h.score = h.logProb;
  return out;
}

/** The index of the largest log-prob (the first one on ties). */
export function argmax(row: Float32Array): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

/**
 * argmax of each row of x [rows, V] into out [rows], the same choices as `argmax` row by row:
 * the backend's best-continuation kernel with one hypothesis and M = 1 (ties to the lower token,
 * NaN and -Infinity never chosen), and `argmax` itself for a row it gives nothing for (all
 * -Infinity) or whose first entry is NaN (which `argmax` keeps).
 */
export function argmaxRows(x: Float32Array, rows: number, V: number, out: Int32Array): void {
  // Every row its own group of one hypothesis: one call for the batch.
  const offsets = Int32Array.from({ length: rows + 1 }, (_, r) => r);
  const row = offsets.subarray(0, rows);
  const token = new Int32Array(rows);
  const counts = new Int32Array(rows);
  getBackend().decodeTopKGroups({
    lp: x,
    V,
    rows: row,
    base: new Float64Array(rows),
    offsets,
    M: 1,
    hyp: new Int32Array(rows),
    token,
    score: new Float64Array(rows),
    counts,
  });
  for (let r = 0; r < rows; r++)
    out[r] =
      counts[r] === 1 && !Number.isNaN(x[r * V])
        ? token[r]
        : argmax(x.subarray(r * V, (r + 1) * V));
}

/**
 * Greedy decoding: every row takes its most likely next token. With `feed`, sentences join as
 * others finish (decodeStepwise).
 */
export function greedy(
  decoder: IncrementalDecoder,
  options: GenerationOptions,
  feed?: SentenceFeed,
): Hypothesis[] {
  return decodeStepwise(decoder, options, argmax, feed);
}
