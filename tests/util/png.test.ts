import assert from "node:assert/strict";
import { test } from "node:test";
import { inflateSync } from "node:zlib";
import { encodePng } from "../../src/util/png.js";

test("encodePng writes a PNG that zlib decodes back to the pixels", () => {
  const w = 300;
  const h = 250; // > 65535 raw bytes: several stored blocks
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7) & 0xff;
  const png = encodePng(w, h, rgb);
  const view = new DataView(png.buffer, png.byteOffset);
  assert.equal(view.getUint32(16), w);
  assert.equal(view.getUint32(20), h);
  // Find IDAT and inflate it.
  let p = 8;
  let idat: Uint8Array | null = null;
  while (p < png.length) {
    const len = view.getUint32(p);
    const type = String.fromCharCode(...png.subarray(p + 4, p + 8));
    if (type === "IDAT") idat = png.subarray(p + 8, p + 8 + len);
    p += 12 + len;
  }
  assert.ok(idat);
  const raw = inflateSync(idat);
  assert.equal(raw.length, h * (1 + w * 3));
  for (let y = 0; y < h; y++) {
    assert.equal(raw[y * (1 + w * 3)], 0);
    assert.deepEqual(
      raw.subarray(y * (1 + w * 3) + 1, (y + 1) * (1 + w * 3)),
      Buffer.from(rgb.subarray(y * w * 3, (y + 1) * w * 3)),
    );
  }
});
