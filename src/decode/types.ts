// What decoding needs from a model, and nothing more: a stateful stepper over rows. Each row is a
// hypothesis; the stepper keeps its caches. Models implement this (src/models/incremental.ts);
// the search algorithms here never see a model, so they can be tested on a table.
/**
 * The most positions a search reserves in the caches up front. Its length limit may be far
 * longer than what is decoded (256 new tokens for sentences of 15): storage for the whole limit
 * is megabytes per layer, zeroed and faulted in per batch, while growing past this by doubling
 * copies little and only for the rows that run that long.
 */
export const RESERVE_STEPS = 64;

export interface IncrementalDecoder {
  readonly vocabSize: number;
  /** Rows currently held. */
  readonly rows: number;
  /**
   * Feeds each row's newest token and returns the next-token logits [rows, V] (row-major),
   * advancing the caches by one position. The array may be the decoder's own buffer, valid
   * until the next call: a search reads (or rewrites) it before it asks for more.
   */
  next(tokens: Int32Array): Float32Array;
  /** Keeps rows `keep` in that order (repeats allowed): beams reordered or finished rows dropped. */
  reorder(keep: readonly number[]): void;
  /**
   * Makes room in the caches for `steps` more tokens per row, so that decoding that many never
   * regrows (copies) them, and for `rows` rows at once (beam search's sentences x beams); a
   * search calls it once with its length limit, or RESERVE_STEPS if that is less. Optional.
   */
  reserve?(steps: number, rows?: number): void;
}

/**
 * Sentences that join a running batch as others finish (continuous batching): the steps keep
 * about `rows` sentences decoding instead of thinning out towards the end of each batch. The
 * decoder's first rows are sentences 0..N-1; sentences that join are numbered on in the order
 * they come.
 */
export interface SentenceFeed {
  /** The sentences to keep decoding at once. */
  readonly rows: number;
  /** The length limit of sentence s (new tokens, eos included). */
  maxLength(s: number): number;
  /**
   * Adds up to `room` more sentences to the decoder's batch, as rows after the current ones
   * (each starting from the start token); returns how many joined (0: none are left).
   */
  admit(room: number): number;
}

/**
 * Whether a batch of `live` sentences of a feed's `rows` should take more: once a quarter of
 * it finished (each joining runs the encoder on the newcomers, worth doing for several at once),
 * or when it ran empty.
 */
export function wantsMore(live: number, rows: number): boolean {
  return live === 0 || rows - live >= Math.max(1, rows >> 2);
}

export interface GenerationOptions {
  /** The token every hypothesis starts from (the decoder start token). */
  startToken: number;
  /** The end token; -1 never ends a hypothesis (benchmarks that always generate maxLength). */
  eosToken: number;
  /** Maximum new tokens, eos included. */
  maxLength: number;
  /** Minimum new tokens before eos may be chosen (default 0). */
  minLength?: number;
  /** Forbid repeating any n-gram of this size within a hypothesis (0 = off). */
  noRepeatNgramSize?: number;
  /** > 1 discourages tokens already in the hypothesis (Keskar et al., as Hugging Face applies it). */
  repetitionPenalty?: number;
  /** Force this token as the first one generated (a target language tag). */
  forcedFirstToken?: number;
  /**
   * Force this token as the last one maxLength allows (transformers' forced_eos_token_id), so a
   * hypothesis cut by the length still ends in eos.
   */
  forcedLastToken?: number;
  /**
   * Token sequences never generated (transformers' bad_words_ids): a one-token sequence is never
   * chosen; a longer one's last token is not chosen right after the rest of it.
   */
  badWordsIds?: readonly (readonly number[])[];
}

/** One finished hypothesis. */
export interface Hypothesis {
  /** Generated tokens, without the start token, ending in eos unless cut by maxLength. */
  tokens: number[];
  /** Sum of the token log-probabilities. */
  logProb: number;
  /** The ranking score: logProb / length^lengthPenalty for beam search, logProb otherwise. */
  score: number;
}
