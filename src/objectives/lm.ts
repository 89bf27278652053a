// The plain objectives:
//   causal LM:  labels[t] = tokens[t + 1] (the model does not shift; -100 at the end);
//   prefix LM:  the same, but the first `prefix` positions are context (bidirectional under
//               causal | prefix, and not predicted);
//   seq2seq:    supervised pairs, source + eos in, target + eos out (decoder input = shifted labels).
import { type Example, IGNORE, type SpecialIds } from "./types.js";

export function causalLM(tokens: readonly number[]): Example {
  return {
    input_ids: [...tokens],
    labels: tokens.map((_, t) => (t + 1 < tokens.length ? tokens[t + 1] : IGNORE)),
  };
}

export function prefixLM(tokens: readonly number[], prefix: number): Example {
  const p = Math.max(0, Math.min(prefix, tokens.length));
  const ex = causalLM(tokens);
  // Position t predicts token t + 1: only continuation tokens (index >= p) are targets.
  ex.labels = ex.labels.map((l, t) => (t + 1 >= p ? l : IGNORE));
  ex.prefix_length = p;
  return ex;
}

export function seq2seq(
  source: readonly number[],
  target: readonly number[],
  ids: Pick<SpecialIds, "eos">,
): Example {
  return { input_ids: [...source, ids.eos], labels: [...target, ids.eos] };
}
