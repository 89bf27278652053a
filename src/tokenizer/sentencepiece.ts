// SentencePiece (Kudo & Richardson 2018) `.model` files encoded as the sentencepiece library does,
// built from the same pipeline parts as tokenizer.json: its normaliser (longest-match rules of
// the precompiled charsmap, user-defined symbols kept whole, leading/trailing/repeated spaces
// removed, a dummy `▁` prefix, spaces written as `▁`), then the Unigram lattice or BPE merges by
// piece score over the whole normalised text, unknown pieces as <0xNN> bytes with byte_fallback,
// and its decoder (control pieces dropped, unknown as " ⁇ ", the first piece's `▁` taken off).

import { MaskwiseError } from "../util/errors.js";
import { byteToken } from "./bpe-model.js";
import { byteFallbackDecode } from "./byte-fallback.js";
import type { DecodeFn } from "./decoders.js";
import type { ModelToken, SubwordModel } from "./model.js";
import type { NormalizedString } from "./normalized-string.js";
import type { NormalizeFn } from "./normalizers.js";
import { CharsMap } from "./precompiled.js";
import { type AddedTokenSpec, PretrainedTokenizer } from "./pretrained-tokenizer.js";
import {
  PieceType,
  parseSentencePieceModel,
  type SpmModel,
  type SpmNormalizerSpec,
} from "./sentencepiece-proto.js";
import { UnigramModel } from "./unigram-model.js";

export const SPACE_SYMBOL = "\u2581";
const utf8 = new TextEncoder();

/** Longest user-defined symbol starting at `pos`, or 0. */
function userSymbolAt(text: string, pos: number, symbols: readonly string[]): number {
  let best = 0;
  for (const s of symbols) if (s.length > best && text.startsWith(s, pos)) best = s.length;
  return best;
}

/** SentencePiece's Normalizer::Normalize on a NormalizedString (alignments kept per rule). */
export function spmNormalizer(
  spec: SpmNormalizerSpec,
  userSymbols: readonly string[],
  suffix: boolean,
): NormalizeFn {
  const map =
    spec.charsmap !== null && spec.charsmap.length > 4 ? new CharsMap(spec.charsmap) : null;
  const space = spec.escapeWhitespaces ? SPACE_SYMBOL : " ";
  return (ns: NormalizedString) => {
    const text = ns.text;
    // UTF-8 offset of each code unit, for the charsmap's byte trie.
    const bytes = utf8.encode(text);
    const byteAt = new Int32Array(text.length + 1);
    const unitAt = new Map<number, number>();
    for (let i = 0, b = 0; i <= text.length; i++) {
      byteAt[i] = b;
      unitAt.set(b, i);
      if (i === text.length) break;
      const c = text.charCodeAt(i);
      if (c < 0x80) b += 1;
      else if (c < 0x800) b += 2;
      else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
        b += 4;
        byteAt[i + 1] = b - 4;
        i++;
      } else b += 3;
    }
    /** The normalised text of the longest rule at `pos` and the code units it consumes. */
    const prefix = (pos: number): [string, number] => {
      const user = userSymbols.length > 0 ? userSymbolAt(text, pos, userSymbols) : 0;
      if (user > 0) return [text.slice(pos, pos + user), user];
      if (map !== null) {
        let best: { value: number; length: number } | null = null;
        for (const hit of map.prefixValues(bytes, byteAt[pos])) {
          if (best === null || hit.length > best.length) best = hit;
        }
        if (best !== null) {
          const end = unitAt.get(byteAt[pos] + best.length);
          if (end !== undefined) return [map.replacementAt(best.value), end - pos];
        }
      }
      const c = text.charCodeAt(pos);
      const w = c >= 0xd800 && c < 0xdc00 && pos + 1 < text.length ? 2 : 1;
      // A lone surrogate is malformed input: SentencePiece writes U+FFFD.
      const lone = w === 1 && c >= 0xd800 && c < 0xe000;
      return [lone ? "\ufffd" : text.slice(pos, pos + w), w];
    };
    const out: { text: string; from: number; to: number }[] = [];
    let pos = 0;
    if (spec.removeExtraWhitespaces) {
      while (pos < text.length) {
        const [t, n] = prefix(pos);
        if (t !== " ") break;
        pos += n;
      }
    }
    if (pos >= text.length) {
      ns.rebuild([]);
      return;
    }
    if (!suffix && spec.addDummyPrefix) out.push({ text: space, from: pos, to: pos });
    let prevSpace = spec.removeExtraWhitespaces;
    while (pos < text.length) {
      let [t, n] = prefix(pos);
      if (prevSpace) while (t.startsWith(" ")) t = t.slice(1);
      if (t.length > 0) {
        out.push({
          text: spec.escapeWhitespaces ? t.replaceAll(" ", SPACE_SYMBOL) : t,
          from: pos,
          to: pos + n,
        });
        prevSpace = t.endsWith(" ");
      }
      pos += n;
      if (!spec.removeExtraWhitespaces) prevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      while (out.length > 0) {
        const last = out[out.length - 1];
        if (!last.text.endsWith(space)) break;
        last.text = last.text.slice(0, -space.length);
        if (last.text.length === 0) out.pop();
      }
    }
    if (suffix && spec.addDummyPrefix)
      out.push({ text: space, from: text.length, to: text.length });
    ns.rebuild(out);
  };
}

/** SentencePiece BPE: merge the adjacent pair whose joined piece has the highest score (the
 * leftmost among equals) until no joined piece is in the vocabulary. */
export class SpmBpeModel implements SubwordModel {
  readonly vocab = new Map<string, number>();
  private readonly mergeable = new Map<string, number>();
  private readonly cache = new Map<string, readonly ModelToken[]>();

  constructor(
    readonly spm: SpmModel,
    private readonly userSymbols: readonly string[],
  ) {
    spm.pieces.forEach((p, id) => {
      if (!this.vocab.has(p.piece)) this.vocab.set(p.piece, id);
      if (p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED)
        if (!this.mergeable.has(p.piece)) this.mergeable.set(p.piece, id);
    });
  }

  get size(): number {
    return this.spm.pieces.length;
  }

  token(id: number): string | undefined {
    return this.spm.pieces[id]?.piece;
  }

  tokenize(word: string): readonly ModelToken[] {
    if (word.length === 0) return [];
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const syms: { start: number; end: number }[] = [];
    for (let i = 0; i < word.length; ) {
      const user = this.userSymbols.length > 0 ? userSymbolAt(word, i, this.userSymbols) : 0;
      const c = word.charCodeAt(i);
      const w = user > 0 ? user : c >= 0xd800 && c < 0xdc00 && i + 1 < word.length ? 2 : 1;
      syms.push({ start: i, end: i + w });
      i += w;
    }
    const scoreOf = (a: { start: number }, b: { end: number }): number => {
      const id = this.mergeable.get(word.slice(a.start, b.end));
      return id === undefined ? Number.NEGATIVE_INFINITY : this.spm.pieces[id].score;
    };
    const scores = syms.slice(1).map((s, k) => scoreOf(syms[k], s));
    for (;;) {
      let at = -1;
      let best = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < scores.length; k++) {
        if (scores[k] > best) {
          best = scores[k];
          at = k;
        }
      }
      if (at < 0) break;
      syms.splice(at, 2, { start: syms[at].start, end: syms[at + 1].end });
      scores.splice(at, 1);
      if (at > 0) scores[at - 1] = scoreOf(syms[at - 1], syms[at]);
      if (at < syms.length - 1) scores[at] = scoreOf(syms[at], syms[at + 1]);
    }
    const out: ModelToken[] = [];
    for (const { start, end } of syms) {
      const value = word.slice(start, end);
      const id = this.mergeable.get(value);
      if (id !== undefined) {
        out.push({ id, value, start, end });
        continue;
      }
      if (this.spm.byteFallback) {
        const ids = [...utf8.encode(value)].map((b) => this.vocab.get(byteToken(b)));
        if (ids.every((x) => x !== undefined)) {
          for (const b of utf8.encode(value)) {
            const t = byteToken(b);
            out.push({ id: this.vocab.get(t) as number, value: t, start, end });
          }
          continue;
        }
      }
      out.push({ id: this.spm.unkId, value, start, end });
    }
    if (this.cache.size < 200_000) this.cache.set(word, out);
    return out;
  }
}

/** SentencePiece's decoding of piece strings: control pieces vanish, the unknown piece reads as
 * its surface (" ⁇ "), byte pieces are joined into UTF-8, `▁` is a space, and the first piece
 * loses one leading `▁` (the dummy prefix). A string that is not a piece of the model is
 * written as it is. */
export function spmDecoder(spm: SpmModel): DecodeFn {
  const types = new Map<string, number>();
  for (const p of spm.pieces) if (!types.has(p.piece)) types.set(p.piece, p.type);
  const unkPiece = spm.pieces[spm.unkId]?.piece;
  const stripFirst = spm.normalizer.addDummyPrefix && !spm.treatWhitespaceAsSuffix;
  return (tokens) => {
    const kept = tokens.filter((t) => types.get(t) !== PieceType.CONTROL);
    const pieces = byteFallbackDecode(kept);
    let first = stripFirst;
    let out = "";
    for (const p of pieces) {
      if (p === unkPiece) out += spm.unkSurface;
      else if (!types.has(p)) {
        // Not a piece of this model (decoded bytes, or a piece of another model): as it is.
        out += p;
      } else {
        const s = first && p.startsWith(SPACE_SYMBOL) ? p.slice(SPACE_SYMBOL.length) : p;
        out += s.replaceAll(SPACE_SYMBOL, " ");
      }
      first = false;
    }
    return [out];
  };
}

export interface SentencePieceOptions {
  /** Added tokens matched before SentencePiece sees the text (e.g. from tokenizer_config.json). */
  addedTokens?: readonly AddedTokenSpec[];
}

/** A tokenizer that encodes and decodes as the sentencepiece library does with this model. */
export function sentencePieceTokenizer(
  spm: SpmModel,
  options: SentencePieceOptions = {},
): PretrainedTokenizer {
  const userSymbols = spm.pieces
    .filter((p) => p.type === PieceType.USER_DEFINED)
    .map((p) => p.piece);
  if (spm.modelType !== 1 && spm.modelType !== 2) {
    throw new MaskwiseError(
      `SentencePiece model type ${spm.modelType} (word or char) is not supported`,
      {
        code: "E_TOKENIZER",
        where: "trainer_spec.model_type",
        hint: "maskwise reads unigram and BPE SentencePiece models",
      },
    );
  }
  let model: SubwordModel;
  if (spm.modelType === 2) {
    model = new SpmBpeModel(spm, userSymbols);
  } else {
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const p of spm.pieces) {
      if (p.type !== PieceType.NORMAL) continue;
      min = Math.min(min, p.score);
      max = Math.max(max, p.score);
    }
    // User-defined pieces outscore any segmentation that splits them (as in sentencepiece).
    const pieces = spm.pieces.map((p): [string, number] => [
      p.piece,
      p.type === PieceType.USER_DEFINED ? utf8.encode(p.piece).length * max - 0.1 : p.score,
    ]);
    model = new UnigramModel(pieces, {
      unkId: spm.unkId,
      byteFallback: spm.byteFallback,
      inLattice: (id) =>
        spm.pieces[id].type === PieceType.NORMAL || spm.pieces[id].type === PieceType.USER_DEFINED,
      minScore: min,
    });
  }
  return new PretrainedTokenizer({
    normalizer: spmNormalizer(spm.normalizer, userSymbols, spm.treatWhitespaceAsSuffix),
    preTokenizer: null,
    model,
    postProcessor: null,
    decoder: spmDecoder(spm),
    addedTokens: options.addedTokens ?? [],
  });
}

/** Reads a `.model` file's bytes into a tokenizer. */
export function sentencePieceFromBytes(
  bytes: Uint8Array,
  source = "tokenizer.model",
  options: SentencePieceOptions = {},
): PretrainedTokenizer {
  return sentencePieceTokenizer(parseSentencePieceModel(bytes, source), options);
}
