// The Unigram language model tokenizer (Kudo 2018) as SentencePiece and tokenizers apply it:
// every vocabulary piece that occurs in the word is an edge of a lattice weighted by the piece's
// log-probability, and Viterbi keeps the best-scoring segmentation. A character no piece covers
// gets an unknown edge scored below every piece (min score - 10); consecutive unknown pieces are
// fused into one, whose token string is the text it covers. With byte_fallback an unknown
// piece becomes its UTF-8 bytes as <0xNN> tokens.
import { MaskwiseError } from "../util/errors.js";
import { byteToken } from "./bpe-model.js";
import type { ModelToken, SubwordModel } from "./model.js";

/** SentencePiece's and tokenizers' penalty for an unknown character, below the lowest score. */
const UNK_PENALTY = 10;

interface TrieNode {
  next: Map<number, TrieNode>;
  /** The piece ending here, or -1. */
  id: number;
}

export interface UnigramOptions {
  unkId: number | null;
  byteFallback?: boolean;
  /** Pieces that may appear in the lattice (default all); SentencePiece leaves out control and
   * unknown pieces. */
  inLattice?: (id: number) => boolean;
  /** The score below which unknown edges sit (default: the lowest score of all pieces). */
  minScore?: number;
}

export class UnigramModel implements SubwordModel {
  readonly vocab = new Map<string, number>();
  readonly pieces: readonly (readonly [string, number])[];
  readonly unkId: number | null;
  readonly byteFallback: boolean;
  private readonly inLattice: ((id: number) => boolean) | undefined;
  private readonly root: TrieNode = { next: new Map(), id: -1 };
  private readonly unkScore: number;
  private readonly cache = new Map<string, readonly ModelToken[]>();
  /** Best score, start and piece of the best path ending at each code unit. */
  private score = new Float64Array(64);
  private from = new Int32Array(64);
  private pieceId = new Int32Array(64);

  constructor(pieces: readonly (readonly [string, number])[], options: UnigramOptions) {
    this.pieces = pieces;
    this.unkId = options.unkId;
    this.byteFallback = options.byteFallback ?? false;
    this.inLattice = options.inLattice;
    if (this.unkId !== null && (this.unkId < 0 || this.unkId >= pieces.length)) {
      throw new MaskwiseError(`unk_id ${this.unkId} is outside the vocabulary`, {
        code: "E_TOKENIZER",
        where: "model.unk_id",
        hint: `use an id below ${pieces.length}`,
      });
    }
    let min = Number.POSITIVE_INFINITY;
    pieces.forEach(([piece, score], id) => {
      if (!this.vocab.has(piece)) this.vocab.set(piece, id);
      if (score < min) min = score;
      if (options.inLattice && !options.inLattice(id)) return;
      let node = this.root;
      for (let i = 0; i < piece.length; i++) {
        const c = piece.charCodeAt(i);
        let child = node.next.get(c);
        if (child === undefined) {
          child = { next: new Map(), id: -1 };
          node.next.set(c, child);
        }
        node = child;
      }
      // The first piece with this string keeps it (a later duplicate is unreachable).
      if (node.id < 0) node.id = id;
    });
    this.unkScore = (options.minScore ?? min) - UNK_PENALTY;
  }

  get size(): number {
    return this.pieces.length;
  }

  token(id: number): string | undefined {
    return this.pieces[id]?.[0];
  }

  /** The best segmentation's pieces as [start, end) code units of the word. */
  segment(word: string): { start: number; end: number; unk: boolean }[] {
    const n = word.length;
    if (this.score.length < n + 1) {
      // Scratch lattice arrays, grown as needed and reused across words.
      const size = Math.max(n + 1, 2 * this.score.length);
      this.score = new Float64Array(size);
      this.from = new Int32Array(size);
      this.pieceId = new Int32Array(size);
    }
    const { score, from, pieceId } = this;
    from.fill(-1, 0, n + 1);
    let start = 0;
    while (start < n) {
      const base = score[start];
      const c = word.charCodeAt(start);
      const charLen = c >= 0xd800 && c < 0xdc00 && start + 1 < n ? 2 : 1;
      let single = false;
      let node: TrieNode | undefined = this.root;
      for (let end = start; end < n; ) {
        node = node.next.get(word.charCodeAt(end));
        end++;
        if (node === undefined) break;
        if (node.id < 0) continue;
        const candidate = base + this.pieces[node.id][1];
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          pieceId[end] = node.id;
        }
        if (end - start === charLen) single = true;
      }
      if (!single) {
        if (this.unkId === null) {
          throw new MaskwiseError(
            `no piece covers "${word.slice(start, start + charLen)}" and the model has no unk_id`,
            {
              code: "E_TOKENIZER",
              where: "model.unk_id",
              hint: "give the Unigram model an unknown piece",
            },
          );
        }
        const end = start + charLen;
        const candidate = base + this.unkScore;
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          pieceId[end] = this.unkId;
        }
      }
      start += charLen;
    }
    const out: { start: number; end: number; unk: boolean }[] = [];
    let end = n;
    while (end > 0) {
      const s = from[end];
      const unk = pieceId[end] === this.unkId;
      const last = out[out.length - 1];
      // Walking backwards: an unknown piece right before an unknown piece joins it.
      if (unk && last?.unk) last.start = s;
      else out.push({ start: s, end, unk });
      end = s;
    }
    return out.reverse();
  }

  tokenize(word: string): readonly ModelToken[] {
    if (word.length === 0) return [];
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const out: ModelToken[] = [];
    for (const { start, end, unk } of this.segment(word)) {
      const value = word.slice(start, end);
      // tokenizers looks the text up again, so fused unknown text that spells a piece becomes
      // that piece; pieces kept out of the lattice (SentencePiece's control pieces) never do.
      let id = this.vocab.get(value);
      if (id !== undefined && unk && this.inLattice !== undefined && !this.inLattice(id))
        id = undefined;
      if (id !== undefined) {
        out.push({ id, value, start, end });
        continue;
      }
      if (this.byteFallback) {
        const bytes: ModelToken[] = [];
        for (const b of new TextEncoder().encode(value)) {
          const t = byteToken(b);
          const bid = this.vocab.get(t);
          if (bid === undefined) break;
          bytes.push({ id: bid, value: t, start, end });
        }
        if (bytes.length === new TextEncoder().encode(value).length) {
          out.push(...bytes);
          continue;
        }
      }
      out.push({ id: this.unkId as number, value, start, end });
    }
    if (this.cache.size < 200_000) this.cache.set(word, out);
    return out;
  }
}
