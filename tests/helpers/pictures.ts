// Checks on the pictures maskwise writes, shared by the chart and `maskwise plot` tests: a small
// SVG well-formedness check, the points of a named polyline, and a PNG reader that verifies
// the signature, every chunk's CRC and the IHDR, then inflates the image data with node:zlib.
import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";

/** A little well-formedness check: every tag closes in order, attributes are quoted. */
export function assertWellFormedSvg(svg: string): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  const stack: string[] = [];
  for (const m of svg.matchAll(
    /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<>]*")*)\s*(\/?)>/g,
  )) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else stack.push(name);
  }
  assert.deepEqual(stack, [], "unclosed elements");
  // Nothing that looks like a tag escaped the pattern above (e.g. a bare < in text).
  const stripped = svg.replace(
    /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9:-]*="[^"<>]*")*)\s*(\/?)>/g,
    "",
  );
  assert.ok(!stripped.includes("<") && !stripped.includes(">"), "stray < or > outside tags");
}

/** Points of the polyline of one series, by its data-series attribute. */
export function polylinePoints(svg: string, series: string): number[][][] {
  return [...svg.matchAll(/<polyline data-series="([^"]*)" points="([^"]*)"/g)]
    .filter((m) => m[1] === series)
    .map((m) => m[2].split(" ").map((p) => p.split(",").map(Number)));
}

/** Walks the chunks of a PNG, checking each CRC; returns IHDR's size and the inflated IDAT. */
export function decodePng(png: Uint8Array): { width: number; height: number; raw: Uint8Array } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  let p = 8;
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (p < png.length) {
    const len = view.getUint32(p);
    const type = String.fromCharCode(...png.subarray(p + 4, p + 8));
    types.push(type);
    assert.equal(view.getUint32(p + 8 + len), crc(png.subarray(p + 4, p + 8 + len)), `${type} CRC`);
    if (type === "IHDR") {
      width = view.getUint32(p + 8);
      height = view.getUint32(p + 12);
      assert.deepEqual([...png.subarray(p + 16, p + 21)], [8, 2, 0, 0, 0]); // 8-bit RGB
    }
    if (type === "IDAT") idat.push(png.subarray(p + 8, p + 8 + len));
    p += 12 + len;
  }
  assert.equal(types[0], "IHDR");
  assert.equal(types.at(-1), "IEND");
  return { width, height, raw: new Uint8Array(inflateSync(Buffer.concat(idat))) };
}
