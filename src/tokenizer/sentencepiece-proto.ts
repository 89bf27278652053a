// A SentencePiece `.model` file is a serialized ModelProto (sentencepiece_model.proto). This reads
// the fields encoding needs with a small protobuf wire-format decoder, so no protobuf library is
// required: the pieces (string, score, type), the trainer spec (model type, byte fallback,
// special ids, unknown surface) and the normalizer spec (precompiled charsmap, dummy prefix,
// whitespace rules).
import { MaskwiseError } from "../util/errors.js";

/** ModelProto.SentencePiece.Type. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;

export interface SpmPiece {
  piece: string;
  score: number;
  type: number;
}

export interface SpmModel {
  pieces: SpmPiece[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkSurface: string;
  normalizer: SpmNormalizerSpec;
}

export interface SpmNormalizerSpec {
  name: string;
  charsmap: Uint8Array | null;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

const utf8 = new TextDecoder("utf-8");

/** Wire-format reader over one message's bytes. */
class Reader {
  pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly source: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  bad(what: string): never {
    throw new MaskwiseError(`not a SentencePiece model: ${what} at byte ${this.pos}`, {
      code: "E_TOKENIZER",
      where: this.source,
      hint: "give a .model file written by spm_train",
    });
  }

  /** A varint as a JavaScript number; negative int32 values (10-byte varints) come back negative. */
  varint(): number {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) this.bad("truncated varint");
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7n;
      if (shift > 70n) this.bad("varint too long");
    }
    return Number(BigInt.asIntN(64, result));
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (n < 0 || this.pos + n > this.buf.length) this.bad("length past the end");
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  float(): number {
    if (this.pos + 4 > this.buf.length) this.bad("truncated float");
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else this.bad(`wire type ${wire}`);
  }

  /** Calls `f(field, wire)` for each field; `f` reads the value or returns false to skip it. */
  fields(f: (field: number, wire: number) => boolean): void {
    while (!this.done) {
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      if (!f(field, wire)) this.skip(wire);
    }
  }
}

function readPiece(r: Reader): SpmPiece {
  const p: SpmPiece = { piece: "", score: 0, type: PieceType.NORMAL };
  r.fields((field, wire) => {
    if (field === 1 && wire === 2) p.piece = utf8.decode(r.bytes());
    else if (field === 2 && wire === 5) p.score = r.float();
    else if (field === 3 && wire === 0) p.type = r.varint();
    else return false;
    return true;
  });
  return p;
}

export function parseSentencePieceModel(bytes: Uint8Array, source = "tokenizer.model"): SpmModel {
  const m: SpmModel = {
    pieces: [],
    modelType: 1,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkSurface: " \u2047 ",
    normalizer: {
      name: "",
      charsmap: null,
      addDummyPrefix: true,
      removeExtraWhitespaces: true,
      escapeWhitespaces: true,
    },
  };
  const top = new Reader(bytes, source);
  top.fields((field, wire) => {
    if (wire !== 2) return false;
    if (field === 1) {
      m.pieces.push(readPiece(new Reader(top.bytes(), source)));
    } else if (field === 2) {
      const r = new Reader(top.bytes(), source);
      r.fields((f, w) => {
        if (w === 0) {
          const v = r.varint();
          if (f === 3) m.modelType = v;
          else if (f === 35) m.byteFallback = v !== 0;
          else if (f === 24) m.treatWhitespaceAsSuffix = v !== 0;
          else if (f === 40) m.unkId = v;
          else if (f === 41) m.bosId = v;
          else if (f === 42) m.eosId = v;
          else if (f === 43) m.padId = v;
          return true;
        }
        if (f === 44 && w === 2) {
          m.unkSurface = utf8.decode(r.bytes());
          return true;
        }
        return false;
      });
    } else if (field === 3) {
      const r = new Reader(top.bytes(), source);
      const n = m.normalizer;
      r.fields((f, w) => {
        if (f === 1 && w === 2) n.name = utf8.decode(r.bytes());
        else if (f === 2 && w === 2) n.charsmap = r.bytes();
        else if (f === 3 && w === 0) n.addDummyPrefix = r.varint() !== 0;
        else if (f === 4 && w === 0) n.removeExtraWhitespaces = r.varint() !== 0;
        else if (f === 5 && w === 0) n.escapeWhitespaces = r.varint() !== 0;
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  if (m.pieces.length === 0) top.bad("no pieces");
  return m;
}
