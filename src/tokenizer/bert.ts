// BERT's text preparation as Hugging Face's BertNormalizer and BertPreTokenizer do it. The
// normaliser drops NUL, U+FFFD and control/format characters, turns every whitespace character
// into a space, puts spaces around CJK ideographs (so each becomes its own word), and optionally
// strips accents (NFD, then no non-spacing marks) and lowercases. The pre-tokenizer splits on
// whitespace and makes every punctuation character a word of its own.

export interface BertNormalizerOptions {
  lowercase: boolean;
  stripAccents: boolean;
}

/** Other categories but unassigned (Cn): what the Rust side counts as control. */
const CONTROL = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const WHITESPACE = /\p{White_Space}/u;
const MARK_NONSPACING = /\p{Mn}/u;
/** ASCII punctuation (which includes $ + < = > ^ ` | ~) or any Unicode punctuation category. */
const PUNCTUATION = /[!-/:-@[-`{-~]|\p{P}/u;

/** The CJK ideograph blocks BERT separates (not Hiragana, Katakana or Hangul). */
export function isBertChinese(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

const isSpace = (ch: string) =>
  ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || WHITESPACE.test(ch);

/** BertNormalizer's whitespace: tab, newline, carriage return and White_Space. */
export const isBertWhitespace = isSpace;
/** BertNormalizer's control characters (dropped by clean_text): not tab, newline, return. */
export const isBertControl = (ch: string): boolean =>
  ch !== "\t" && ch !== "\n" && ch !== "\r" && CONTROL.test(ch);
/** BertPreTokenizer's punctuation: ASCII punctuation or any Unicode P category. */
export const isBertPunctuation = (ch: string): boolean => PUNCTUATION.test(ch);

/** Printable ASCII only: nothing to clean, separate or strip (the common case, checked fast). */
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

export function bertNormalize(text: string, o: BertNormalizerOptions): string {
  if (PLAIN_ASCII.test(text)) return o.lowercase ? text.toLowerCase() : text;
  let s = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    if (cp === 0 || cp === 0xfffd) continue;
    // Control characters go first, so \v, \f and U+0085 (controls and whitespace both) are
    // dropped, not made spaces; tab, newline and carriage return count as whitespace.
    if (cp !== 9 && cp !== 10 && cp !== 13 && CONTROL.test(ch)) continue;
    if (isSpace(ch)) s += " ";
    else if (isBertChinese(cp)) s += ` ${ch} `;
    else s += ch;
  }
  if (o.stripAccents) {
    let t = "";
    for (const ch of s.normalize("NFD")) if (!MARK_NONSPACING.test(ch)) t += ch;
    s = t;
  }
  if (o.lowercase) {
    // Character by character, as Rust's char::to_lowercase: no final-sigma rule.
    let t = "";
    for (const ch of s) t += ch.toLowerCase();
    s = t;
  }
  return s;
}

/** 1: whitespace, 2: punctuation, 0: part of a word, for ASCII code units. */
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  ASCII_CLASS[c] = isSpace(ch) ? 1 : PUNCTUATION.test(ch) ? 2 : 0;
}

export function bertPreTokenize(text: string): string[] {
  const words: string[] = [];
  let start = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    let kind: number;
    let width = 1;
    if (c < 128) {
      kind = ASCII_CLASS[c];
    } else {
      const cp = text.codePointAt(i) as number;
      width = cp > 0xffff ? 2 : 1;
      const ch = text.slice(i, i + width);
      kind = isSpace(ch) ? 1 : PUNCTUATION.test(ch) ? 2 : 0;
    }
    if (kind !== 0) {
      if (i > start) words.push(text.slice(start, i));
      if (kind === 2) words.push(text.slice(i, i + width));
      start = i + width;
    }
    i += width;
  }
  if (i > start) words.push(text.slice(start, i));
  return words;
}

export function bertNormalizerJson(o: BertNormalizerOptions): unknown {
  return {
    type: "BertNormalizer",
    clean_text: true,
    handle_chinese_chars: true,
    strip_accents: o.stripAccents,
    lowercase: o.lowercase,
  };
}
