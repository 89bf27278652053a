// Masked language modelling (Devlin et al., BERT): choose `rate` of the tokens (15% by default;
// anything up to the 50% some tutorials use); of the chosen, 80% become <mask>, 10% a random
// token, 10% stay as they are. Labels hold the original token at chosen positions, -100 elsewhere.
// With whole-word masking, a word's pieces are chosen together (`wordStarts` marks first pieces).
import { MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import { type Example, IGNORE, type SpecialIds } from "./types.js";

export interface MlmOptions {
  rate?: number;
  maskProb?: number;
  randomProb?: number;
  wordStarts?: readonly boolean[];
}

export function randomToken(ids: SpecialIds, rng: Rng): number {
  for (;;) {
    const t = rng.int(ids.vocabSize);
    if (!ids.special.has(t) && t !== ids.mask) return t;
  }
}

export function maskedLM(
  tokens: readonly number[],
  ids: SpecialIds,
  rng: Rng,
  options: MlmOptions = {},
): Example {
  const rate = options.rate ?? 0.15;
  const maskProb = options.maskProb ?? 0.8;
  const randomProb = options.randomProb ?? 0.1;
  if (!(rate > 0 && rate <= 1) || maskProb + randomProb > 1) {
    throw new MaskwiseError(
      `masking rate ${rate} must be in (0, 1] and mask + random probabilities at most 1`,
      { code: "E_ARG", where: "maskedLM" },
    );
  }
  // Units: words (whole-word masking) or single tokens; special tokens are never chosen.
  const units: number[][] = [];
  tokens.forEach((t, i) => {
    if (ids.special.has(t)) return;
    const start = !options.wordStarts || options.wordStarts[i] || units.length === 0;
    if (start) units.push([i]);
    else units[units.length - 1].push(i);
  });
  const candidates = units.reduce((n, u) => n + u.length, 0);
  const target = Math.round(candidates * rate);
  rng.shuffle(units);
  const chosen: number[] = [];
  for (const u of units) {
    if (chosen.length >= target) break;
    chosen.push(...u);
  }
  const input = [...tokens];
  const labels = new Array<number>(tokens.length).fill(IGNORE);
  for (const i of chosen) {
    labels[i] = tokens[i];
    const u = rng.uniform();
    if (u < maskProb) input[i] = ids.mask;
    else if (u < maskProb + randomProb) input[i] = randomToken(ids, rng);
  }
  return { input_ids: input, labels };
}
