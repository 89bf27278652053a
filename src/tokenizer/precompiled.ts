// SentencePiece's precompiled normalisation rules (the `precompiled_charsmap` of a `.model` file,
// e.g. nmt_nfkc): a Darts double-array trie over UTF-8 byte strings whose values point into a
// blob of NUL-terminated replacement strings. Layout: u32 little-endian trie size in bytes, the
// trie's u32 units, then the replacement blob.
import { MaskwiseError } from "../util/errors.js";
import { type Change, codePoints, type NormalizedString } from "./normalized-string.js";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class CharsMap {
  private readonly units: Uint32Array;
  private readonly blob: Uint8Array;
  private readonly cache = new Map<string, string | null>();

  constructor(bytes: Uint8Array) {
    if (bytes.length < 4) {
      throw new MaskwiseError("precompiled_charsmap is too short", {
        code: "E_TOKENIZER",
        hint: "the charsmap must start with its trie size",
      });
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieSize = view.getUint32(0, true);
    if (4 + trieSize > bytes.length || trieSize % 4 !== 0) {
      throw new MaskwiseError("precompiled_charsmap trie size does not fit the data", {
        code: "E_TOKENIZER",
        hint: "the charsmap is damaged",
      });
    }
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.blob = bytes.subarray(4 + trieSize);
    let inert = true;
    for (let c = 0x20; c < 0x7f && inert; c++)
      inert = this.transform(String.fromCharCode(c)) === null;
    this.asciiInert = inert;
  }

  /** No rule for printable ASCII (true of nmt_nfkc, not of nfkc_cf): such text is skipped. */
  readonly asciiInert: boolean;

  static fromBase64(b64: string): CharsMap {
    return new CharsMap(base64Bytes(b64));
  }

  get empty(): boolean {
    return this.units.length === 0;
  }

  /** Values of every key in the trie that is a prefix of `key` (shortest first). */
  prefixValues(key: Uint8Array, from = 0): { value: number; length: number }[] {
    const u = this.units;
    const out: { value: number; length: number }[] = [];
    if (u.length === 0) return out;
    const offset = (x: number) => (x >>> 10) << ((x & (1 << 9)) >>> 6);
    let pos = offset(u[0]);
    for (let i = from; i < key.length; i++) {
      const c = key[i];
      if (c === 0) break;
      pos ^= c;
      const unit = u[pos];
      // label: the low byte and the top bit; it must equal c for the edge to exist.
      if (unit === undefined || (unit & 0x800000ff) !== c) return out;
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) out.push({ value: u[pos] & 0x7fffffff, length: i - from + 1 });
    }
    return out;
  }

  /** Whether any key of the trie starts at some character of `text` (else no rule applies). */
  anyRuleIn(text: string): boolean {
    const u = this.units;
    if (u.length === 0) return false;
    const offset = (x: number) => (x >>> 10) << ((x & (1 << 9)) >>> 6);
    const root = offset(u[0]);
    const bytes = utf8.encode(text);
    for (let i = 0; i < bytes.length; i++) {
      // Keys start at characters, never at UTF-8 continuation bytes.
      if ((bytes[i] & 0xc0) === 0x80) continue;
      let pos = root;
      for (let k = i; k < bytes.length; k++) {
        const c = bytes[k];
        if (c === 0) break;
        pos ^= c;
        const unit = u[pos];
        if (unit === undefined || (unit & 0x800000ff) !== c) break;
        pos ^= offset(unit);
        if ((unit >>> 8) & 1) return true;
      }
    }
    return false;
  }

  /** The NUL-terminated replacement at `index` of the blob. */
  replacementAt(index: number): string {
    let end = index;
    while (end < this.blob.length && this.blob[end] !== 0) end++;
    return utf8Decoder.decode(this.blob.subarray(index, end));
  }

  /** tokenizers' Precompiled.transform: the replacement of the shortest matching prefix. */
  transform(chunk: string): string | null {
    let r = this.cache.get(chunk);
    if (r === undefined) {
      const hits = this.prefixValues(utf8.encode(chunk));
      r = hits.length === 0 ? null : this.replacementAt(hits[0].value);
      if (this.cache.size < 100_000) this.cache.set(chunk, r);
    }
    return r;
  }
}

export function base64Bytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let graphemes: Intl.Segmenter | null = null;

function graphemeList(text: string): string[] {
  graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  return Array.from(graphemes.segment(text), (s) => s.segment);
}

/** Characters that can make a grapheme of several characters: marks and other extenders,
 * joiners, CR (before LF), Hangul jamo, prepended concatenation marks, astral characters
 * (emoji modifiers, regional indicators, tags). */
const MAY_JOIN =
  /[\p{M}\u200c-\u200d\r\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff\u0600-\u0605\u06dd\u070f\u0890\u0891\u08e2\u0d4e\u{10000}-\u{10ffff}]/u;

/** Appends the changes that replace `old` (a grapheme or one character) with `repl`: extra
 * characters are inserted, missing ones are taken off the last character's change. */
function pushReplacement(dest: Change[], old: string, repl: string): void {
  const oldCount = codePoints(old).length;
  const chars = codePoints(repl);
  for (const c of chars) dest.push([c, 0]);
  const diff = chars.length - oldCount;
  if (diff > 0) {
    for (let k = 0; k < diff; k++) dest[dest.length - 1 - k][1] = 1;
  } else if (diff < 0 && dest.length > 0) {
    dest[dest.length - 1][1] += diff;
  }
}

const PLAIN = /^[\x20-\x7e]*$/;

/**
 * The Precompiled normaliser as tokenizers applies it: grapheme by grapheme, a grapheme shorter
 * than 6 UTF-8 bytes that has a rule is replaced whole; otherwise each character is looked up
 * on its own.
 */
export function precompiledNormalize(ns: NormalizedString, map: CharsMap): void {
  if (map.empty || (map.asciiInert && PLAIN.test(ns.text))) return;
  // Most text has no rule anywhere: one pass over its bytes avoids grapheme segmentation.
  if (!map.anyRuleIn(ns.text)) return;
  const dest: Change[] = [];
  let modified = false;
  // Without anything that can join characters into one grapheme, each character is its own.
  const segments = MAY_JOIN.test(ns.text) ? graphemeList(ns.text) : ns.text;
  for (const segment of segments) {
    if (utf8Length(segment) < 6) {
      const norm = map.transform(segment);
      if (norm !== null) {
        modified = true;
        pushReplacement(dest, segment, norm);
        continue;
      }
    }
    for (const ch of segment) {
      const norm = map.transform(ch);
      if (norm !== null) {
        modified = true;
        pushReplacement(dest, ch, norm);
      } else {
        dest.push([ch, 0]);
      }
    }
  }
  if (modified) ns.transform(dest);
}

export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
