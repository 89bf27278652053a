// BART's text infilling (Lewis et al.): spans with lengths from Poisson(lambda = 3) are replaced
// by ONE <mask> each until about `rate` (30%) of the tokens are covered; a zero-length span
// inserts a <mask>. The decoder reconstructs the whole original sequence. Optional sentence
// permutation shuffles the sentences (split after `sentenceEnd` tokens) before infilling.
import type { Rng } from "../util/rng.js";
import type { Example, SpecialIds } from "./types.js";

export function poisson(lambda: number, rng: Rng): number {
  // Knuth's method: fine for small lambda.
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng.uniform();
  } while (p > limit);
  return k - 1;
}

export interface InfillingOptions {
  rate?: number;
  lambda?: number;
  /** Token ids that end a sentence, for sentence permutation. */
  sentenceEnd?: ReadonlySet<number>;
  permuteSentences?: boolean;
}

export function permuteSentences(
  tokens: readonly number[],
  ends: ReadonlySet<number>,
  rng: Rng,
): number[] {
  const sentences: number[][] = [[]];
  for (const t of tokens) {
    sentences[sentences.length - 1].push(t);
    if (ends.has(t)) sentences.push([]);
  }
  if (sentences[sentences.length - 1].length === 0) sentences.pop();
  return rng.shuffle(sentences).flat();
}

export function textInfilling(
  tokens: readonly number[],
  ids: SpecialIds,
  rng: Rng,
  options: InfillingOptions = {},
): Example {
  const rate = options.rate ?? 0.3;
  const lambda = options.lambda ?? 3;
  const original =
    options.permuteSentences && options.sentenceEnd
      ? permuteSentences(tokens, options.sentenceEnd, rng)
      : [...tokens];
  const n = original.length;
  const target = Math.round(n * rate);
  const masked = new Uint8Array(n); // 1 = inside a masked span
  const inserts = new Set<number>(); // positions before which a zero-length span inserts <mask>
  let covered = 0;
  let guard = 0;
  while (covered < target && guard++ < 10 * n + 10) {
    const len = Math.min(poisson(lambda, rng), target - covered);
    const start = rng.int(n);
    if (len === 0) {
      inserts.add(start);
      continue;
    }
    let fresh = 0;
    for (let i = start; i < Math.min(n, start + len); i++) {
      if (!masked[i] && !ids.special.has(original[i])) {
        masked[i] = 1;
        fresh++;
      }
    }
    covered += fresh;
  }
  const input: number[] = [];
  for (let i = 0; i < n; i++) {
    if (inserts.has(i) && !masked[i]) input.push(ids.mask);
    if (masked[i]) {
      if (i === 0 || !masked[i - 1]) input.push(ids.mask);
    } else {
      input.push(original[i]);
    }
  }
  return { input_ids: [...input, ids.eos], labels: [...original, ids.eos] };
}
