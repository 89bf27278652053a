// One-hypothesis-per-row decoding: at each step every unfinished row picks one next token
// (`choose`: the most likely one for greedy decoding, a draw for sampling). Finished rows are
// dropped from the decoder's batch, so the cost follows the rows still running.
import { logSoftmaxRows, processLogProbs } from "./processors.js";
import type { GenerationOptions, Hypothesis, IncrementalDecoder } from "./types.js";

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
    live.forEach((s, r) => {
      const row = lp.subarray(r * V, (r + 1) * V);
      const t = choose(row);
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

/** Greedy decoding: every row takes its most likely next token. */
export function greedy(decoder: IncrementalDecoder, options: GenerationOptions): Hypothesis[] {
  return decodeStepwise(decoder, options, argmax);
}
