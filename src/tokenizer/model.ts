// What every subword model (BPE, WordPiece, Unigram, WordLevel) gives the pipeline for one
// pre-tokenized word: tokens with the code units of the word each one covers.

export interface ModelToken {
  id: number;
  /** The token's string (for an unknown Unigram piece, the text it covers). */
  value: string;
  /** Code units [start, end) of the word. */
  start: number;
  end: number;
}

export interface SubwordModel {
  tokenize(word: string): readonly ModelToken[];
  token(id: number): string | undefined;
  readonly vocab: ReadonlyMap<string, number>;
  /** One past the largest id. */
  readonly size: number;
}
