// One-hypothesis-per-row decoding: at each step every unfinished row picks one next token
// (`choose`: the most likely one for greedy decoding, a draw for sampling). Finished rows are
// dropped from the decoder's batch, so the cost follows the rows still running.
import { getBackend } from "../tensor/dispatch.js";
import { logSoftmaxRows, processLogProbs } from "./processors.js";
import {
  type GenerationOptions,
  type Hypothesis,
  type IncrementalDecoder,
  RESERVE_STEPS,
} from "./types.js";

/** Picks a token from one row of processed log-probs [V]. */
export type TokenChooser = (logProbs: Float32Array) => number;

export function decodeStepwise(
  decoder: IncrementalDecoder,
  options: GenerationOptions,
  choose: TokenChooser,
): Hypothesis[] {
  const N = decoder.rows;
  const V = decoder.vocabSize;
  const out: Hypothesis[] = Array.from({ length: N }, () => ({ tokens: [], logProb: 0, score: 0 }));
  let live = Array.from({ length: N }, (_, i) => i); // sentence index of each decoder row
  let last = new Int32Array(N).fill(options.startToken);
  decoder.reserve?.(Math.min(options.maxLength, RESERVE_STEPS));
  // Greedy choices of all rows at once on the backend's selection kernel (a JS loop over
  // rows x V was a few percent of a batched step).
  const picks = choose === argmax ? new Int32Array(N) : null;
  for (let step = 0; step < options.maxLength && live.length > 0; step++) {
    const lp = decoder.next(last);
    logSoftmaxRows(lp, live.length, V);
    processLogProbs(
      lp,
      V,
      live.map((s) => out[s].tokens),
      step,
      options,
    );
    const keep: number[] = [];
    const nextLast: number[] = [];
    if (picks) argmaxRows(lp, live.length, V, picks);
    live.forEach((s, r) => {
      const row = lp.subarray(r * V, (r + 1) * V);
      const t = picks ? picks[r] : choose(row);
      out[s].tokens.push(t);
      out[s].logProb += row[t];
      if (t !== options.eosToken) {
        keep.push(r);
        nextLast.push(t);
      }
    });
    if (keep.length < live.length && keep.length > 0) decoder.reorder(keep);
    live = keep.map((r) => live[r]);
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

/** Greedy decoding: every row takes its most likely next token. */
export function greedy(decoder: IncrementalDecoder, options: GenerationOptions): Hypothesis[] {
  return decodeStepwise(decoder, options, argmax);
}
