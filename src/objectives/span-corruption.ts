// T5's span corruption (Raffel et al.): about `noiseDensity` of the tokens, in spans of mean
// length `meanSpan`, are cut out; each span is replaced in the input by one sentinel, and the
// target lists each sentinel followed by the span it replaced, then eos:
//   "The cute dog walks in the park" -> input  "The <X> walks <Y> park </s>"
//                                        target "<X> cute dog <Y> in the </s>"
// Span lengths come from a random segmentation of the noise and non-noise counts, as T5's
// random_spans_noise_mask does, so the number of spans is exact and spans never touch.
import { MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import type { Example, SpecialIds } from "./types.js";

/** Splits `total` items into `parts` non-empty segments uniformly at random. */
function randomSegmentation(total: number, parts: number, rng: Rng): number[] {
  // Choose parts - 1 distinct cut points among total - 1 gaps.
  const gaps = rng
    .shuffle(Array.from({ length: total - 1 }, (_, i) => i + 1))
    .slice(0, parts - 1)
    .sort((a, b) => a - b);
  const cuts = [0, ...gaps, total];
  return cuts.slice(1).map((c, i) => c - cuts[i]);
}

/** The noise mask: true for tokens that are cut out. */
export function randomSpansNoiseMask(
  length: number,
  noiseDensity: number,
  meanSpan: number,
  rng: Rng,
): boolean[] {
  const noise = Math.min(Math.max(Math.round(length * noiseDensity), 1), length - 1);
  const spans = Math.max(Math.round(noise / meanSpan), 1);
  const noiseLens = randomSegmentation(noise, Math.min(spans, noise), rng);
  const keepLens = randomSegmentation(
    length - noise,
    Math.min(noiseLens.length, length - noise),
    rng,
  );
  const mask: boolean[] = [];
  // Alternate keep, noise, keep, noise … (the sequence starts with kept tokens, as in T5).
  for (let s = 0; s < noiseLens.length; s++) {
    for (let k = 0; k < (keepLens[s] ?? 0); k++) mask.push(false);
    for (let k = 0; k < noiseLens[s]; k++) mask.push(true);
  }
  while (mask.length < length) mask.push(false);
  return mask;
}

export interface SpanCorruptionOptions {
  noiseDensity?: number;
  meanSpan?: number;
}

/** `sentinels[i]` is the id of the i-th sentinel (<extra_id_i>). */
export function spanCorruption(
  tokens: readonly number[],
  ids: SpecialIds,
  sentinels: readonly number[],
  rng: Rng,
  options: SpanCorruptionOptions = {},
): Example {
  const density = options.noiseDensity ?? 0.15;
  const meanSpan = options.meanSpan ?? 3;
  if (tokens.length < 2) return { input_ids: [...tokens, ids.eos], labels: [ids.eos] };
  const mask = randomSpansNoiseMask(tokens.length, density, meanSpan, rng);
  const input: number[] = [];
  const labels: number[] = [];
  let span = -1;
  for (let i = 0; i < tokens.length; i++) {
    if (mask[i]) {
      if (i === 0 || !mask[i - 1]) {
        span++;
        if (span >= sentinels.length) {
          throw new MaskwiseError(`needs more than ${sentinels.length} sentinel tokens`, {
            code: "E_ARG",
            where: "spanCorruption",
            hint: "add more <extra_id_N> tokens to the tokenizer",
          });
        }
        input.push(sentinels[span]);
        labels.push(sentinels[span]);
      }
      labels.push(tokens[i]);
    } else {
      input.push(tokens[i]);
    }
  }
  input.push(ids.eos);
  labels.push(ids.eos);
  return { input_ids: input, labels };
}
