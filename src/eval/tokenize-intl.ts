// sacreBLEU's `intl` tokenizer: mteval-v14.pl's international tokenization. It splits Unicode
// punctuation (\p{P}) off unless it sits between digits, and every symbol (\p{S}) always.
// Unlike 13a it does not pad the line, so a number followed by a final period keeps the period
// ("in 2019." stays "2019."), a quirk of mteval-v14 that sacreBLEU keeps on purpose.
//
// The classes come from the JavaScript engine's Unicode tables (Unicode 17 in Node 20.20), and
// sacreBLEU's from the Python `regex` module installed beside it. They agree on every character
// assigned up to the older of the two versions; a character assigned later (none occurs in
// ordinary text: e.g. U+20C2..U+20C4, new currency signs) is punctuation or a symbol to one and
// not the other, and only then can the two tokenizations differ.
import { pyNormalizeSpace } from "./pystr.js";

const RULES: [RegExp, string][] = [
  // Punctuation after a non-digit.
  [/(\P{N})(\p{P})/gu, "$1 $2 "],
  // Punctuation before a non-digit.
  [/(\p{P})(\P{N})/gu, " $1 $2"],
  // Symbols: currency, math, emoji, ...
  [/(\p{S})/gu, " $1 "],
];

/** sacreBLEU's `TokenizerV14International.__call__`. */
export function tokenizeIntl(line: string): string {
  let s = line;
  for (const [re, repl] of RULES) s = s.replace(re, repl);
  return pyNormalizeSpace(s);
}
