// MASS (Song et al.): a contiguous fragment of about half the sentence is masked in the encoder
// input; the decoder predicts exactly that fragment, and its own inputs outside the fragment are
// masked too, so it must use the encoder for the context:
//   x1 x2 x3 x4 x5 x6 x7 x8, fragment x3..x6
//   encoder:  x1 x2 _  _  _  _  x7 x8 </s>
//   decoder:  _  _  _  x3 x4 x5 _  _  _      (the fragment shifted right, the rest <mask>)
//   labels:   -  -  x3 x4 x5 x6 -  -  -      (-100 outside the fragment)
import type { Rng } from "../util/rng.js";
import { type Example, IGNORE, type SpecialIds } from "./types.js";

export interface MassOptions {
  /** Fraction of the sentence in the fragment (default 0.5). */
  fragment?: number;
}

export function mass(
  tokens: readonly number[],
  ids: SpecialIds,
  rng: Rng,
  options: MassOptions = {},
): Example {
  const n = tokens.length;
  const len = Math.max(1, Math.round(n * (options.fragment ?? 0.5)));
  const start = n > len ? rng.int(n - len + 1) : 0;
  const end = Math.min(n, start + len);
  const input = tokens.map((t, i) => (i >= start && i < end ? ids.mask : t));
  const labels = tokens.map((t, i) => (i >= start && i < end ? t : IGNORE));
  // Decoder input at position i is the token at i - 1 when that lies in the fragment (for the
  // first fragment position, the token before it is masked: it is the fragment's start signal).
  const decoder = tokens.map((_, i) =>
    i - 1 >= start && i - 1 < end - 1 ? tokens[i - 1] : ids.mask,
  );
  return {
    input_ids: [...input, ids.eos],
    labels: [...labels, IGNORE],
    decoder_input_ids: [...decoder, ids.mask],
  };
}
