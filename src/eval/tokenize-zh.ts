// sacreBLEU's `zh` tokenizer: every Chinese character becomes a word of its own, and the rest of
// the line goes through the 13a punctuation rules (without 13a's padding or entity unescaping).
import { pyStrip } from "./pystr.js";
import { tokenizeRe } from "./tokenize-re.js";

/**
 * The code point ranges sacreBLEU treats as Chinese, as [first, last] inclusive.
 *
 * sacreBLEU lists its ranges as Python string pairs compared with `start <= ch <= end`. Two of
 * them were written with five hex digits in a four-digit `\u` escape ('\u20000', '\u2a6d6' for
 * Extension B; '\u2f800', '\u2fa1d' for the Compatibility Supplement), so in Python they are the
 * two-character strings "\u2000" "0" and "\u2a6d" "6". A single character c satisfies
 * "\u2000" "0" <= c <= "\u2a6d" "6" exactly when U+2001 <= c <= U+2A6D, a band that covers general
 * punctuation (dashes, quotes, ellipsis), currency signs, arrows and maths operators. Those
 * characters are therefore split off as if Chinese, and every figure sacreBLEU has published with
 * `tok:zh` depends on it, so the band is reproduced here as it behaves, not as it was meant.
 * No code point above U+FFFF falls in any range.
 */
const RANGES: readonly [number, number][] = [
  [0x3400, 0x4db5], // CJK Unified Ideographs Extension A
  [0x4e00, 0x9fa5], // CJK Unified Ideographs
  [0x9fa6, 0x9fbb], // CJK Unified Ideographs, Unicode 4.1 additions
  [0xf900, 0xfa2d], // CJK Compatibility Ideographs
  [0xfa30, 0xfa6a], // CJK Compatibility Ideographs, Unicode 3.2 additions
  [0xfa70, 0xfad9], // CJK Compatibility Ideographs, Unicode 4.1 additions
  [0x2001, 0x2a6d], // meant as Extension B (U+20000..U+2A6D6); behaves as this band (above)
  [0x2f81, 0x2fa1], // meant as the Compatibility Supplement (U+2F800..U+2FA1D); likewise
  [0xff00, 0xffef], // full-width ASCII and punctuation, half-width kana, Hangul
  [0x2e80, 0x2eff], // CJK Radicals Supplement
  [0x3000, 0x303f], // CJK symbols and punctuation
  [0x31c0, 0x31ef], // CJK strokes
  [0x2f00, 0x2fdf], // Kangxi radicals
  [0x2ff0, 0x2fff], // ideographic description characters
  [0x3100, 0x312f], // Bopomofo
  [0x31a0, 0x31bf], // Bopomofo extended
  [0xfe10, 0xfe1f], // vertical forms
  [0xfe30, 0xfe4f], // CJK compatibility forms
  [0x2600, 0x26ff], // miscellaneous symbols
  [0x2700, 0x27bf], // dingbats
  [0x3200, 0x32ff], // enclosed CJK letters and months
  [0x3300, 0x33ff], // CJK compatibility
];

/** Whether sacreBLEU's `zh` tokenizer isolates this code point. */
export function isChineseChar(cp: number): boolean {
  for (const [lo, hi] of RANGES) if (cp >= lo && cp <= hi) return true;
  return false;
}

/** sacreBLEU's `TokenizerZh.__call__`. */
export function tokenizeZh(line: string): string {
  let out = "";
  // Iterating a string yields code points, as Python's `for char in line` does.
  for (const ch of pyStrip(line)) {
    out += isChineseChar(ch.codePointAt(0) as number) ? ` ${ch} ` : ch;
  }
  return tokenizeRe(out);
}
