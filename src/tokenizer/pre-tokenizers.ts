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

/** \w+|[^\w\s]+ with the Rust regex crate's Unicode \w: Alphabetic, marks, decimal digits,
 * connector punctuation and the zero-width joiners. */
const WHITESPACE_WORDS =
  /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;
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
      return eachPiece((q) =>
        splitPiece(q, regexMatches(q.text, WHITESPACE_WORDS), "Removed", true),
      );
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
