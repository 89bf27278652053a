// A trained tokenizer: normaliser, pre-tokenizer, BPE model, special tokens and the template that
// adds them, composed in the order Hugging Face's `tokenizers` runs them, so a file written here
// encodes the same in both.
import { type AddedToken, AddedTokenMatcher } from "./added-tokens.js";
import { type BertNormalizerOptions, bertNormalize, bertPreTokenize } from "./bert.js";
import type { BpeModel } from "./bpe-model.js";
import { byteFallbackDecode } from "./byte-fallback.js";
import { byteLevelDecode, byteLevelSplit, gpt2Pieces, toByteChars } from "./byte-level.js";
import { metaspaceDecode, metaspaceSplit } from "./metaspace.js";
import { type NormalizerName, normalize } from "./normalizer.js";
import { WordPieceModel, wordPieceDecode } from "./wordpiece-model.js";

/**
 * `metaspace`: SentencePiece-style words marked with `▁`. `byte-level`: GPT-2 bytes. `bert`:
 * whitespace and punctuation splits (BertPreTokenizer), for WordPiece.
 */
export type PreTokenizerKind = "metaspace" | "byte-level" | "bert";

/** One item of a post-processing template: a special token, or the sequence itself. */
export type TemplateItem =
  | { special: string; typeId?: number }
  | { sequence: "A" | "B"; typeId: number };

/** One encoded sequence or pair, as `tokenizers`' Encoding (no padding: the mask is all ones). */
export interface Encoding {
  ids: number[];
  /** Segment of each token (BERT's token type ids): 0 for the first text, 1 for the pair. */
  typeIds: number[];
  attentionMask: number[];
}

export interface TokenizerParts {
  normalizer: readonly NormalizerName[];
  /** BertNormalizer in place of `normalizer` (which is then empty). */
  bert?: BertNormalizerOptions;
  preTokenizer: PreTokenizerKind;
  /** ByteLevel's add_prefix_space: prepend a space to text that does not start with one. */
  addPrefixSpace?: boolean;
  model: BpeModel | WordPieceModel;
  addedTokens: readonly AddedToken[];
  /**
   * false: the file has no decoder, and decoding joins tokens with spaces as the Rust library
   * does then. Default true (the decoder that matches the pre-tokenizer).
   */
  decoder?: boolean;
  /** What `addSpecialTokens` wraps a single sequence in; null adds nothing. */
  template: { single: TemplateItem[]; pair: TemplateItem[] } | null;
}

export interface EncodeOptions {
  /** Wrap in the template's special tokens (as `tokenizers`' addSpecialTokens). Default false. */
  addSpecialTokens?: boolean;
}

export class Tokenizer {
  readonly parts: TokenizerParts;
  private readonly matcher: AddedTokenMatcher;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  /** Byte-level: ids by raw GPT-2 piece, which skips writing the piece as byte characters. */
  private readonly pieceCache = new Map<string, readonly number[]>();

  constructor(parts: TokenizerParts) {
    this.parts = parts;
    this.matcher = new AddedTokenMatcher(parts.addedTokens);
    for (const t of parts.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
  }

  get model(): BpeModel | WordPieceModel {
    return this.parts.model;
  }

  /** Vocabulary size including added tokens (the embedding table's row count). */
  get vocabSize(): number {
    let n = this.parts.model.size;
    for (const t of this.parts.addedTokens) n = Math.max(n, t.id + 1);
    return n;
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.parts.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.parts.model.token(id);
  }

  normalize(text: string): string {
    const bert = this.parts.bert;
    return bert === undefined ? normalize(text, this.parts.normalizer) : bertNormalize(text, bert);
  }

  /** The words the pre-tokenizer makes of one piece of normalised text. */
  preTokenize(text: string): string[] {
    if (this.parts.preTokenizer === "metaspace") return metaspaceSplit(text);
    if (this.parts.preTokenizer === "bert") return bertPreTokenize(text);
    const t = this.parts.addPrefixSpace && !text.startsWith(" ") ? ` ${text}` : text;
    return byteLevelSplit(t);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.encodeText(text);
    if (!options.addSpecialTokens || this.parts.template === null) return ids;
    return this.encodeFull(text, null, options).ids;
  }

  /**
   * Encodes `text`, and `pair` after it when given, with type ids and attention mask, as
   * `tokenizers` does: the template (single or pair) orders the sequences and gives their type
   * ids, and places its special tokens only with addSpecialTokens; with no template the texts
   * are concatenated with type ids 0 and 1.
   */
  encodeFull(text: string, pair: string | null = null, options: EncodeOptions = {}): Encoding {
    const a = this.encodeText(text);
    const b = pair === null ? null : this.encodeText(pair);
    const ids: number[] = [];
    const typeIds: number[] = [];
    const template = this.parts.template;
    if (template === null) {
      for (const id of a) {
        ids.push(id);
        typeIds.push(0);
      }
      for (const id of b ?? []) {
        ids.push(id);
        typeIds.push(1);
      }
    } else {
      for (const item of b === null ? template.single : template.pair) {
        if ("special" in item) {
          if (!options.addSpecialTokens) continue;
          ids.push(this.tokenToId(item.special) as number);
          typeIds.push(item.typeId ?? 0);
          continue;
        }
        const seq = item.sequence === "A" ? a : b;
        if (seq === null) continue;
        for (const id of seq) {
          ids.push(id);
          typeIds.push(item.typeId);
        }
      }
    }
    return { ids, typeIds, attentionMask: ids.map(() => 1) };
  }

  /** Ids of one text without special-token templates (added tokens are still matched). */
  private encodeText(text: string): number[] {
    const ids: number[] = [];
    for (const piece of this.matcher.split(text)) {
      if ("id" in piece) {
        ids.push(piece.id);
        continue;
      }
      const normalized = this.normalize(piece.text);
      if (this.parts.preTokenizer === "byte-level") {
        this.encodeBytePieces(normalized, ids);
        continue;
      }
      for (const word of this.preTokenize(normalized)) {
        for (const id of this.parts.model.encodeWord(word)) ids.push(id);
      }
    }
    return ids;
  }

  private encodeBytePieces(text: string, ids: number[]): void {
    const t = this.parts.addPrefixSpace && !text.startsWith(" ") ? ` ${text}` : text;
    for (const piece of gpt2Pieces(t)) {
      let hit = this.pieceCache.get(piece);
      if (hit === undefined) {
        hit = (this.parts.model as BpeModel).encodeWord(toByteChars(piece));
        if (this.pieceCache.size < 200_000) this.pieceCache.set(piece, hit);
      }
      for (const id of hit) ids.push(id);
    }
  }

  /** The token strings `encode` would produce. */
  tokenize(text: string, options: EncodeOptions = {}): string[] {
    return this.encode(text, options).map((id) => this.idToToken(id) as string);
  }

  decode(ids: readonly number[], { skipSpecialTokens = false } = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const added = this.addedById.get(id);
      if (added !== undefined) {
        if (!(skipSpecialTokens && added.special)) tokens.push(added.content);
        continue;
      }
      const t = this.parts.model.token(id);
      if (t !== undefined) tokens.push(t);
    }
    if (this.parts.decoder === false) return tokens.join(" ");
    const model = this.parts.model;
    if (model instanceof WordPieceModel)
      return wordPieceDecode(tokens, model.continuingSubwordPrefix, true);
    if (this.parts.preTokenizer === "byte-level") return byteLevelDecode(tokens);
    return metaspaceDecode(model.byteFallback ? byteFallbackDecode(tokens) : tokens);
  }
}
