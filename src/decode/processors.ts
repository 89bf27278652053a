// Adjustments of next-token log-probabilities before a choice is made, applied in this order:
// forced first token, minimum length (no eos yet), no-repeat n-grams (fairseq/HF), repetition
// penalty (HF: a log-prob l becomes l * penalty, since all log-probs are negative). Banned tokens
// get -Infinity; nothing is renormalised afterwards, as fairseq and Hugging Face do.
import { getBackend } from "../tensor/dispatch.js";
import type { GenerationOptions } from "./types.js";

/** In-place log-softmax of each row of logits [rows, V], on the active backend's kernel. */
export function logSoftmaxRows(x: Float32Array, rows: number, V: number): void {
  getBackend().decodeLogSoftmax({ x, rows, cols: V });
}

/**
 * Whether any processor of `o` can change the log-probs of a row continuing one of `prefixes`
 * (each row's step is its prefix's length); false: processLogProbs would leave every row as it
 * is, and the caller may skip it.
 */
export function processorsMayAct(
  o: GenerationOptions,
  prefixes: readonly (readonly number[])[],
): boolean {
  let minStep = Number.POSITIVE_INFINITY;
  for (const p of prefixes) if (p.length < minStep) minStep = p.length;
  return (
    (o.forcedFirstToken !== undefined && minStep === 0) ||
    o.forcedLastToken !== undefined ||
    (o.badWordsIds?.length ?? 0) > 0 ||
    (minStep < (o.minLength ?? 0) && o.eosToken >= 0) ||
    (o.noRepeatNgramSize ?? 0) > 0 ||
    (o.repetitionPenalty ?? 1) !== 1
  );
}

/**
 * Applies the processors to log-probs [rows, V] of hypotheses `prefixes` (generated tokens so
 * far, start token excluded), at generation step `step` (0 = choosing the first token), one for
 * all rows or one per row (sentences that joined a running batch at different steps); with
 * `maxLengths`, each row's own length limit instead of the options' maxLength.
 */
export function processLogProbs(
  lp: Float32Array,
  V: number,
  prefixes: readonly (readonly number[])[],
  step: number | readonly number[],
  o: GenerationOptions,
  maxLengths?: readonly number[],
): void {
  const rows = prefixes.length;
  const NEG = Number.NEGATIVE_INFINITY;
  for (let r = 0; r < rows; r++) {
    const row = lp.subarray(r * V, (r + 1) * V);
    const prefix = prefixes[r];
    const at = typeof step === "number" ? step : step[r];
    const maxLength = maxLengths ? maxLengths[r] : o.maxLength;
    if (at === 0 && o.forcedFirstToken !== undefined) {
      for (let j = 0; j < V; j++) if (j !== o.forcedFirstToken) row[j] = NEG;
      continue;
    }
    if (at === maxLength - 1 && o.forcedLastToken !== undefined) {
      for (let j = 0; j < V; j++) if (j !== o.forcedLastToken) row[j] = NEG;
      continue;
    }
    for (const bad of o.badWordsIds ?? []) {
      const last = bad[bad.length - 1];
      const k = bad.length - 1;
      let follows = prefix.length >= k;
      for (let i = 0; i < k && follows; i++) follows = prefix[prefix.length - k + i] === bad[i];
      if (follows && last >= 0 && last < V) row[last] = NEG;
    }
    if (at < (o.minLength ?? 0) && o.eosToken >= 0) row[o.eosToken] = NEG;
    const n = o.noRepeatNgramSize ?? 0;
    if (n > 0 && prefix.length >= n - 1) {
      // Tokens that would complete an n-gram already present.
      const tail = prefix.slice(prefix.length - (n - 1));
      for (let s = 0; s + n <= prefix.length; s++) {
        let same = true;
        for (let k = 0; k < n - 1 && same; k++) same = prefix[s + k] === tail[k];
        if (same) row[prefix[s + n - 1]] = NEG;
      }
    }
    const penalty = o.repetitionPenalty ?? 1;
    if (penalty !== 1) {
      for (const t of new Set(prefix)) row[t] = row[t] < 0 ? row[t] * penalty : row[t] / penalty;
    }
  }
}
