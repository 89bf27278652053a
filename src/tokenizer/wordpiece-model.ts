// The WordPiece model (Schuster & Nakajima 2012, as BERT applies it) as Hugging Face's
// `tokenizers` runs it on one word: greedy longest-match-first from the left, every piece after
// the first written with the continuation prefix `##`. A word longer than maxInputCharsPerWord,
// or one with a stretch no vocabulary piece covers, becomes a single unknown token.
import { MaskwiseError } from "../util/errors.js";
import type { ModelToken } from "./model.js";

export const CONTINUATION = "##";

export class WordPieceModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly unkToken: string;
  readonly continuingSubwordPrefix: string;
  readonly maxInputCharsPerWord: number;
  private readonly idToToken: string[] = [];
  private readonly unkId: number;
  /** Words repeat: a cache makes encoding mostly map lookups. */
  private readonly cache = new Map<string, readonly number[]>();
  private readonly tokenCache = new Map<string, readonly ModelToken[]>();

  constructor(
    vocab: ReadonlyMap<string, number>,
    unkToken: string,
    continuingSubwordPrefix = CONTINUATION,
    maxInputCharsPerWord = 100,
  ) {
    this.vocab = vocab;
    this.unkToken = unkToken;
    this.continuingSubwordPrefix = continuingSubwordPrefix;
    this.maxInputCharsPerWord = maxInputCharsPerWord;
    for (const [t, id] of vocab) this.idToToken[id] = t;
    const unk = vocab.get(unkToken);
    if (unk === undefined) {
      throw new MaskwiseError(`WordPiece unknown token "${unkToken}" is not in the vocabulary`, {
        code: "E_TOKENIZER",
        where: "model.unk_token",
        hint: "add it to model.vocab",
      });
    }
    this.unkId = unk;
  }

  get size(): number {
    return this.idToToken.length;
  }

  token(id: number): string | undefined {
    return this.idToToken[id];
  }

  /** Ids of one pre-tokenized word. */
  encodeWord(word: string): readonly number[] {
    const hit = this.cache.get(word);
    if (hit !== undefined) return hit;
    const ids = this.split(word);
    if (this.cache.size < 200_000) this.cache.set(word, ids);
    return ids;
  }

  /** The tokens of one word with their code-unit ranges (an unknown word is one token). */
  tokenize(word: string): readonly ModelToken[] {
    const hit = this.tokenCache.get(word);
    if (hit !== undefined) return hit;
    const out: ModelToken[] = [];
    const chars = Array.from(word);
    if (chars.length > this.maxInputCharsPerWord) {
      out.push({ id: this.unkId, value: this.unkToken, start: 0, end: word.length });
    } else {
      let start = 0;
      let startUnit = 0;
      while (start < chars.length) {
        let end = chars.length;
        let found: ModelToken | null = null;
        for (; end > start; end--) {
          const piece = chars.slice(start, end).join("");
          const value = start > 0 ? this.continuingSubwordPrefix + piece : piece;
          const id = this.vocab.get(value);
          if (id !== undefined) {
            found = { id, value, start: startUnit, end: startUnit + piece.length };
            break;
          }
        }
        if (found === null) {
          out.length = 0;
          out.push({ id: this.unkId, value: this.unkToken, start: 0, end: word.length });
          break;
        }
        out.push(found);
        startUnit = found.end;
        start = end;
      }
    }
    if (this.tokenCache.size < 200_000) this.tokenCache.set(word, out);
    return out;
  }

  private split(word: string): number[] {
    const chars = Array.from(word);
    if (chars.length > this.maxInputCharsPerWord) return [this.unkId];
    const ids: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let found = -1;
      let end = chars.length;
      // Longest piece first: shrink from the right until the vocabulary has it.
      for (; end > start; end--) {
        const piece = chars.slice(start, end).join("");
        const id = this.vocab.get(start > 0 ? this.continuingSubwordPrefix + piece : piece);
        if (id !== undefined) {
          found = id;
          break;
        }
      }
      if (found < 0) return [this.unkId];
      ids.push(found);
      start = end;
    }
    return ids;
  }
}

/**
 * The WordPiece decoder: a piece with the prefix joins the previous one, any other piece starts a
 * new word after a space; with cleanup, spaces before punctuation and English contractions go,
 * token by token, as the Rust decoder's cleanup does.
 */
export function wordPieceDecode(
  tokens: readonly string[],
  prefix: string,
  cleanup: boolean,
): string {
  let out = "";
  tokens.forEach((t, i) => {
    let s = t;
    if (i > 0) s = s.startsWith(prefix) ? s.slice(prefix.length) : ` ${s}`;
    out += cleanup ? cleanUp(s) : s;
  });
  return out;
}

function cleanUp(s: string): string {
  return s
    .replaceAll(" .", ".")
    .replaceAll(" ?", "?")
    .replaceAll(" !", "!")
    .replaceAll(" ,", ",")
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" do not", " don't")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}
