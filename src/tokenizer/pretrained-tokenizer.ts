// Any tokenizer.json as Hugging Face's `tokenizers` runs it: added tokens cut out of the raw text
// (and, for normalized ones, out of the normalised text), the normaliser and pre-tokenizer
// applied with alignments, the model on each word, then the post-processor (special tokens, type
// ids), truncation and padding. Offsets are reported in Unicode code points of the input, as
// transformers reports them; decoding runs the decoder chain.

import { MaskwiseError } from "../util/errors.js";
import type { DecodeFn } from "./decoders.js";
import type { ModelToken, SubwordModel } from "./model.js";
import { NormalizedString } from "./normalized-string.js";
import type { NormalizeFn } from "./normalizers.js";
import {
  concatParts,
  type EncodingParts,
  emptyParts,
  type PostProcessFn,
} from "./post-processors.js";
import { isRustWordChar, type PreTokenizeFn } from "./pre-tokenizers.js";

/** An added token with tokenizers' matching options. */
export interface AddedTokenSpec {
  id: number;
  content: string;
  special: boolean;
  /** Matched in the normalised text instead of the raw text. */
  normalized: boolean;
  /** Only where no word character touches it. */
  singleWord: boolean;
  /** Takes the whitespace on its left / right with it. */
  lstrip: boolean;
  rstrip: boolean;
}

export interface Truncation {
  maxLength: number;
  strategy: "longest_first" | "only_first" | "only_second";
  direction: "right" | "left";
}

export interface Padding {
  /** null: pad a batch to its longest encoding. */
  length: number | null;
  multipleOf: number | null;
  direction: "right" | "left";
  padId: number;
  padTypeId: number;
  padToken: string;
}

export interface PipelineParts {
  normalizer: NormalizeFn | null;
  preTokenizer: PreTokenizeFn | null;
  model: SubwordModel;
  postProcessor: PostProcessFn | null;
  decoder: DecodeFn | null;
  addedTokens: readonly AddedTokenSpec[];
  truncation?: Truncation | null;
  padding?: Padding | null;
}

/** One encoded text (and pair), as tokenizers' Encoding. */
export interface FullEncoding {
  ids: number[];
  tokens: string[];
  /** [start, end) in Unicode code points of the text the token came from. */
  offsets: [number, number][];
  typeIds: number[];
  specialTokensMask: number[];
  attentionMask: number[];
}

export interface PipelineEncodeOptions {
  /** Let the post-processor add its special tokens (tokenizers' add_special_tokens). Default false. */
  addSpecialTokens?: boolean;
}

/** Rust regex \w at the end / start of a string (single_word) and \s runs (lstrip/rstrip). */
function endsWithWord(s: string): boolean {
  if (s.length === 0) return false;
  const c = s.charCodeAt(s.length - 1);
  const astral = c >= 0xdc00 && c < 0xe000 && s.length > 1;
  return isRustWordChar(s.slice(astral ? -2 : -1));
}
const startsWithWord = (s: string): boolean =>
  s.length > 0 && isRustWordChar(String.fromCodePoint(s.codePointAt(0) as number));
const TRAILING_SPACE = /\p{White_Space}*$/u;
const LEADING_SPACE = /^\p{White_Space}*/u;

interface Segment {
  piece: NormalizedString;
  /** Set when the segment is an added token. */
  added?: ModelToken;
}

class AddedMatcher {
  private readonly re: RegExp | null;
  private readonly byContent = new Map<string, AddedTokenSpec>();

  constructor(tokens: readonly AddedTokenSpec[], contentOf: (t: AddedTokenSpec) => string) {
    const contents: string[] = [];
    for (const t of tokens) {
      const c = contentOf(t);
      if (c.length === 0 || this.byContent.has(c)) continue;
      this.byContent.set(c, t);
      contents.push(c);
    }
    // Longest first: at the leftmost match the first alternative that fits is the longest.
    contents.sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    const escaped = contents.map((c) => c.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"));
    this.re = contents.length > 0 ? new RegExp(escaped.join("|"), "gu") : null;
  }

  get empty(): boolean {
    return this.re === null;
  }

  /** Cuts the added tokens out of `ns` (tokenizers' AddedVocabulary.find_matches). */
  split(ns: NormalizedString): Segment[] {
    const text = ns.text;
    if (this.re === null || text.length === 0) return [{ piece: ns }];
    const out: Segment[] = [];
    let done = 0;
    for (const m of text.matchAll(this.re)) {
      let start = m.index as number;
      let stop = start + m[0].length;
      const t = this.byContent.get(m[0]) as AddedTokenSpec;
      if (t.singleWord) {
        const before = start === 0 || !endsWithWord(text.slice(0, start));
        const after = stop === text.length || !startsWithWord(text.slice(stop));
        if (!before || !after) continue;
      }
      if (t.lstrip) {
        const head = text.slice(0, start);
        const ws = (TRAILING_SPACE.exec(head) as RegExpExecArray)[0].length;
        start = Math.max(start - ws, done);
      }
      if (t.rstrip) stop += (LEADING_SPACE.exec(text.slice(stop)) as RegExpExecArray)[0].length;
      if (done < start) out.push({ piece: ns.slice(done, start) });
      const piece = ns.slice(start, stop);
      out.push({ piece, added: { id: t.id, value: piece.text, start: 0, end: piece.length } });
      done = stop;
    }
    if (done < text.length) out.push({ piece: ns.slice(done, text.length) });
    return out;
  }
}

/** UTF-16 offsets to code points, where the text has characters outside the BMP. */
function codePointIndex(text: string): ((i: number) => number) | null {
  if (!/[\ud800-\udbff]/.test(text)) return null;
  const map = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    map[i] = cp;
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      map[i + 1] = cp;
      i++;
    }
    cp++;
  }
  map[text.length] = cp;
  return (i) => map[i];
}

export class PretrainedTokenizer {
  readonly parts: PipelineParts;
  private readonly raw: AddedMatcher;
  private readonly normalizedMatcher: AddedMatcher;
  private readonly addedById = new Map<number, AddedTokenSpec>();
  private readonly addedByContent = new Map<string, AddedTokenSpec>();
  private readonly specialContents = new Set<string>();
  /** Special tokens the post-processor adds to a single text and to a pair (for truncation). */
  private readonly addedCount: [number, number];

  constructor(parts: PipelineParts) {
    this.parts = parts;
    for (const t of parts.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
      if (t.special) this.specialContents.add(t.content);
    }
    this.raw = new AddedMatcher(
      parts.addedTokens.filter((t) => !t.normalized),
      (t) => t.content,
    );
    this.normalizedMatcher = new AddedMatcher(
      parts.addedTokens.filter((t) => t.normalized),
      (t) => {
        if (parts.normalizer === null) return t.content;
        const ns = NormalizedString.fromInput(t.content);
        parts.normalizer(ns);
        return ns.text;
      },
    );
    const post = parts.postProcessor;
    this.addedCount = post
      ? [
          post(emptyParts(), null, true).ids.length,
          post(emptyParts(), emptyParts(), true).ids.length,
        ]
      : [0, 0];
  }

  get model(): SubwordModel {
    return this.parts.model;
  }

  /** Vocabulary size including added tokens. */
  get vocabSize(): number {
    let n = this.parts.model.size;
    for (const t of this.parts.addedTokens) n = Math.max(n, t.id + 1);
    return n;
  }

  get addedTokens(): readonly AddedTokenSpec[] {
    return this.parts.addedTokens;
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.parts.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.parts.model.token(id);
  }

  isSpecial(token: string): boolean {
    return this.specialContents.has(token);
  }

  /** The tokens of one text, offsets in UTF-16 code units of it, no special tokens. */
  private encodeSequence(text: string, typeId: number): EncodingParts {
    const out = emptyParts();
    const { normalizer, preTokenizer, model } = this.parts;
    const segments: Segment[] = [];
    for (const seg of this.raw.split(NormalizedString.fromInput(text))) {
      if (seg.added) {
        segments.push(seg);
        continue;
      }
      if (normalizer !== null) normalizer(seg.piece);
      for (const s of this.normalizedMatcher.split(seg.piece)) segments.push(s);
    }
    for (const seg of segments) {
      if (seg.added) {
        const [s, e] = seg.piece.originalRange();
        out.ids.push(seg.added.id);
        out.tokens.push(seg.added.value);
        out.offsets.push([s, e]);
        out.typeIds.push(typeId);
        out.specialTokensMask.push(0);
        continue;
      }
      if (seg.piece.length === 0) continue;
      const words = preTokenizer === null ? [seg.piece] : preTokenizer([seg.piece]);
      for (const w of words) {
        for (const t of model.tokenize(w.text)) {
          out.ids.push(t.id);
          out.tokens.push(t.value);
          out.offsets.push(w.originalOf(t.start, t.end));
          out.typeIds.push(typeId);
          out.specialTokensMask.push(0);
        }
      }
    }
    const toCp = codePointIndex(text);
    if (toCp !== null) out.offsets = out.offsets.map(([s, e]) => [toCp(s), toCp(e)]);
    return out;
  }

  /**
   * Encodes `text` (and `pair` after it) as tokenizers' encode(text, pair, addSpecialTokens):
   * ids, token strings, offsets in code points, type ids, special-token mask, attention mask.
   */
  encode(
    text: string,
    pair: string | null = null,
    options: PipelineEncodeOptions = {},
  ): FullEncoding {
    const add = options.addSpecialTokens === true;
    const a = this.encodeSequence(text, 0);
    const b = pair === null ? null : this.encodeSequence(pair, 1);
    if (this.parts.truncation) this.truncate(a, b, add ? this.addedCount[b === null ? 0 : 1] : 0);
    const post = this.parts.postProcessor ?? concatParts;
    const e = post(a, b, add);
    const enc: FullEncoding = { ...e, attentionMask: e.ids.map(() => 1) };
    const pad = this.parts.padding;
    if (pad && pad.length !== null) this.pad(enc, pad.length);
    return enc;
  }

  /** Encodes many texts; with padding set to the batch's longest, pads them to it. */
  encodeBatch(texts: readonly string[], options: PipelineEncodeOptions = {}): FullEncoding[] {
    const encs = texts.map((t) => this.encode(t, null, options));
    const pad = this.parts.padding;
    if (pad && pad.length === null) {
      const longest = Math.max(0, ...encs.map((e) => e.ids.length));
      for (const e of encs) this.pad(e, longest);
    }
    return encs;
  }

  /** tokenizers' truncate_encodings: the budget is max_length less the special tokens. */
  private truncate(a: EncodingParts, b: EncodingParts | null, added: number): void {
    const t = this.parts.truncation as Truncation;
    const budget = Math.max(0, t.maxLength - added);
    const cut = (e: EncodingParts, keep: number) => {
      if (e.ids.length <= keep) return;
      const from = t.direction === "right" ? 0 : e.ids.length - keep;
      for (const k of ["ids", "tokens", "offsets", "typeIds", "specialTokensMask"] as const) {
        (e[k] as unknown[]).splice(0, e[k].length, ...e[k].slice(from, from + keep));
      }
    };
    const total = a.ids.length + (b?.ids.length ?? 0);
    if (total <= budget) return;
    const remove = total - budget;
    if (t.strategy === "longest_first" || b === null) {
      if (t.strategy === "only_second" && b === null)
        this.truncationError("only_second needs a pair");
      if (b === null) {
        cut(a, budget);
        return;
      }
      // The shorter sequence keeps what it can up to half; the longer one takes the rest.
      let n1 = a.ids.length;
      let n2 = b.ids.length;
      const swap = n1 > n2;
      if (swap) [n1, n2] = [n2, n1];
      n2 = n1 > budget ? n1 : Math.max(n1, budget - n1);
      if (n1 + n2 > budget) {
        n1 = Math.floor(budget / 2);
        n2 = n1 + (budget % 2);
      }
      if (swap) [n1, n2] = [n2, n1];
      cut(a, n1);
      cut(b, n2);
      return;
    }
    const target = t.strategy === "only_first" ? a : b;
    if (target.ids.length <= remove)
      this.truncationError("the sequence to truncate is too short for max_length");
    cut(target, target.ids.length - remove);
  }

  private truncationError(what: string): never {
    throw new MaskwiseError(`truncation: ${what}`, {
      code: "E_INPUT",
      where: "truncation",
      hint: "raise max_length or use the longest_first strategy",
    });
  }

  private pad(e: FullEncoding, target: number): void {
    const p = this.parts.padding as Padding;
    let len = target;
    if (p.multipleOf !== null && p.multipleOf > 0 && len % p.multipleOf !== 0)
      len += p.multipleOf - (len % p.multipleOf);
    const n = len - e.ids.length;
    if (n <= 0) return;
    const fill = <T>(xs: T[], v: T) => {
      const extra = new Array<T>(n).fill(v);
      if (p.direction === "right") xs.push(...extra);
      else xs.unshift(...extra);
    };
    fill(e.ids, p.padId);
    fill(e.tokens, p.padToken);
    fill(e.offsets, [0, 0] as [number, number]);
    fill(e.typeIds, p.padTypeId);
    fill(e.specialTokensMask, 1);
    fill(e.attentionMask, 0);
  }

  /** tokenizers' decode: ids to token strings (special ones left out when asked), then the
   * decoder chain, or the tokens joined with spaces when there is no decoder. */
  decode(ids: readonly number[], { skipSpecialTokens = false } = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const t = this.idToToken(id);
      if (t === undefined) continue;
      if (skipSpecialTokens && this.specialContents.has(t)) continue;
      tokens.push(t);
    }
    return this.decodeTokens(tokens);
  }

  /** Runs the decoder chain on token strings (joined with spaces when there is no decoder). */
  decodeTokens(tokens: readonly string[]): string {
    const d = this.parts.decoder;
    return d === null ? tokens.join(" ") : d([...tokens]).join("");
  }
}
