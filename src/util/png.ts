// The PNG writer (RGB, 8 bits per channel) in plain TypeScript, so pictures can be made in a
// browser as well as in Node. Rows go through the deflate of ./deflate.ts, behind filter byte 0
// (none) by default: mask pictures are flat blocks of a few colours, which deflate alone shrinks
// well. With `filters: "adaptive"` each row instead gets the filter (none, Sub or Up) with the
// smallest sum of absolute bytes (libpng's heuristic), which pays on charts with smooth lines.
// Same input, same bytes.
import { zlibCompress } from "./deflate.js";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface PngOptions {
  /** "none" (default): every row unfiltered; "adaptive": none, Sub or Up, row by row. */
  filters?: "none" | "adaptive";
}

/** Encodes `rgb` (width * height * 3 bytes, rows top to bottom) as a compressed PNG file. */
export function encodePng(
  width: number,
  height: number,
  rgb: Uint8Array,
  { filters = "none" }: PngOptions = {},
): Uint8Array {
  if (rgb.length !== width * height * 3) {
    throw new Error(`encodePng: ${rgb.length} bytes for ${width}x${height} RGB`);
  }
  const chunks: [string, Uint8Array][] = [
    ["IHDR", Uint8Array.of(...u32(width), ...u32(height), 8, 2, 0, 0, 0)],
    ["IDAT", zlibCompress(scanlines(width, height, rgb, filters === "adaptive"))],
    ["IEND", new Uint8Array(0)],
  ];
  const out = new Uint8Array(8 + chunks.reduce((s, [, d]) => s + 12 + d.length, 0));
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 0);
  let p = 8;
  for (const [type, data] of chunks) {
    out.set(u32(data.length), p);
    for (let i = 0; i < 4; i++) out[p + 4 + i] = type.charCodeAt(i);
    out.set(data, p + 8);
    out.set(u32(crc32(out.subarray(p + 4, p + 8 + data.length))), p + 8 + data.length);
    p += 12 + data.length;
  }
  return out;
}

/** The rows, each behind its filter-type byte: height * (1 + width * 3) bytes. */
function scanlines(width: number, height: number, rgb: Uint8Array, adaptive: boolean): Uint8Array {
  const stride = width * 3;
  const raw = new Uint8Array(height * (1 + stride));
  const sub = new Uint8Array(stride);
  const up = new Uint8Array(stride);
  // Bytes are scored as signed values, so a difference of -1 (255) counts as small.
  const cost = (b: number) => (b < 128 ? b : 256 - b);
  for (let y = 0; y < height; y++) {
    const row = rgb.subarray(y * stride, (y + 1) * stride);
    const o = y * (1 + stride);
    if (!adaptive) {
      raw.set(row, o + 1); // filter byte 0 (none)
      continue;
    }
    let costNone = 0;
    let costSub = 0;
    let costUp = 0;
    for (let i = 0; i < stride; i++) {
      sub[i] = (row[i] - (i >= 3 ? row[i - 3] : 0)) & 0xff;
      up[i] = (row[i] - (y > 0 ? rgb[(y - 1) * stride + i] : 0)) & 0xff;
      costNone += cost(row[i]);
      costSub += cost(sub[i]);
      costUp += cost(up[i]);
    }
    if (costUp <= costSub && costUp <= costNone) {
      raw[o] = 2;
      raw.set(up, o + 1);
    } else if (costSub <= costNone) {
      raw[o] = 1;
      raw.set(sub, o + 1);
    } else {
      raw[o] = 0;
      raw.set(row, o + 1);
    }
  }
  return raw;
}

function u32(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}
