// The WordLevel model: a word is one token, or the unknown token when the vocabulary lacks it.
import { MaskwiseError } from "../util/errors.js";
import type { ModelToken, SubwordModel } from "./model.js";

export class WordLevelModel implements SubwordModel {
  private readonly idToToken: string[] = [];
  private readonly unkId: number | undefined;

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    readonly unkToken: string,
  ) {
    for (const [t, id] of vocab) this.idToToken[id] = t;
    this.unkId = vocab.get(unkToken);
  }

  get size(): number {
    return this.idToToken.length;
  }

  token(id: number): string | undefined {
    return this.idToToken[id];
  }

  tokenize(word: string): readonly ModelToken[] {
    if (word.length === 0) return [];
    const id = this.vocab.get(word);
    if (id !== undefined) return [{ id, value: word, start: 0, end: word.length }];
    if (this.unkId === undefined) {
      throw new MaskwiseError(
        `"${word}" is not in the WordLevel vocabulary and unk_token "${this.unkToken}" is missing`,
        {
          code: "E_TOKENIZER",
          where: "model.unk_token",
          hint: "add the unknown token to model.vocab",
        },
      );
    }
    return [{ id: this.unkId, value: this.unkToken, start: 0, end: word.length }];
  }
}
