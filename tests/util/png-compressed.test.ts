// Mask pictures are compressed PNGs that node:zlib decodes back to the pixels, and much smaller
// than their raw rows; the adaptive filters (charts) decode back to the same pixels too.
import assert from "node:assert/strict";
import { test } from "node:test";
import { causal } from "../../src/attention/masks.js";
import { renderPng } from "../../src/attention/render.js";
import { encodePng } from "../../src/util/png.js";
import { encodePngDeflated } from "../../src/util/png-deflated.js";
import { decodePng } from "../helpers/pictures.js";

/** Undoes PNG filters none (0), Sub (1) and Up (2) on 3-byte pixels. */
function unfilter(raw: Uint8Array, width: number, height: number): Uint8Array {
  const stride = width * 3;
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    assert.ok(f <= 2, `row ${y}: filter ${f}`);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const left = f === 1 && i >= 3 ? out[y * stride + i - 3] : 0;
      const above = f === 2 && y > 0 ? out[(y - 1) * stride + i] : 0;
      out[y * stride + i] = (x + left + above) & 0xff;
    }
  }
  return out;
}

test("a mask PNG is deflated: node:zlib reads it, and it is far smaller than its rows", () => {
  const Tq = 24;
  const Tk = 24;
  const png = renderPng({ mask: causal(), B: 2, Tq, Tk });
  const { width, height, raw } = decodePng(png);
  assert.equal(raw.length, height * (1 + width * 3));
  for (let y = 0; y < height; y++) assert.equal(raw[y * (1 + width * 3)], 0);
  assert.ok(png.length * 10 < raw.length, `${png.length} bytes for ${raw.length} raw`);
});

test("none and adaptive filters both decode to the pixels", () => {
  const w = 97;
  const h = 41;
  const rgb = new Uint8Array(w * h * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (((i % 211) * 13) ^ (i >> 7)) & 0xff;
  for (const png of [encodePng(w, h, rgb), encodePngDeflated(w, h, rgb)]) {
    const { width, height, raw } = decodePng(png);
    assert.deepEqual([width, height], [w, h]);
    assert.deepEqual(unfilter(raw, w, h), rgb);
  }
});
