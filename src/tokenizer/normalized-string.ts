// A piece of text being normalised and split, that remembers where each of its characters came
// from in the input (Hugging Face's NormalizedString). Every UTF-16 code unit of `text` carries
// the [start, end) range, in code units of the whole input, of the original character it stands
// for, so a token's offsets are read off its first and last code unit however many normalisers
// and pre-tokenizers rewrote the text before the model saw it.

/** One output character and how it relates to the characters it replaces (the Rust convention):
 * 0 replaces one character, n > 0 is inserted (it takes the previous character's range),
 * n < 0 replaces one character and removes the |n| that follow. */
export type Change = [ch: string, change: number];

/** Code points of `s` (one or two code units each). */
export const codePoints = (s: string): string[] => Array.from(s);

export class NormalizedString {
  text: string;
  /** starts[i], ends[i]: the original range of code unit i of `text`. */
  starts: number[];
  ends: number[];
  /** Where this piece began in the input: the range an insertion at the very start takes. */
  readonly base: number;

  constructor(text: string, starts: number[], ends: number[], base: number) {
    this.text = text;
    this.starts = starts;
    this.ends = ends;
    this.base = base;
  }

  /** `text` taken from the input at `offset`, each character standing for itself. */
  static fromInput(text: string, offset = 0): NormalizedString {
    const starts: number[] = new Array(text.length);
    const ends: number[] = new Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      // Both halves of a surrogate pair stand for the whole character.
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
        starts[i] = starts[i + 1] = offset + i;
        ends[i] = ends[i + 1] = offset + i + 2;
        i++;
      } else {
        starts[i] = offset + i;
        ends[i] = offset + i + 1;
      }
    }
    return new NormalizedString(text, starts, ends, offset);
  }

  get length(): number {
    return this.text.length;
  }

  /** The original range of the whole piece. */
  originalRange(): [number, number] {
    if (this.text.length === 0) return [this.base, this.base];
    return [this.starts[0], this.ends[this.text.length - 1]];
  }

  /** The original range of code units [s, e) of `text` (first one's start, last one's end). */
  originalOf(s: number, e: number): [number, number] {
    if (s >= e) return [this.base, this.base];
    return [this.starts[s], this.ends[e - 1]];
  }

  /** Code units [s, e) as a piece of their own. */
  slice(s: number, e: number): NormalizedString {
    const base = s < e ? this.starts[s] : this.base;
    return new NormalizedString(
      this.text.slice(s, e),
      this.starts.slice(s, e),
      this.ends.slice(s, e),
      base,
    );
  }

  /**
   * Rewrites code units [from, to) with `dest`, skipping the first `initialOffset` characters of
   * the range (they are removed), as tokenizers' transform_range: a replacing character takes
   * the range of the character it replaces, an inserted one the range of the character before.
   */
  transformRange(from: number, to: number, dest: Iterable<Change>, initialOffset = 0): void {
    const old = this.text.slice(from, to);
    let cursor = 0; // code unit in `old`
    const nextOld = (): number => {
      if (cursor >= old.length) return 0;
      const c = old.charCodeAt(cursor);
      const w = c >= 0xd800 && c < 0xdc00 && cursor + 1 < old.length ? 2 : 1;
      cursor += w;
      return w;
    };
    for (let k = 0; k < initialOffset; k++) nextOld();
    let text = "";
    const starts: number[] = [];
    const ends: number[] = [];
    for (const [ch, change] of dest) {
      const idx = from + cursor;
      let s: number;
      let e: number;
      if (change > 0) {
        if (idx < 1) {
          s = this.base;
          e = this.base;
        } else {
          s = this.starts[idx - 1];
          e = this.ends[idx - 1];
        }
      } else if (idx < this.text.length) {
        s = this.starts[idx];
        e = this.ends[idx];
      } else {
        s = e = this.ends[this.text.length - 1] ?? this.base;
      }
      if (change <= 0) nextOld();
      for (let k = 0; k < -change; k++) nextOld();
      text += ch;
      for (let k = 0; k < ch.length; k++) {
        starts.push(s);
        ends.push(e);
      }
    }
    this.text = this.text.slice(0, from) + text + this.text.slice(to);
    this.starts = spliced(this.starts, from, to, starts);
    this.ends = spliced(this.ends, from, to, ends);
  }

  transform(dest: Iterable<Change>, initialOffset = 0): void {
    this.transformRange(0, this.text.length, dest, initialOffset);
  }

  /**
   * Each character mapped to zero or more characters (lowercasing, stripping marks, byte-level
   * rewriting); every output character takes the range of the character it came from, which is
   * what tokenizers' transform gives for a replacement followed by insertions, and for removals
   * folded into a neighbour (filter).
   */
  mapChars(f: (ch: string) => string): void {
    const old = this.text;
    let text = "";
    let starts: number[] | null = null;
    let ends: number[] | null = null;
    let i = 0;
    while (i < old.length) {
      const c = old.charCodeAt(i);
      const w = c >= 0xd800 && c < 0xdc00 && i + 1 < old.length ? 2 : 1;
      const ch = w === 1 ? old[i] : old.slice(i, i + 2);
      const out = f(ch);
      if (starts === null || ends === null) {
        if (out === ch) {
          i += w;
          continue;
        }
        // First change: copy the unchanged prefix.
        text = old.slice(0, i);
        starts = this.starts.slice(0, i);
        ends = this.ends.slice(0, i);
      }
      text += out;
      const a = this.starts[i];
      const b = this.ends[i];
      for (let k = 0; k < out.length; k++) {
        starts.push(a);
        ends.push(b);
      }
      i += w;
    }
    if (starts === null || ends === null) return;
    this.text = text;
    this.starts = starts;
    this.ends = ends;
  }

  /** Inserts `s` before the first character (tokenizers' prepend); nothing on empty text. */
  prepend(s: string): void {
    if (this.text.length === 0) return;
    const first = String.fromCodePoint(this.text.codePointAt(0) as number);
    const dest: Change[] = [];
    let i = 0;
    for (const c of s) dest.push([c, i++ === 0 ? 0 : 1]);
    dest.push([first, 1]);
    this.transformRange(0, first.length, dest);
  }

  /** Replaces each match of `re` (global) with `content`; the new characters take the range of
   * the last character of the match (tokenizers' replace). */
  replace(re: RegExp, content: string): void {
    const matches = [...this.text.matchAll(re)].filter((m) => m[0].length > 0);
    if (matches.length === 0) return;
    let text = "";
    const starts: number[] = [];
    const ends: number[] = [];
    let last = 0;
    for (const m of matches) {
      const at = m.index as number;
      const end = at + m[0].length;
      text += this.text.slice(last, at);
      for (let k = last; k < at; k++) {
        starts.push(this.starts[k]);
        ends.push(this.ends[k]);
      }
      const s = this.starts[end - 1];
      const e = this.ends[end - 1];
      text += content;
      for (let k = 0; k < content.length; k++) {
        starts.push(s);
        ends.push(e);
      }
      last = end;
    }
    text += this.text.slice(last);
    for (let k = last; k < this.text.length; k++) {
      starts.push(this.starts[k]);
      ends.push(this.ends[k]);
    }
    this.text = text;
    this.starts = starts;
    this.ends = ends;
  }

  /**
   * Replaces the text with `parts`, each standing for code units [from, to) of the current text
   * (all its code units take that range; an empty range is an insertion, which takes the range
   * of the character at `from`). For rewrites that are easier to state as "this output came
   * from that input" than as per-character changes (SentencePiece's normaliser).
   */
  rebuild(parts: readonly { text: string; from: number; to: number }[]): void {
    let text = "";
    const starts: number[] = [];
    const ends: number[] = [];
    const last = this.text.length - 1;
    for (const { text: t, from, to } of parts) {
      const a = Math.min(from, last);
      const s = a < 0 ? this.base : this.starts[a];
      const e = a < 0 ? this.base : to > from ? this.ends[to - 1] : this.ends[a];
      text += t;
      for (let k = 0; k < t.length; k++) {
        starts.push(s);
        ends.push(e);
      }
    }
    this.text = text;
    this.starts = starts;
    this.ends = ends;
  }

  /** Removes leading and/or trailing whitespace (Rust's char::is_whitespace). */
  strip(left: boolean, right: boolean): void {
    const chars = codePoints(this.text);
    let lead = 0;
    if (left) while (lead < chars.length && isWhitespace(chars[lead])) lead++;
    let trail = 0;
    if (right)
      while (trail < chars.length - lead && isWhitespace(chars[chars.length - 1 - trail])) trail++;
    if (lead === 0 && trail === 0) return;
    const dest: Change[] = [];
    for (let i = lead; i < chars.length - trail; i++) dest.push([chars[i], 0]);
    if (dest.length > 0) dest[dest.length - 1][1] = -trail;
    this.transform(dest, lead);
  }
}

/** `xs` with [from, to) replaced by `mid`. */
function spliced(xs: number[], from: number, to: number, mid: number[]): number[] {
  const out = xs.slice(0, from);
  for (const x of mid) out.push(x);
  for (let k = to; k < xs.length; k++) out.push(xs[k]);
  return out;
}

/** Rust's char::is_whitespace: the White_Space property. */
const WHITE_SPACE = /^\p{White_Space}$/u;
export const isWhitespace = (ch: string): boolean => {
  const c = ch.charCodeAt(0);
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  return ch.length <= 2 && WHITE_SPACE.test(ch);
};

/** [start, end, isMatch] ranges in code units, covering the text, as tokenizers' Pattern. */
export type MatchRange = [number, number, boolean];

/** Ranges of a regular expression's matches (global flag) and the text between them. */
export function regexMatches(text: string, re: RegExp): MatchRange[] {
  if (text.length === 0) return [[0, 0, false]];
  const out: MatchRange[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index as number;
    // Empty matches split nothing (the onig iterator in tokenizers skips them as well).
    if (m[0].length === 0) continue;
    if (prev !== at) out.push([prev, at, false]);
    out.push([at, at + m[0].length, true]);
    prev = at + m[0].length;
  }
  if (prev !== text.length) out.push([prev, text.length, false]);
  return out;
}

/** Ranges of single characters for which `pred` holds, and the runs between them. */
export function charMatches(text: string, pred: (ch: string) => boolean): MatchRange[] {
  if (text.length === 0) return [[0, 0, false]];
  const out: MatchRange[] = [];
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const w = c >= 0xd800 && c < 0xdc00 && i + 1 < text.length ? 2 : 1;
    const ch = w === 1 ? text[i] : text.slice(i, i + 2);
    if (pred(ch)) {
      if (last < i) out.push([last, i, false]);
      out.push([i, i + w, true]);
      last = i + w;
    }
    i += w;
  }
  if (i > last) out.push([last, i, false]);
  return out;
}

/** How a split keeps its delimiters (tokenizers' SplitDelimiterBehavior). */
export type SplitBehavior =
  | "Removed"
  | "Isolated"
  | "MergedWithPrevious"
  | "MergedWithNext"
  | "Contiguous";

/** Splits a piece at the given matches; empty pieces are dropped. */
export function splitPiece(
  ns: NormalizedString,
  matches: MatchRange[],
  behavior: SplitBehavior,
  invert = false,
): NormalizedString[] {
  const ms: MatchRange[] = invert ? matches.map(([s, e, m]) => [s, e, !m]) : matches;
  const keep: [number, number][] = [];
  if (behavior === "Removed") {
    for (const [s, e, m] of ms) if (!m) keep.push([s, e]);
  } else if (behavior === "Isolated") {
    for (const [s, e] of ms) keep.push([s, e]);
  } else if (behavior === "Contiguous") {
    let prev = false;
    for (const [s, e, m] of ms) {
      if (m === prev && keep.length > 0) keep[keep.length - 1][1] = e;
      else keep.push([s, e]);
      prev = m;
    }
  } else if (behavior === "MergedWithPrevious") {
    let prev = false;
    for (const [s, e, m] of ms) {
      if (m && !prev && keep.length > 0) keep[keep.length - 1][1] = e;
      else keep.push([s, e]);
      prev = m;
    }
  } else {
    let prev = false;
    const rev: [number, number][] = [];
    for (let i = ms.length - 1; i >= 0; i--) {
      const [s, e, m] = ms[i];
      if (m && !prev && rev.length > 0) rev[rev.length - 1][0] = s;
      else rev.push([s, e]);
      prev = m;
    }
    for (let i = rev.length - 1; i >= 0; i--) keep.push(rev[i]);
  }
  const out: NormalizedString[] = [];
  for (const [s, e] of keep) if (e > s) out.push(ns.slice(s, e));
  return out;
}
