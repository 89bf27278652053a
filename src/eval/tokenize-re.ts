// The language-dependent half of mteval-v13a's tokenizer, shared by sacreBLEU's `13a` and `zh`
// tokenizers (its `TokenizerRegexp`). Four substitutions, applied in order over the whole line,
// then whitespace runs collapse to one space.
import { pyNormalizeSpace } from "./pystr.js";

const RULES: [RegExp, string][] = [
  // ASCII punctuation and symbols except ' , - . stand alone. The class spells the ranges
  // { to ~, [ to `, space to &, ( to +, : to @, and /.
  [/([{-~[-` -&(-+:-@/])/g, " $1 "],
  // A period or comma is split off unless a digit precedes it (3.5 and 3,5 stay whole)...
  [/([^0-9])([.,])/gu, "$1 $2 "],
  // ...or unless a digit follows it.
  [/([.,])([^0-9])/gu, " $1 $2"],
  // A dash after a digit is split off (2019-2020 -> 2019 - 2020).
  [/([0-9])(-)/g, "$1 $2 "],
];

/** sacreBLEU's `TokenizerRegexp.__call__`. */
export function tokenizeRe(line: string): string {
  let s = line;
  for (const [re, repl] of RULES) s = s.replace(re, repl);
  return pyNormalizeSpace(s);
}
