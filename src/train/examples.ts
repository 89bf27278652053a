// Where the training loop gets its examples: a fixed list (supervised tasks), or token sequences
// that an objective turns into a fresh example each epoch (denoising pretraining). The noise of
// example i in epoch e comes from an Rng seeded by (seed, e, i) alone, so it does not depend on
// the batch order, on which examples came before, or on where a run was interrupted: a resumed
// run draws exactly the noise an uninterrupted one would.
import type { Example } from "../objectives/types.js";
import { Rng } from "../util/rng.js";

export interface ExampleSource {
  readonly size: number;
  /** The length that token-budget batching uses for example i (the same in every epoch). */
  lengthOf(i: number): number;
  /** Example i as it is seen in `epoch`. */
  get(i: number, epoch: number): Example;
}

/** The longer side of an example: what its padded rows cost. */
export function exampleLength(e: Example): number {
  return Math.max(e.input_ids.length, e.labels.length, e.decoder_input_ids?.length ?? 0);
}

/** A fixed list: the same example every epoch. */
export function fixedExamples(examples: readonly Example[]): ExampleSource {
  const lengths = examples.map(exampleLength);
  return {
    size: examples.length,
    lengthOf: (i) => lengths[i],
    get: (i) => examples[i],
  };
}

/** A generator seeded by (seed, epoch, index) only. */
export function exampleRng(seed: number, epoch: number, index: number): Rng {
  let h = Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(index + 1, 0xc2b2ae35);
  return new Rng(h ^ (h >>> 13));
}

export type Objective = (tokens: readonly number[], rng: Rng) => Example;

/**
 * Token sequences noised by `objective` on demand. `lengthOf` is an upper bound computed from the
 * clean sequence (`extra` tokens added by the objective, e.g. eos), so batches stay epoch-stable.
 */
export function noisedExamples(
  sequences: readonly (readonly number[])[],
  objective: Objective,
  seed: number,
  extra = 1,
): ExampleSource {
  return {
    size: sequences.length,
    lengthOf: (i) => sequences[i].length + extra,
    get: (i, epoch) => objective(sequences[i], exampleRng(seed, epoch, i)),
  };
}
