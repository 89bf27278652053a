// tokenizer.json pre-tokenizers: ByteLevel (with or without GPT-2's regex), Whitespace,
// WhitespaceSplit, Metaspace (prepend_scheme, split), Split (string or regex, every delimiter
// behaviour, invert), Punctuation, Digits, BertPreTokenizer and Sequence. Each maps the list of
// pieces to a finer list; pieces keep their alignments, so offsets survive the splits.
import { isBertPunctuation } from "./bert.js";
import { GPT2_SPLIT, toByteChars } from "./byte-level.js";
import { type ComponentSource, fail, isObj, patternRegex, unsupported } from "./json-util.js";
import {
  charMatches,
  isWhitespace,
  type MatchRange,
  type NormalizedString,
  regexMatches,
  type SplitBehavior,
  splitPiece,
} from "./normalized-string.js";

export type PreTokenizeFn = (pieces: NormalizedString[]) => NormalizedString[];

/** Applies `f` to every piece and drops the empty results (PreTokenizedString.split). */
const eachPiece =
  (f: (ns: NormalizedString) => NormalizedString[]): PreTokenizeFn =>
  (pieces) => {
    const out: NormalizedString[] = [];
    for (const p of pieces) for (const q of f(p)) if (q.length > 0) out.push(q);
    return out;
  };

/**
 * Letters, marks and digits that V8's tables know and the Rust regex crate's do not (assigned in
 * Unicode 16 and later), so `\w` there does not match them; found by asking the tokenizers
 * package's Whitespace pre-tokenizer about every code point (a test checks all of them).
 */
const NEWER_WORD_CHARS =
  "88f,c5c,cdc,1acf-1add,1ae0-1aeb,a7ce-a7cf,a7d2,a7d4,a7f1,10940-10959,10ec5-10ec7,10efa-10efb,11b60-11b67,11db0-11ddb,11de0-11de9,16ea0-16eb8,16ebb-16ed3,16ff2-16ff6,187f8-187ff,18d09-18d1e,18d80-18df2,1e6c0-1e6de,1e6e0-1e6f5,1e6fe-1e6ff,2b73a-2b73f,2cea2-2cead";
const notWord = new Set<number>();
for (const run of NEWER_WORD_CHARS.split(",")) {
  const [a, b] = run.split("-").map((x) => Number.parseInt(x, 16));
  for (let cp = a; cp <= (b ?? a); cp++) notWord.add(cp);
}
const WORD = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;

/** The Rust regex crate's Unicode `\w`: Alphabetic, marks, decimal digits, connector
 * punctuation and the zero-width joiners, as its tables know them. */
export function isRustWordChar(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c < 0x80)
    return (
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f
    );
  return WORD.test(ch) && !notWord.has(ch.codePointAt(0) as number);
}

/** Matches of `\w+|[^\w\s]+` (runs of word characters, runs of other non-space characters),
 * the Whitespace pre-tokenizer's regex. */
function wordRunMatches(text: string): MatchRange[] {
  if (text.length === 0) return [[0, 0, false]];
  const out: MatchRange[] = [];
  let i = 0;
  let runStart = -1;
  let runKind = 0; // 1 word, 2 other
  let last = 0;
  const close = (at: number) => {
    if (runStart < 0) return;
    if (last < runStart) out.push([last, runStart, false]);
    out.push([runStart, at, true]);
    last = at;
    runStart = -1;
  };
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const w = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length ? 2 : 1;
    const ch = w === 1 ? text[i] : text.slice(i, i + 2);
    const kind = isWhitespace(ch) ? 0 : isRustWordChar(ch) ? 1 : 2;
    if (kind !== runKind || kind === 0) close(i);
    if (kind !== 0 && runStart < 0) runStart = i;
    runKind = kind;
    i += w;
  }
  close(i);
  if (last < text.length) out.push([last, text.length, false]);
  return out;
}

const NUMERIC = /^[\p{Nd}\p{Nl}\p{No}]$/u;

const BEHAVIORS = new Set([
  "Removed",
  "Isolated",
  "MergedWithPrevious",
  "MergedWithNext",
  "Contiguous",
]);

function behaviorOf(x: unknown, src: ComponentSource, where: string): SplitBehavior {
  if (typeof x === "string" && BEHAVIORS.has(x)) return x as SplitBehavior;
  return fail(src, where, `unknown split behavior ${JSON.stringify(x)}`, [...BEHAVIORS].join(", "));
}

/** ByteLevel: optional prefix space, GPT-2's split, then every byte as a printable character. */
export function byteLevelPreTokenizer(addPrefixSpace: boolean, useRegex: boolean): PreTokenizeFn {
  return (pieces) => {
    const out: NormalizedString[] = [];
    for (const p of pieces) {
      if (addPrefixSpace && !p.text.startsWith(" ")) p.prepend(" ");
      const parts = useRegex ? splitPiece(p, regexMatches(p.text, GPT2_SPLIT), "Isolated") : [p];
      for (const q of parts) {
        if (q.length === 0) continue;
        q.mapChars(toByteChars);
        out.push(q);
      }
    }
    return out;
  };
}

export function metaspacePreTokenizer(
  replacement: string,
  prependScheme: "always" | "first" | "never",
  split: boolean,
): PreTokenizeFn {
  const spaces = / /g;
  return eachPiece((p) => {
    p.replace(spaces, replacement);
    if (
      !p.text.startsWith(replacement) &&
      (prependScheme === "always" || (prependScheme === "first" && p.originalRange()[0] === 0))
    ) {
      p.prepend(replacement);
    }
    if (!split) return [p];
    return splitPiece(
      p,
      charMatches(p.text, (c) => c === replacement),
      "MergedWithNext",
    );
  });
}

export function parsePreTokenizer(p: unknown, src: ComponentSource): PreTokenizeFn | null {
  if (p === null || p === undefined) return null;
  if (!isObj(p)) return unsupported(src, "pre_tokenizer", p);
  switch (p.type) {
    case "ByteLevel":
      return byteLevelPreTokenizer(p.add_prefix_space === true, p.use_regex !== false);
    case "Whitespace":
      return eachPiece((q) => splitPiece(q, wordRunMatches(q.text), "Removed", true));
    case "WhitespaceSplit":
      return eachPiece((q) => splitPiece(q, charMatches(q.text, isWhitespace), "Removed"));
    case "Metaspace": {
      const replacement = String(p.replacement ?? "\u2581");
      let scheme = String(p.prepend_scheme ?? "always");
      if (p.add_prefix_space === false) scheme = "never";
      if (scheme !== "always" && scheme !== "first" && scheme !== "never")
        fail(
          src,
          "pre_tokenizer.prepend_scheme",
          `unknown prepend_scheme ${scheme}`,
          "always, first or never",
        );
      return metaspacePreTokenizer(replacement, scheme, p.split !== false);
    }
    case "Split": {
      const re = patternRegex(p.pattern, src, "pre_tokenizer.pattern");
      const behavior = behaviorOf(p.behavior, src, "pre_tokenizer.behavior");
      const invert = p.invert === true;
      return eachPiece((q) => splitPiece(q, regexMatches(q.text, re), behavior, invert));
    }
    case "Punctuation": {
      const behavior = behaviorOf(p.behavior ?? "Isolated", src, "pre_tokenizer.behavior");
      return eachPiece((q) => splitPiece(q, charMatches(q.text, isBertPunctuation), behavior));
    }
    case "Digits": {
      const behavior = p.individual_digits === true ? "Isolated" : "Contiguous";
      return eachPiece((q) =>
        splitPiece(
          q,
          charMatches(q.text, (c) => NUMERIC.test(c)),
          behavior,
        ),
      );
    }
    case "BertPreTokenizer":
      return eachPiece((q) =>
        splitPiece(q, charMatches(q.text, isWhitespace), "Removed").flatMap((w) =>
          splitPiece(w, charMatches(w.text, isBertPunctuation), "Isolated"),
        ),
      );
    case "Sequence": {
      if (!Array.isArray(p.pretokenizers)) return unsupported(src, "pre_tokenizer", p);
      const steps = p.pretokenizers
        .map((x) => parsePreTokenizer(x, src))
        .filter((f): f is PreTokenizeFn => f !== null);
      return (pieces) => {
        let cur = pieces;
        for (const f of steps) cur = f(cur);
        return cur;
      };
    }
    default:
      return unsupported(src, "pre_tokenizer", p);
  }
}
