// Sampling: temperature, then top-k and top-p (nucleus, Holtzman et al.) filtering, then a draw
// from a seeded generator, so the same seed gives the same text.
import { Rng } from "../util/rng.js";
import { decodeStepwise } from "./greedy.js";
import type { GenerationOptions, Hypothesis, IncrementalDecoder } from "./types.js";

export interface SamplingOptions extends GenerationOptions {
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = all). */
  topP?: number;
  seed?: number;
}

/** Draws a token from one row of log-probs after temperature, top-k and top-p. */
export function sampleToken(
  lp: Float32Array,
  rng: Rng,
  temperature: number,
  topK: number,
  topP: number,
): number {
  const V = lp.length;
  const order = Array.from({ length: V }, (_, j) => j).filter(
    (j) => lp[j] > Number.NEGATIVE_INFINITY,
  );
  order.sort((a, b) => lp[b] - lp[a] || a - b);
  if (temperature === 0) return order[0];
  let kept = topK > 0 ? order.slice(0, topK) : order;
  const logits = kept.map((j) => lp[j] / temperature);
  const m = logits[0];
  let probs = logits.map((l) => Math.exp(l - m));
  let total = probs.reduce((a, b) => a + b, 0);
  probs = probs.map((p) => p / total);
  if (topP < 1) {
    let cum = 0;
    let cut = probs.length;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i];
      if (cum >= topP) {
        cut = i + 1;
        break;
      }
    }
    kept = kept.slice(0, cut);
    probs = probs.slice(0, cut);
    total = probs.reduce((a, b) => a + b, 0);
    probs = probs.map((p) => p / total);
  }
  let u = rng.uniform();
  for (let i = 0; i < kept.length; i++) {
    u -= probs[i];
    if (u < 0) return kept[i];
  }
  return kept[kept.length - 1];
}

export function sample(decoder: IncrementalDecoder, options: SamplingOptions): Hypothesis[] {
  const rng = new Rng(options.seed ?? 0);
  return decodeStepwise(decoder, options, (row) =>
    sampleToken(row, rng, options.temperature ?? 1, options.topK ?? 0, options.topP ?? 1),
  );
}
