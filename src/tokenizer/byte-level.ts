// GPT-2's byte-level pre-tokenization (Radford et al. 2019), as Hugging Face's `ByteLevel`
// pre-tokenizer and decoder write it. Text is split with GPT-2's regular expression, then every
// UTF-8 byte is written as one printable character (bytes_to_unicode), so 256 base symbols cover
// any input and no token is ever unknown.

/** GPT-2's split: contractions, letters, digits, other symbols, each with one optional leading
 * space; whitespace runs keep their last space for the next word. `\p{White_Space}` stands in for
 * the Rust regex's Unicode `\s` (JavaScript's `\s` differs on U+0085 and U+FEFF). */
export const GPT2_SPLIT =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;

/** bytes_to_unicode: printable bytes stand for themselves, the rest move to U+0100 onwards. */
function byteTable(): string[] {
  const table: string[] = new Array(256);
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  }
  return table;
}

export const BYTE_TO_CHAR: readonly string[] = byteTable();
const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]));
const utf8 = new TextEncoder();
/** Lossy like Rust's String::from_utf8_lossy, and keeping a leading U+FEFF as text. */
const utf8Lossy = new TextDecoder("utf-8", { ignoreBOM: true });

/** The 256 base symbols, in byte order. */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_CHAR];
}

/** GPT-2's pieces of `text`, before they are written as byte characters. */
export function gpt2Pieces(text: string): string[] {
  const pieces: string[] = [];
  for (const m of text.matchAll(GPT2_SPLIT)) pieces.push(m[0]);
  return pieces;
}

/** Writes a piece's UTF-8 bytes as byte characters. */
export function toByteChars(piece: string): string {
  let w = "";
  // ASCII needs no encoder call; this path is most of the text in practice.
  let ascii = true;
  for (let i = 0; i < piece.length; i++) {
    if (piece.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    for (let i = 0; i < piece.length; i++) w += BYTE_TO_CHAR[piece.charCodeAt(i)];
  } else {
    for (const b of utf8.encode(piece)) w += BYTE_TO_CHAR[b];
  }
  return w;
}

/** Splits text into GPT-2 words and writes each as byte characters. */
export function byteLevelSplit(text: string): string[] {
  return gpt2Pieces(text).map(toByteChars);
}

/** Maps byte characters back to bytes and decodes UTF-8. A token with any character outside the
 * table (an added token such as a language tag) contributes its own UTF-8 bytes instead, and
 * invalid UTF-8 becomes U+FFFD, as the Rust decoder does. */
export function byteLevelDecode(tokens: readonly string[]): string {
  const bytes: number[] = [];
  for (const t of tokens) {
    const start = bytes.length;
    let mapped = true;
    for (const ch of t) {
      const b = CHAR_TO_BYTE.get(ch);
      if (b === undefined) {
        mapped = false;
        break;
      }
      bytes.push(b);
    }
    if (!mapped) {
      bytes.length = start;
      for (const x of utf8.encode(t)) bytes.push(x);
    }
  }
  return utf8Lossy.decode(new Uint8Array(bytes));
}

export const byteLevelJson = {
  type: "ByteLevel",
  add_prefix_space: false,
  trim_offsets: true,
  use_regex: true,
} as const;
