// A minimal PNG writer (RGB, 8 bits per channel) in plain TypeScript, so pictures can be made in
// a browser as well as in Node. The image data is stored uncompressed inside zlib's "stored"
// deflate blocks: mask pictures are small, and this keeps the encoder a few dozen lines.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Encodes `rgb` (width * height * 3 bytes, rows top to bottom) as a PNG file. */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  if (rgb.length !== width * height * 3) {
    throw new Error(`encodePng: ${rgb.length} bytes for ${width}x${height} RGB`);
  }
  // Raw scanlines, each behind filter byte 0 (none).
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1);
  }
  // zlib stream of stored blocks (at most 65535 bytes each).
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const z = new Uint8Array(2 + raw.length + blocks * 5 + 4);
  z[0] = 0x78;
  z[1] = 0x01;
  let o = 2;
  for (let k = 0; k < blocks; k++) {
    const start = k * 65535;
    const len = Math.min(65535, raw.length - start);
    z[o++] = k === blocks - 1 ? 1 : 0;
    z[o++] = len & 0xff;
    z[o++] = len >>> 8;
    z[o++] = ~len & 0xff;
    z[o++] = (~len >>> 8) & 0xff;
    z.set(raw.subarray(start, start + len), o);
    o += len;
  }
  const ad = adler32(raw);
  z[o++] = ad >>> 24;
  z[o++] = (ad >>> 16) & 0xff;
  z[o++] = (ad >>> 8) & 0xff;
  z[o++] = ad & 0xff;

  const chunks: [string, Uint8Array][] = [
    ["IHDR", Uint8Array.of(...u32(width), ...u32(height), 8, 2, 0, 0, 0)],
    ["IDAT", z.subarray(0, o)],
    ["IEND", new Uint8Array(0)],
  ];
  const total = 8 + chunks.reduce((s, [, d]) => s + 12 + d.length, 0);
  const out = new Uint8Array(total);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  let p = 8;
  for (const [type, data] of chunks) {
    out.set(u32(data.length), p);
    for (let i = 0; i < 4; i++) out[p + 4 + i] = type.charCodeAt(i);
    out.set(data, p + 8);
    out.set(u32(crc32(out, p + 4, p + 8 + data.length)), p + 8 + data.length);
    p += 12 + data.length;
  }
  return out;
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}
