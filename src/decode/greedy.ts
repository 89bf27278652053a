// Greedy decoding: at each step every unfinished row takes its most likely next token. Finished
// rows are dropped from the decoder's batch, so the cost follows the rows still running.
import { logSoftmaxRows, processLogProbs } from "./processors.js";
import type { GenerationOptions, Hypothesis, IncrementalDecoder } from "./types.js";

export function greedy(decoder: IncrementalDecoder, options: GenerationOptions): Hypothesis[] {
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
      let best = 0;
      let bestLp = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < V; j++) {
        if (lp[r * V + j] > bestLp) {
          bestLp = lp[r * V + j];
          best = j;
        }
      }
      out[s].tokens.push(best);
      out[s].logProb += bestLp;
      if (best !== options.eosToken) {
        keep.push(r);
        nextLast.push(best);
      }
    });
    if (keep.length < live.length && keep.length > 0) decoder.reorder(keep);
    live = keep.map((r) => live[r]);
    last = Int32Array.from(nextLast);
  }
  for (const h of out) h.score = h.logProb;
  return out;
}
