// What a self-supervised objective turns one sequence of token ids into. Labels use -100 where
// nothing is predicted. For encoder-decoder objectives the decoder input is, by default, the
// labels shifted right behind the decoder start token (src/models/inputs.ts); an objective that
// needs other decoder inputs (MASS) gives them explicitly.
export const IGNORE = -100;

export interface Example {
  /** Encoder input (encoder-decoder, encoder-only) or the whole input (decoder-only). */
  input_ids: number[];
  labels: number[];
  /** Only when the decoder input is not the shifted labels. */
  decoder_input_ids?: number[];
  /** Decoder-only prefix LM: positions before this are bidirectional and not predicted. */
  prefix_length?: number;
  /** Decoder-only packed rows: each token's position in its own document (restarting at 0). */
  position_ids?: number[];
  /** Decoder-only packed rows: each token's document, attention stays within one. */
  document_ids?: number[];
}

/** Token ids an objective needs to know. */
export interface SpecialIds {
  mask: number;
  eos: number;
  pad: number;
  /** Ids that are never masked or replaced (bos, eos, pad, language tags, …). */
  special: ReadonlySet<number>;
  /** The vocabulary size, for random replacement tokens (drawn from non-special ids). */
  vocabSize: number;
}
