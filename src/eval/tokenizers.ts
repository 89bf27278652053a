// The tokenizers BLEU can run before counting n-grams, by their sacreBLEU names. The name is
// what the signature's `tok:` field records.
import { MaskwiseError } from "../util/errors.js";
import { tokenize13a } from "./tokenize-13a.js";
import { tokenizeIntl } from "./tokenize-intl.js";
import { tokenizeZh } from "./tokenize-zh.js";

export type TokenizerName = "13a" | "intl" | "zh" | "char" | "none";

export const TOKENIZER_NAMES: readonly TokenizerName[] = ["13a", "intl", "zh", "char", "none"];

/** sacreBLEU's `char` tokenizer: every code point a word (the spaces then vanish in split). */
export function tokenizeChar(line: string): string {
  return Array.from(line).join(" ");
}

/** sacreBLEU's `none` tokenizer: the line as it is, split on whitespace only. */
export function tokenizeNone(line: string): string {
  return line;
}

const TOKENIZERS: Record<TokenizerName, (line: string) => string> = {
  "13a": tokenize13a,
  intl: tokenizeIntl,
  zh: tokenizeZh,
  char: tokenizeChar,
  none: tokenizeNone,
};

/** The tokenizer called `name`; an unknown name is an input error that lists the known ones. */
export function getTokenizer(name: string): (line: string) => string {
  if (!Object.hasOwn(TOKENIZERS, name)) {
    throw new MaskwiseError(`unknown BLEU tokenizer '${name}'`, {
      code: "E_ARG",
      where: "tokenize",
      hint: `use one of ${TOKENIZER_NAMES.join(", ")}`,
    });
  }
  return TOKENIZERS[name as TokenizerName];
}
