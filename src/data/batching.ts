// Token-budget batching as fairseq counts it (Ott et al. 2019, `batch_by_size`): a batch's cost is
// its padded size, longest row x rows, and never exceeds `maxTokens`. Examples are ordered by
// length before they are cut into batches (length bucketing: rows of similar length waste little
// padding), and the order of batches is shuffled with the seed, so every epoch sees every example
// exactly once, in an order the seed reproduces.
import { MaskwiseError } from "../util/errors.js";
import { Rng } from "../util/rng.js";

export interface TokenBatchOptions {
  /** Padded cost bound: longest row x rows <= maxTokens. */
  maxTokens: number;
  /** At most this many rows in a batch. */
  maxSentences?: number;
  /** Shuffles equal-length (or same-bucket) examples and the batch order; omit for a fixed order. */
  seed?: number;
  /**
   * Lengths are compared in buckets of this width (default 1: exact sort). Wider buckets mix
   * nearby lengths, so a new seed gives different batches, not only a different order.
   */
  bucketWidth?: number;
}

/**
 * Cuts examples into batches (lists of example indices). `lengths[i]` is example i's cost in
 * tokens per row; for a pair, the longer of source and target (fairseq's num_tokens).
 */
export function tokenBudgetBatches(
  lengths: readonly number[],
  options: TokenBatchOptions,
): number[][] {
  const { maxTokens, maxSentences = Number.POSITIVE_INFINITY, seed, bucketWidth = 1 } = options;
  if (!(maxTokens >= 1)) {
    throw new MaskwiseError(`maxTokens must be at least 1, got ${maxTokens}`, {
      code: "E_ARG",
      where: "max_tokens",
      hint: "give a positive token budget",
    });
  }
  const order = lengths.map((_, i) => i);
  const rng = seed === undefined ? null : new Rng(seed);
  if (rng) rng.shuffle(order);
  const key = (i: number) => Math.floor(lengths[i] / bucketWidth);
  // Array.prototype.sort is stable, so a shuffled order stays random among equal keys.
  order.sort((a, b) => key(a) - key(b));

  const batches: number[][] = [];
  let batch: number[] = [];
  let longest = 0;
  for (const i of order) {
    const len = Math.max(1, lengths[i]);
    if (len > maxTokens) {
      throw new MaskwiseError(`example ${i} has ${lengths[i]} tokens, over the budget`, {
        code: "E_DATA",
        where: `example ${i}`,
        hint: `raise max_tokens above ${lengths[i]} or drop long examples with a length filter`,
      });
    }
    const next = Math.max(longest, len);
    if (
      batch.length > 0 &&
      (next * (batch.length + 1) > maxTokens || batch.length >= maxSentences)
    ) {
      batches.push(batch);
      batch = [];
      longest = 0;
    }
    batch.push(i);
    longest = Math.max(longest, len);
  }
  if (batch.length > 0) batches.push(batch);
  if (rng) rng.shuffle(batches);
  return batches;
}

/** The padded cost of a batch: longest row x rows. */
export function paddedCost(lengths: readonly number[], batch: readonly number[]): number {
  let longest = 0;
  for (const i of batch) longest = Math.max(longest, Math.max(1, lengths[i]));
  return longest * batch.length;
}

export interface LengthFilter {
  /** Drop examples shorter than this (either side of a pair). */
  minLength?: number;
  /** Drop examples longer than this (either side of a pair). */
  maxLength?: number;
  /** Drop pairs whose longer side is more than this many times the shorter (fairseq/Moses). */
  maxRatio?: number;
}

/** Indices of the examples that pass the filter, and how many were dropped. */
export function filterByLength(
  sourceLengths: readonly number[],
  targetLengths: readonly number[] | null,
  filter: LengthFilter,
): { keep: number[]; dropped: number } {
  const { minLength = 0, maxLength = Number.POSITIVE_INFINITY, maxRatio } = filter;
  const keep: number[] = [];
  for (let i = 0; i < sourceLengths.length; i++) {
    const s = sourceLengths[i];
    const t = targetLengths ? targetLengths[i] : s;
    let ok = Math.min(s, t) >= minLength && Math.max(s, t) <= maxLength;
    if (ok && maxRatio !== undefined) ok = Math.max(s, t) <= maxRatio * Math.max(1, Math.min(s, t));
    if (ok) keep.push(i);
  }
  return { keep, dropped: sourceLengths.length - keep.length };
}
