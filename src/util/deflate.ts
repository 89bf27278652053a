// A small zlib compressor (RFC 1950 around RFC 1951 deflate) in plain TypeScript, so pictures can
// be compressed in a browser as well as in Node. It finds repeats with LZ77 over hash chains and
// writes them with deflate's fixed Huffman code in one block: no dynamic code tables, which costs a
// little ratio on text but little on pictures, whose runs (white background, repeated rows) are
// what compression is needed for. The output depends only on the input bytes.

const WINDOW = 32768;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
/** How many earlier positions of the same 3-byte hash are tried (speed against ratio). */
const MAX_CHAIN = 48;
const HASH_BITS = 15;

const LEN_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258,
];
const LEN_EXTRA = [
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];

/** Length 3..258 -> index into LEN_BASE. */
const LEN_INDEX = (() => {
  const t = new Uint8Array(MAX_MATCH + 1);
  for (let i = 0; i < LEN_BASE.length; i++) {
    const end = i + 1 < LEN_BASE.length ? LEN_BASE[i + 1] : MAX_MATCH + 1;
    for (let l = LEN_BASE[i]; l < end; l++) t[l] = i;
  }
  t[MAX_MATCH] = LEN_BASE.length - 1;
  return t;
})();

function distIndex(d: number): number {
  let i = DIST_BASE.length - 1;
  while (DIST_BASE[i] > d) i--;
  return i;
}

function reverseBits(v: number, n: number): number {
  let r = 0;
  for (let i = 0; i < n; i++) r = (r << 1) | ((v >>> i) & 1);
  return r;
}

// The fixed literal/length code (RFC 1951 3.2.6), bit-reversed because deflate sends Huffman codes
// most significant bit first into a stream that is otherwise filled from the low bit up.
const LIT_CODE = new Uint16Array(288);
const LIT_BITS = new Uint8Array(288);
for (let s = 0; s < 288; s++) {
  const [code, bits] =
    s < 144
      ? [0x30 + s, 8]
      : s < 256
        ? [0x190 + s - 144, 9]
        : s < 280
          ? [s - 256, 7]
          : [0xc0 + s - 280, 8];
  LIT_CODE[s] = reverseBits(code, bits);
  LIT_BITS[s] = bits;
}

class BitWriter {
  private buf: Uint8Array;
  private len = 0;
  private acc = 0;
  private n = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(Math.max(64, capacity));
  }
  bits(value: number, count: number): void {
    this.acc |= value << this.n;
    this.n += count;
    while (this.n >= 8) {
      this.byte(this.acc & 0xff);
      this.acc >>>= 8;
      this.n -= 8;
    }
  }
  byte(b: number): void {
    if (this.len === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.len++] = b;
  }
  flush(): void {
    if (this.n > 0) this.byte(this.acc & 0xff);
    this.acc = 0;
    this.n = 0;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 bytes is the most that can be summed before b may pass 2^32 (zlib's NMAX).
  for (let i = 0; i < bytes.length; ) {
    const end = Math.min(bytes.length, i + 5552);
    for (; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Compresses `data` into a zlib stream that any inflater (node:zlib, browsers) reads. */
export function zlibCompress(data: Uint8Array): Uint8Array {
  const w = new BitWriter((data.length >>> 3) + 64);
  w.byte(0x78); // deflate, 32 KiB window
  w.byte(0x9c); // default level; (0x78 * 256 + 0x9c) % 31 === 0
  w.bits(1, 1); // BFINAL: this is the only block
  w.bits(1, 2); // BTYPE 01: fixed Huffman codes
  const head = new Int32Array(1 << HASH_BITS).fill(-1);
  const prev = new Int32Array(WINDOW);
  const hashAt = (p: number) =>
    (((data[p] << 10) ^ (data[p + 1] << 5) ^ data[p + 2]) * 0x9e37) & ((1 << HASH_BITS) - 1);
  const insert = (p: number) => {
    if (p + MIN_MATCH > data.length) return;
    const h = hashAt(p);
    prev[p & (WINDOW - 1)] = head[h];
    head[h] = p;
  };
  let p = 0;
  while (p < data.length) {
    let bestLen = 0;
    let bestDist = 0;
    if (p + MIN_MATCH <= data.length) {
      const limit = Math.min(MAX_MATCH, data.length - p);
      let cand = head[hashAt(p)];
      for (let chain = 0; chain < MAX_CHAIN && cand >= 0 && p - cand <= WINDOW; chain++) {
        if (data[cand + bestLen] === data[p + bestLen]) {
          let l = 0;
          while (l < limit && data[cand + l] === data[p + l]) l++;
          if (l > bestLen) {
            bestLen = l;
            bestDist = p - cand;
            if (l === limit) break;
          }
        }
        const next = prev[cand & (WINDOW - 1)];
        if (next >= cand) break; // the slot was reused by a newer position
        cand = next;
      }
    }
    if (bestLen >= MIN_MATCH) {
      const li = LEN_INDEX[bestLen];
      w.bits(LIT_CODE[257 + li], LIT_BITS[257 + li]);
      if (LEN_EXTRA[li]) w.bits(bestLen - LEN_BASE[li], LEN_EXTRA[li]);
      const di = distIndex(bestDist);
      w.bits(reverseBits(di, 5), 5);
      if (DIST_EXTRA[di]) w.bits(bestDist - DIST_BASE[di], DIST_EXTRA[di]);
      for (let k = 0; k < bestLen; k++) insert(p + k);
      p += bestLen;
    } else {
      w.bits(LIT_CODE[data[p]], LIT_BITS[data[p]]);
      insert(p);
      p++;
    }
  }
  w.bits(LIT_CODE[256], LIT_BITS[256]); // end of block
  w.flush();
  const ad = adler32(data);
  w.byte(ad >>> 24);
  w.byte((ad >>> 16) & 0xff);
  w.byte((ad >>> 8) & 0xff);
  w.byte(ad & 0xff);
  return w.result();
}
