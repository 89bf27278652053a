// The BPE model (Sennrich et al. 2016) as Hugging Face's `tokenizers` applies it to one word:
// start from single characters, then repeatedly merge the adjacent pair whose merge was learned
// earliest (lowest rank), leftmost first among equal ranks, until no learned merge applies.
// Characters missing from the vocabulary become the unknown token, one per character (one per
// run with fuse_unk), or their UTF-8 bytes as <0xNN> tokens with byte_fallback.
import { MaskwiseError } from "../util/errors.js";
import type { ModelToken } from "./model.js";

/** Pair key for two ids below 2^21: fits exactly in a double. */
export const pairKey = (a: number, b: number): number => a * 2097152 + b;

/** SentencePiece's name for a byte token: <0x0A>, <0xE6>. */
export const byteToken = (b: number): string =>
  `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;

/** The options of tokenizers' BPE besides vocabulary and merges. */
export interface BpeOptions {
  /** A run of unknown characters becomes one unknown token (SentencePiece BPE). */
  fuseUnk?: boolean;
  /** Written before every symbol but a word's first (e.g. "##"); merges drop it from the right part. */
  continuingSubwordPrefix?: string | null;
  /** Written after a word's last symbol (e.g. "</w>"). */
  endOfWordSuffix?: string | null;
  /** A word that is itself in the vocabulary is taken whole, before any merge (Llama 3). */
  ignoreMerges?: boolean;
}

/** A symbol of a word being merged: its id and the code units of the word it covers. */
interface Sym {
  id: number;
  start: number;
  end: number;
}

export class BpeModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly merges: readonly (readonly [string, string])[];
  readonly unkToken: string | null;
  readonly fuseUnk: boolean;
  readonly continuingSubwordPrefix: string | null;
  readonly endOfWordSuffix: string | null;
  readonly ignoreMerges: boolean;
  private readonly idToToken: string[];
  /** pairKey(a, b) -> rank * 2^21 + merged id, one lookup per candidate pair. */
  private readonly mergeTable = new Map<number, number>();
  private readonly unkId: number;
  /** Words repeat: a cache makes encoding mostly map lookups. */
  private readonly cache = new Map<string, readonly number[]>();
  private readonly tokenCache = new Map<string, readonly ModelToken[]>();

  constructor(
    vocab: ReadonlyMap<string, number>,
    merges: readonly (readonly [string, string])[],
    unkToken: string | null,
    /** SentencePiece's byte fallback: an unknown character becomes its UTF-8 bytes as <0xNN>. */
    readonly byteFallback = false,
    options: BpeOptions = {},
  ) {
    this.vocab = vocab;
    this.merges = merges;
    this.unkToken = unkToken;
    this.fuseUnk = options.fuseUnk ?? false;
    this.continuingSubwordPrefix = options.continuingSubwordPrefix || null;
    this.endOfWordSuffix = options.endOfWordSuffix || null;
    this.ignoreMerges = options.ignoreMerges ?? false;
    this.idToToken = [];
    for (const [t, id] of vocab) this.idToToken[id] = t;
    if (this.idToToken.length >= 2097152) {
      throw new MaskwiseError("vocabulary too large (at most 2,097,151 tokens)", {
        code: "E_TOKENIZER",
        hint: "use a smaller vocabulary",
      });
    }
    const prefixLength = this.continuingSubwordPrefix?.length ?? 0;
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      // The merged token is a + b without b's continuation prefix (tokenizers' BPE builder).
      const merged = vocab.get(a + b.slice(prefixLength));
      if (ia === undefined || ib === undefined || merged === undefined) {
        throw new MaskwiseError(
          `merge ${rank} ("${a}" "${b}") uses a token not in the vocabulary`,
          {
            code: "E_TOKENIZER",
            where: `model.merges[${rank}]`,
            hint: "every merge's two parts and their concatenation must be in model.vocab",
          },
        );
      }
      const key = pairKey(ia, ib);
      // The first occurrence wins, as in the Rust loader's map built in rank order.
      if (!this.mergeTable.has(key)) this.mergeTable.set(key, rank * 2097152 + merged);
    });
    if (unkToken !== null && !vocab.has(unkToken)) {
      throw new MaskwiseError(`unk_token "${unkToken}" is not in the vocabulary`, {
        code: "E_TOKENIZER",
        where: "model.unk_token",
        hint: "add it to model.vocab or set unk_token to null",
      });
    }
    this.unkId = unkToken === null ? -1 : (vocab.get(unkToken) as number);
  }

  get size(): number {
    return this.idToToken.length;
  }

  token(id: number): string | undefined {
    return this.idToToken[id];
  }

  /** The ids of one pre-tokenized word. */
  encodeWord(word: string): readonly number[] {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const ids = this.mergeWord(word).map((s) => s.id);
    if (this.cache.size < 200_000) this.cache.set(word, ids);
    return ids;
  }

  /** The tokens of one word, with their code-unit ranges in it. */
  tokenize(word: string): readonly ModelToken[] {
    if (word.length === 0) return [];
    const hit = this.tokenCache.get(word);
    if (hit !== undefined) return hit;
    let out: ModelToken[];
    const whole = this.ignoreMerges ? this.vocab.get(word) : undefined;
    if (whole !== undefined) out = [{ id: whole, value: word, start: 0, end: word.length }];
    else
      out = this.mergeWord(word).map((s) => ({
        id: s.id,
        value: this.idToToken[s.id],
        start: s.start,
        end: s.end,
      }));
    if (this.tokenCache.size < 200_000) this.tokenCache.set(word, out);
    return out;
  }

  /** The <0xNN> ids of `ch`'s UTF-8 bytes, or null when one is missing. */
  private byteIds(ch: string): number[] | null {
    const ids: number[] = [];
    for (const b of new TextEncoder().encode(ch)) {
      const id = this.vocab.get(byteToken(b));
      if (id === undefined) return null;
      ids.push(id);
    }
    return ids;
  }

  private mergeWord(word: string): Sym[] {
    const syms: Sym[] = [];
    const prefix = this.continuingSubwordPrefix;
    const suffix = this.endOfWordSuffix;
    // A pending unknown symbol: with fuse_unk, later unknown characters extend it.
    let unk: Sym | null = null;
    let i = 0;
    while (i < word.length) {
      const c = word.charCodeAt(i);
      const w = c >= 0xd800 && c < 0xdc00 && i + 1 < word.length ? 2 : 1;
      const ch = word.slice(i, i + w);
      let s = ch;
      if (prefix !== null && i > 0) s = prefix + s;
      if (suffix !== null && i + w >= word.length) s += suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (unk !== null) syms.push(unk);
        unk = null;
        syms.push({ id, start: i, end: i + w });
      } else {
        const bytes = this.byteFallback ? this.byteIds(s) : null;
        if (bytes !== null) {
          // Byte tokens each cover the whole character; a pending unknown stays pending (as
          // in tokenizers, where it is flushed only by the next known character).
          for (const b of bytes) syms.push({ id: b, start: i, end: i + w });
        } else if (this.unkId >= 0) {
          if (unk !== null && this.fuseUnk) unk.end = i + w;
          else {
            if (unk !== null) syms.push(unk);
            unk = { id: this.unkId, start: i, end: i + w };
          }
        }
        // Without an unk token the Rust model drops the character; so do we.
      }
      i += w;
    }
    if (unk !== null) syms.push(unk);
    if (syms.length > 24) return this.mergeLong(syms);
    // Words are short (a few symbols), so a scan per merge beats a heap here.
    while (syms.length > 1) {
      let best = Number.POSITIVE_INFINITY;
      let at = -1;
      for (let k = 0; k + 1 < syms.length; k++) {
        const m = this.mergeTable.get(pairKey(syms[k].id, syms[k + 1].id));
        if (m !== undefined && m < best) {
          best = m;
          at = k;
        }
      }
      if (at < 0) break;
      syms.splice(at, 2, { id: best % 2097152, start: syms[at].start, end: syms[at + 1].end });
    }
    return syms;
  }

  /**
   * The same merges for a long word (a whole SentencePiece-style sentence), as tokenizers does
   * them: a min-heap of candidate pairs keyed by (rank, position), symbols in a linked list, and
   * stale entries skipped when popped.
   */
  private mergeLong(syms: Sym[]): Sym[] {
    const n = syms.length;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let k = 0; k < n; k++) {
      next[k] = k + 1 < n ? k + 1 : -1;
      prev[k] = k - 1;
    }
    const heap: number[] = [];
    const push = (key: number) => {
      let i = heap.push(key) - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p] <= key) break;
        heap[i] = heap[p];
        i = p;
      }
      heap[i] = key;
    };
    const pop = (): number => {
      const top = heap[0];
      const last = heap.pop() as number;
      if (heap.length > 0) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= heap.length) break;
          const c = l + 1 < heap.length && heap[l + 1] < heap[l] ? l + 1 : l;
          if (heap[c] >= last) break;
          heap[i] = heap[c];
          i = c;
        }
        heap[i] = last;
      }
      return top;
    };
    /** Candidate (left at k): rank * 2^21 + k, so ties go to the leftmost pair. */
    const candidate = (k: number) => {
      const r = next[k];
      if (r < 0) return;
      const m = this.mergeTable.get(pairKey(syms[k].id, syms[r].id));
      if (m !== undefined) push(Math.floor(m / 2097152) * 2097152 + k);
    };
    for (let k = 0; k + 1 < n; k++) candidate(k);
    while (heap.length > 0) {
      const key = pop();
      const k = key % 2097152;
      const r = next[k];
      if (!alive[k] || r < 0) continue;
      const m = this.mergeTable.get(pairKey(syms[k].id, syms[r].id));
      // Stale: the pair at k changed since this entry was pushed.
      if (m === undefined || Math.floor(m / 2097152) !== Math.floor(key / 2097152)) continue;
      syms[k] = { id: m % 2097152, start: syms[k].start, end: syms[r].end };
      alive[r] = 0;
      next[k] = next[r];
      if (next[r] >= 0) prev[next[r]] = k;
      if (prev[k] >= 0) candidate(prev[k]);
      candidate(k);
    }
    const out: Sym[] = [];
    for (let k = 0; k >= 0 && k < n; k = next[k]) out.push(syms[k]);
    return out;
  }
}
