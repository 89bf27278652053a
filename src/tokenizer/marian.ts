// Marian (OPUS-MT) tokenizers: two SentencePiece models, one for the source language and one for
// the target, and one joint vocab.json that maps their pieces to the model's ids. As
// transformers' MarianTokenizer: a leading language code (>>fra<<) is a token of its own, special
// tokens in the text are cut out, each stretch
// between them goes through the side's SentencePiece model, pieces missing from vocab.json
// become <unk>, and </s> ends the sequence. Decoding joins runs of ordinary pieces with the
// SentencePiece decoder and writes special tokens as they are, each followed by a space.
import { type AddedTokenSpec, PretrainedTokenizer } from "./pretrained-tokenizer.js";

export type MarianSide = "source" | "target";

export interface MarianEncoding {
  ids: number[];
  tokens: string[];
  /** Code points of the input; an appended </s> has (0, 0). */
  offsets: [number, number][];
}

export interface MarianSpecials {
  eos: string;
  unk: string;
  pad: string;
}

export class MarianTokenizer {
  readonly vocab: ReadonlyMap<string, number>;
  private readonly idToPiece: string[] = [];
  private readonly specials: Set<string>;
  private readonly eosId: number;
  private readonly unkId: number;

  constructor(
    readonly source: PretrainedTokenizer,
    readonly target: PretrainedTokenizer,
    vocab: ReadonlyMap<string, number>,
    readonly specialTokens: MarianSpecials = { eos: "</s>", unk: "<unk>", pad: "<pad>" },
  ) {
    this.vocab = vocab;
    for (const [p, id] of vocab) this.idToPiece[id] = p;
    this.specials = new Set([specialTokens.eos, specialTokens.unk, specialTokens.pad]);
    this.eosId = vocab.get(specialTokens.eos) ?? 0;
    this.unkId = vocab.get(specialTokens.unk) ?? 1;
  }

  /** The SentencePiece side models with the special tokens matched in the raw text. */
  static withSpecials(
    source: PretrainedTokenizer,
    target: PretrainedTokenizer,
    vocab: ReadonlyMap<string, number>,
    specialTokens?: MarianSpecials,
  ): MarianTokenizer {
    const sp = specialTokens ?? { eos: "</s>", unk: "<unk>", pad: "<pad>" };
    const added: AddedTokenSpec[] = [sp.eos, sp.unk, sp.pad].map((content) => ({
      id: vocab.get(content) ?? -1,
      content,
      special: true,
      normalized: false,
      singleWord: false,
      lstrip: false,
      rstrip: false,
    }));
    // The side models are used through piece strings only (ids come from vocab.json), so the
    // special tokens carry the joint vocabulary's ids there.
    const withAdded = (t: PretrainedTokenizer) =>
      new PretrainedTokenizer({ ...t.parts, addedTokens: added });
    return new MarianTokenizer(withAdded(source), withAdded(target), vocab, sp);
  }

  get vocabSize(): number {
    return this.idToPiece.length;
  }

  idToToken(id: number): string | undefined {
    return this.idToPiece[id];
  }

  encode(
    text: string,
    options: { side?: MarianSide; addSpecialTokens?: boolean } = {},
  ): MarianEncoding {
    const spm = options.side === "target" ? this.target : this.source;
    const ids: number[] = [];
    const tokens: string[] = [];
    const offsets: [number, number][] = [];
    // A leading target-language code (">>fra<<", multilingual models) is one token of its own.
    let rest = text;
    let shift = 0;
    const close = text.startsWith(">>") ? text.indexOf("<<") : -1;
    if (close >= 0) {
      const code = text.slice(0, close + 2);
      const id = this.vocab.get(code) ?? this.unkId;
      ids.push(id);
      tokens.push(this.idToPiece[id]);
      shift = Array.from(code).length;
      offsets.push([0, shift]);
      rest = text.slice(close + 2);
    }
    const e = spm.encode(rest);
    e.tokens.forEach((piece, k) => {
      const id = this.vocab.get(piece) ?? this.unkId;
      ids.push(id);
      tokens.push(this.idToPiece[id]);
      offsets.push([e.offsets[k][0] + shift, e.offsets[k][1] + shift]);
    });
    if (options.addSpecialTokens) {
      ids.push(this.eosId);
      tokens.push(this.specialTokens.eos);
      offsets.push([0, 0]);
    }
    return { ids, tokens, offsets };
  }

  /** As MarianTokenizer.decode; `side` picks the SentencePiece model that joins the pieces
   * (transformers uses the source one unless told otherwise). */
  decode(
    ids: readonly number[],
    options: { skipSpecialTokens?: boolean; side?: MarianSide } = {},
  ): string {
    const spm = options.side === "target" ? this.target : this.source;
    let out = "";
    let run: string[] = [];
    for (const id of ids) {
      const t = this.idToPiece[id];
      if (t === undefined) continue;
      if (this.specials.has(t)) {
        if (options.skipSpecialTokens) continue;
        out += `${spm.decodeTokens(run)}${t} `;
        run = [];
      } else run.push(t);
    }
    out += spm.decodeTokens(run);
    return out.replaceAll("\u2581", " ").trim();
  }
}
