// SentencePiece details the reference models do not exercise, on a model written here byte by
// byte in the protobuf wire format: user-defined symbols stay whole, control symbols in the
// text are not pieces, unknown characters fuse into one piece, extra whitespace is removed, and
// decoding drops control pieces and writes the unknown surface.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseSentencePieceModel, sentencePieceFromBytes } from "../../src/tokenizer/index.js";

const varint = (n: number): number[] => {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
};
const field = (num: number, wire: number) => varint(num * 8 + wire);
const bytesField = (num: number, b: number[]) => [...field(num, 2), ...varint(b.length), ...b];
const utf8 = (s: string) => [...new TextEncoder().encode(s)];
const float = (x: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...b];
};

/** ModelProto with the given pieces ([piece, score, type]), unigram, no charsmap. */
function model(pieces: [string, number, number][]): Uint8Array {
  const out: number[] = [];
  for (const [p, score, type] of pieces) {
    const body = [
      ...bytesField(1, utf8(p)),
      ...field(2, 5),
      ...float(score),
      ...field(3, 0),
      ...varint(type),
    ];
    out.push(...bytesField(1, body));
  }
  // trainer_spec: model_type unigram, unk_id 0, bos_id 1, eos_id 2.
  out.push(
    ...bytesField(2, [
      ...field(3, 0),
      1,
      ...field(40, 0),
      0,
      ...field(41, 0),
      1,
      ...field(42, 0),
      2,
    ]),
  );
  // normalizer_spec: name "identity", add_dummy_prefix and remove_extra_whitespaces on.
  out.push(
    ...bytesField(3, [...bytesField(1, utf8("identity")), ...field(3, 0), 1, ...field(4, 0), 1]),
  );
  return new Uint8Array(out);
}

const NORMAL = 1;
const PIECES: [string, number, number][] = [
  ["<unk>", 0, 2],
  ["<s>", 0, 3],
  ["</s>", 0, 3],
  ["\u2581", -1, NORMAL],
  ["a", -2, NORMAL],
  ["b", -2, NORMAL],
  ["ab", -1.5, NORMAL],
  ["\u2581ab", -1, NORMAL],
  ["[MASK]", 0, 4],
];

test("the protobuf reader: pieces, scores, types, trainer and normalizer specs", () => {
  const m = parseSentencePieceModel(model(PIECES));
  assert.deepEqual(
    m.pieces.map((p) => [p.piece, p.score, p.type]),
    PIECES,
  );
  assert.equal(m.modelType, 1);
  assert.deepEqual([m.unkId, m.bosId, m.eosId], [0, 1, 2]);
  assert.equal(m.normalizer.name, "identity");
  assert.equal(m.normalizer.charsmap, null);
});

test("user-defined symbols stay whole, control symbols and unknown characters do not match", () => {
  const tok = sentencePieceFromBytes(model(PIECES));
  // "[MASK]" would be unknown characters without its user-defined type.
  assert.deepEqual(tok.encode("ab[MASK]b").tokens, ["\u2581ab", "[MASK]", "b"]);
  // "</s>" in the text is not the control piece: its characters are unknown, fused into one.
  const e = tok.encode("ab </s>");
  assert.deepEqual(e.tokens, ["\u2581ab", "\u2581", "</s>"]);
  assert.deepEqual(e.ids, [7, 3, 0]);
  // Leading, trailing and repeated spaces are removed before the dummy prefix is added.
  assert.deepEqual(tok.encode("   ab    b  ").tokens, ["\u2581ab", "\u2581", "b"]);
  assert.deepEqual(tok.encode("   ").ids, []);
  // Decoding: control pieces vanish, the unknown piece reads " ⁇ ", the first ▁ is the prefix.
  assert.equal(tok.decode([1, 7, 3, 0, 5, 2]), "ab  \u2047 b");
});
