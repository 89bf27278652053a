// Random text for comparing tokenizers: mixed scripts, emoji sequences, combining marks against
// precomposed letters, odd whitespace, control characters and special-token strings inside words.
import type { Rng } from "../../src/util/rng.js";

/** Code point ranges to draw from, besides an occasional code point from anywhere below
 * U+32000 (recently assigned characters included). */
const RANGES: [number, number][] = [
  [0x20, 0x7e], // ASCII
  [0x00, 0x1f], // C0 controls, tab, newlines
  [0x7f, 0x9f], // DEL, C1 controls, next line
  [0xa0, 0xff], // Latin-1: no-break space, ß, umlauts, ½
  [0x1e00, 0x1eff], // precomposed Latin with diacritics
  [0x300, 0x36f], // combining marks
  [0x391, 0x3c9], // Greek
  [0x410, 0x44f], // Cyrillic
  [0x620, 0x64a], // Arabic letters
  [0x900, 0x97f], // Devanagari
  [0xe01, 0xe3a], // Thai
  [0x1100, 0x1175], // Hangul jamo (they compose under NFC)
  [0xac00, 0xac20], // Hangul syllables
  [0x2000, 0x200f], // spaces of every width, zero-width space/joiners, marks
  [0x2028, 0x202f], // line and paragraph separators, narrow no-break space
  [0x2160, 0x2188], // Roman numerals (NFKC expands them)
  [0x2460, 0x2473], // circled digits
  [0x3000, 0x3003], // ideographic space and punctuation
  [0x4e00, 0x4fff], // CJK
  [0xe000, 0xe010], // private use
  [0xfb00, 0xfb06], // ligatures
  [0xfdd0, 0xfdd2], // noncharacters
  [0xfe00, 0xfe0f], // variation selectors
  [0xfeff, 0xfeff], // zero-width no-break space (BOM)
  [0xfffd, 0xfffe], // replacement character, noncharacter
  [0xff01, 0xff5e], // full-width forms
  [0x1f300, 0x1f64f], // emoji
  [0x1f3fb, 0x1f3ff], // skin tone modifiers
];

const SPECIAL = [
  "</s>",
  "<unk>",
  "<pad>",
  "<s>",
  "<extra_id_0>",
  "<|endoftext|>",
  "<|im_start|>",
  "<|im_end|>",
  "[CLS]",
  "[SEP]",
  "[MASK]",
  "[UNK]",
  "[PAD]",
];

const WORDS = [
  "the",
  "Haus",
  "über",
  "naïve",
  "it's",
  "WE'LL",
  "I'm",
  "don't",
  "12345",
  "3.14",
  "東京",
  "我们",
  "👩‍👩‍👧‍👦",
  "🇩🇪",
  "👍🏽",
  "e\u0301",
  "A\u030a",
  "\u212b",
  "ﬁ",
  "Ａ",
  "  ",
  "\t",
  "\r\n",
  "\n",
  "\u00a0",
  "x\u0308\u0301",
  "\u1100\u1161\u11a8",
];

export function randomText(rng: Rng): string {
  let s = "";
  const n = rng.int(30);
  for (let k = 0; k < n; k++) {
    const r = rng.uniform();
    if (r < 0.25) s += WORDS[rng.int(WORDS.length)];
    else if (r < 0.35) s += " ";
    else if (r < 0.4) s += SPECIAL[rng.int(SPECIAL.length)];
    else if (r < 0.45) {
      let cp: number;
      do cp = rng.int(0x32000);
      while (cp >= 0xd800 && cp < 0xe000);
      s += String.fromCodePoint(cp);
    } else {
      const [lo, hi] = RANGES[rng.int(RANGES.length)];
      s += String.fromCodePoint(lo + rng.int(hi - lo + 1));
    }
  }
  return s;
}
