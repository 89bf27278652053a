// tokenizer.json normalizers, applied with alignments so offsets point into the input: NFC, NFD,
// NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, Precompiled (SentencePiece's
// charsmap), BertNormalizer, ByteLevel and Sequence. Each becomes a function that rewrites a
// NormalizedString in place.
import { isBertChinese, isBertControl, isBertNonspacingMark, isBertWhitespace } from "./bert.js";
import { toByteChars } from "./byte-level.js";
import { type ComponentSource, field, isObj, patternRegex, unsupported } from "./json-util.js";
import type { NormalizedString } from "./normalized-string.js";
import { CharsMap, precompiledNormalize } from "./precompiled.js";
import { normalizeAligned } from "./unicode-aligned.js";

export type NormalizeFn = (ns: NormalizedString) => void;

const MARK = /^\p{M}$/u;
const LOWER_ASCII = /^[^A-Z\u0080-\uffff]*$/;
const PLAIN_ASCII = /^[\x20-\x7e]*$/;

/** Rust's char::to_lowercase, one character at a time (no final-sigma rule). */
function lowercase(ns: NormalizedString): void {
  if (LOWER_ASCII.test(ns.text)) return;
  ns.mapChars((ch) => ch.toLowerCase());
}

function bertNormalizer(o: {
  cleanText: boolean;
  chinese: boolean;
  stripAccents: boolean;
  lowercase: boolean;
}): NormalizeFn {
  return (ns) => {
    if (PLAIN_ASCII.test(ns.text)) {
      if (o.lowercase) lowercase(ns);
      return;
    }
    if (o.cleanText) {
      ns.mapChars((ch) => {
        const cp = ch.codePointAt(0) as number;
        if (cp === 0 || cp === 0xfffd || isBertControl(ch)) return "";
        return isBertWhitespace(ch) ? " " : ch;
      });
    }
    if (o.chinese) {
      ns.mapChars((ch) => (isBertChinese(ch.codePointAt(0) as number) ? ` ${ch} ` : ch));
    }
    if (o.stripAccents) {
      normalizeAligned(ns, "NFD");
      ns.mapChars((ch) => (isBertNonspacingMark(ch) ? "" : ch));
    }
    if (o.lowercase) lowercase(ns);
  };
}

export function parseNormalizer(n: unknown, src: ComponentSource): NormalizeFn | null {
  if (n === null || n === undefined) return null;
  if (!isObj(n)) return unsupported(src, "normalizer", n);
  switch (n.type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = n.type;
      return (ns) => normalizeAligned(ns, form);
    }
    case "Lowercase":
      return lowercase;
    case "StripAccents":
      return (ns) => ns.mapChars((ch) => (MARK.test(ch) ? "" : ch));
    case "Strip": {
      const left = n.strip_left !== false;
      const right = n.strip_right !== false;
      return (ns) => ns.strip(left, right);
    }
    case "Replace": {
      const re = patternRegex(n.pattern, src, "normalizer.pattern");
      const content = String(n.content ?? "");
      return (ns) => ns.replace(re, content);
    }
    case "Prepend": {
      const prepend = String(n.prepend ?? "");
      return (ns) => ns.prepend(prepend);
    }
    case "Precompiled": {
      const b64 = field(n, "precompiled_charsmap", "string", src, "normalizer");
      const map = CharsMap.fromBase64(b64);
      return (ns) => precompiledNormalize(ns, map);
    }
    case "BertNormalizer": {
      const lower = n.lowercase !== false;
      return bertNormalizer({
        cleanText: n.clean_text !== false,
        chinese: n.handle_chinese_chars !== false,
        // null follows lowercase, as in BERT's uncased models.
        stripAccents:
          n.strip_accents === null || n.strip_accents === undefined
            ? lower
            : n.strip_accents === true,
        lowercase: lower,
      });
    }
    case "ByteLevel":
      return (ns) => {
        if (ns.length === 0) return;
        ns.mapChars(toByteChars);
      };
    case "Sequence": {
      if (!Array.isArray(n.normalizers)) return unsupported(src, "normalizer", n);
      const steps = n.normalizers
        .map((x) => parseNormalizer(x, src))
        .filter((f): f is NormalizeFn => f !== null);
      return (ns) => {
        for (const f of steps) f(ns);
      };
    }
    default:
      return unsupported(src, "normalizer", n);
  }
}
