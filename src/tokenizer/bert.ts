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
/**
 * Characters that JavaScript's Unicode tables call punctuation, or format characters, and the
 * Rust crates behind tokenizers do not: their tables are older, and these were assigned (or
 * reclassified) since. Found by asking the tokenizers package (BertPreTokenizer, and
 * BertNormalizer's clean_text) about every code point up to U+31FFF; hex, `a-b` for a range.
 */
const NEWER_PUNCTUATION =
  "61d,9fd,a76,c77,c84,1b4e-1b4f,1b7d-1b7f,2e43-2e4f,2e52-2e5d,10d6e,10ead,10ed0,10f55-10f59,10f86-10f89,113d4-113d5,113d7-113d8,1144b-1144f,1145a-1145b,1145d,11660-1166c,116b9,1183b,11944-11946,119e2,11a3f-11a46,11a9a-11a9c,11a9e-11aa2,11b00-11b09,11be1,11c41-11c45,11c70-11c71,11ef7-11ef8,11f43-11f4f,11fff,12ff1-12ff2,16d6d-16d6f,16e97-16e9a,16fe2,1e5ff,1e95e-1e95f";
/** Punctuation to those tables but not to JavaScript's (reclassified since). */
const OLDER_PUNCTUATION = "166d,111c9";
const NEWER_FORMAT = "890-891,8e2,110cd,13430-1343f";
/** Non-spacing marks (Mn) to JavaScript but not to those tables (strip_accents keeps them), and
 * the two the other way round (Mn there, spacing marks now), found the same way. */
const NEWER_NONSPACING =
  "7fd,897-89f,8ca-8e1,9fe,afa-aff,b55,c04,c3c,d00,d3b-d3c,d81,eba,ece,180f,1885-1886,1abf-1add,1ae0-1aeb,1df6-1dfb,a82c,a8c5,a8ff,a9bd,10d24-10d27,10d69-10d6d,10eab-10eac,10efa-10eff,10f46-10f50,10f82-10f85,11070,11073-11074,110c2,111c9,111cf,1123e,11241,1133b,113bb-113c0,113ce,113d0,113d2,113e1-113e2,11438-1143f,11442-11444,11446,1145e,1182f-11837,11839-1183a,1193b-1193c,1193e,11943,119d4-119d7,119da-119db,119e0,11a01-11a0a,11a33-11a38,11a3b-11a3e,11a47,11a51-11a56,11a59-11a5b,11a8a-11a96,11a98-11a99,11b60,11b62-11b64,11b66,11c30-11c36,11c38-11c3d,11c3f,11c92-11ca7,11caa-11cb0,11cb2-11cb3,11cb5-11cb6,11d31-11d36,11d3a,11d3c-11d3d,11d3f-11d45,11d47,11d90-11d91,11d95,11d97,11ef3-11ef4,11f00-11f01,11f36-11f3a,11f40,11f42,11f5a,13440,13447-13455,1611e-16120,16129,1612d-1612f,16f4f,16fe4,1cf00-1cf2d,1cf30-1cf46,1e000-1e006,1e008-1e018,1e01b-1e021,1e023-1e024,1e026-1e02a,1e08f,1e130-1e136,1e2ae,1e2ec-1e2ef,1e4ec-1e4ef,1e5ee-1e5ef,1e6e3,1e6e6,1e6ee-1e6ef,1e6f5,1e944-1e94a";
const OLDER_NONSPACING = "1734,1171e";

function codeSet(runs: string): Set<number> {
  const out = new Set<number>();
  for (const run of runs.split(",")) {
    const [a, b] = run.split("-").map((x) => Number.parseInt(x, 16));
    for (let cp = a; cp <= (b ?? a); cp++) out.add(cp);
  }
  return out;
}
const notPunctuation = codeSet(NEWER_PUNCTUATION);
const wasPunctuation = codeSet(OLDER_PUNCTUATION);
const notControl = codeSet(NEWER_FORMAT);
const notNonspacing = codeSet(NEWER_NONSPACING);
const wasNonspacing = codeSet(OLDER_NONSPACING);

/** strip_accents' non-spacing marks (Unicode Mn, as the Rust crate's tables know them). */
export function isBertNonspacingMark(ch: string): boolean {
  const cp = ch.codePointAt(0) as number;
  return MARK_NONSPACING.test(ch) ? !notNonspacing.has(cp) : wasNonspacing.has(cp);
}

/** BertNormalizer's control characters (dropped by clean_text): not tab, newline, return. */
export const isBertControl = (ch: string): boolean =>
  ch !== "\t" &&
  ch !== "\n" &&
  ch !== "\r" &&
  CONTROL.test(ch) &&
  !notControl.has(ch.codePointAt(0) as number);
/** BertPreTokenizer's punctuation: ASCII punctuation or a Unicode P category character (as the
 * Rust crate's tables know them). */
export function isBertPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) as number;
  return PUNCTUATION.test(ch) ? !notPunctuation.has(cp) : wasPunctuation.has(cp);
}

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
    if (isBertControl(ch)) continue;
    if (isSpace(ch)) s += " ";
    else if (isBertChinese(cp)) s += ` ${ch} `;
    else s += ch;
  }
  if (o.stripAccents) {
    let t = "";
    for (const ch of s.normalize("NFD")) if (!isBertNonspacingMark(ch)) t += ch;
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
      kind = isSpace(ch) ? 1 : isBertPunctuation(ch) ? 2 : 0;
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
