// The BPE model (Sennrich et al. 2016) as Hugging Face's `tokenizers` applies it to one word:
// start from single characters, then repeatedly merge the adjacent pair whose merge was learned
// earliest (lowest rank), leftmost first among equal ranks, until no learned merge applies.
// Characters missing from the vocabulary become the unknown token, one per character.
import { MaskwiseError } from "../util/errors.js";

/** Pair key for two ids below 2^21: fits exactly in a double. */
export const pairKey = (a: number, b: number): number => a * 2097152 + b;

/** SentencePiece's name for a byte token: <0x0A>, <0xE6>. */
export const byteToken = (b: number): string =>
  `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;

export class BpeModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly merges: readonly (readonly [string, string])[];
  readonly unkToken: string | null;
  private readonly idToToken: string[];
  /** pairKey(a, b) -> rank * 2^21 + merged id, one lookup per candidate pair. */
  private readonly mergeTable = new Map<number, number>();
  private readonly unkId: number;
  /** Words repeat: a cache makes encoding mostly map lookups. */
  private readonly cache = new Map<string, readonly number[]>();

  constructor(
    vocab: ReadonlyMap<string, number>,
    merges: readonly (readonly [string, string])[],
    unkToken: string | null,
    /** SentencePiece's byte fallback: an unknown character becomes its UTF-8 bytes as <0xNN>. */
    readonly byteFallback = false,
  ) {
    this.vocab = vocab;
    this.merges = merges;
    this.unkToken = unkToken;
    this.idToToken = [];
    for (const [t, id] of vocab) this.idToToken[id] = t;
    if (this.idToToken.length >= 2097152) {
      throw new MaskwiseError("vocabulary too large (at most 2,097,151 tokens)", {
        code: "E_TOKENIZER",
        hint: "use a smaller vocabulary",
      });
    }
    merges.forEach(([a, b], rank) => {
      const ia = vocab.get(a);
      const ib = vocab.get(b);
      const merged = vocab.get(a + b);
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
    const ids = this.mergeWord(word);
    if (this.cache.size < 200_000) this.cache.set(word, ids);
    return ids;
  }

  /** Pushes the <0xNN> ids of `ch`'s UTF-8 bytes; false (nothing pushed) when one is missing. */
  private pushBytes(ch: string, syms: number[]): boolean {
    const ids: number[] = [];
    for (const b of new TextEncoder().encode(ch)) {
      const id = this.vocab.get(byteToken(b));
      if (id === undefined) return false;
      ids.push(id);
    }
    for (const id of ids) syms.push(id);
    return true;
  }

  private mergeWord(word: string): number[] {
    const syms: number[] = [];
    for (const ch of word) {
      const id = this.vocab.get(ch);
      if (id !== undefined) syms.push(id);
      else if (this.byteFallback && this.pushBytes(ch, syms)) continue;
      else if (this.unkId >= 0) syms.push(this.unkId);
      // Without an unk token the Rust model drops the character; so do we.
    }
    // Words are short (a few symbols), so a scan per merge beats a heap here.
    while (syms.length > 1) {
      let best = Number.POSITIVE_INFINITY;
      let at = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const m = this.mergeTable.get(pairKey(syms[i], syms[i + 1]));
        if (m !== undefined && m < best) {
          best = m;
          at = i;
        }
      }
      if (at < 0) break;
      syms.splice(at, 2, best % 2097152);
    }
    return syms;
  }
}
