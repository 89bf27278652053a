// rouge-score's tokenizer (Google's reimplementation of ROUGE-1.5.5's): lowercase, keep only
// runs of a-z and 0-9 (everything else, accented letters included, separates words), and
// optionally Porter-stem the words longer than three letters.
import { porterStem } from "./porter.js";

const VALID = /^[a-z0-9]+$/;

/** rouge-score's `tokenize.tokenize(text, stemmer)`. */
export function tokenizeRouge(text: string, useStemmer = false): string[] {
  // Lowercasing comes first, so a capital that lowercases to ASCII (the Kelvin sign, or the
  // dotted capital I, which becomes i plus a combining dot) still yields a letter.
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  if (!useStemmer) return words;
  // Only words longer than three letters are stemmed; rouge-score then drops any token that is
  // no longer a non-empty run of [a-z0-9] (the stemmer never makes one, but the check is its).
  return words.map((w) => (w.length > 3 ? porterStem(w) : w)).filter((w) => VALID.test(w));
}
