import assert from "node:assert/strict";
import { test } from "node:test";
import { inflateSync } from "node:zlib";
import { adler32, zlibCompress } from "../../src/util/deflate.js";
import { Rng } from "../../src/util/rng.js";

const roundTrip = (data: Uint8Array) => {
  const z = zlibCompress(data);
  assert.deepEqual(new Uint8Array(inflateSync(z)), data);
  return z;
};

test("zlibCompress: node:zlib inflates it back, for empty, tiny, random and repetitive input", () => {
  roundTrip(new Uint8Array(0));
  roundTrip(Uint8Array.of(7));
  roundTrip(Uint8Array.of(1, 2));
  const rng = new Rng(3);
  const random = new Uint8Array(100_000);
  for (let i = 0; i < random.length; i++) random[i] = rng.int(256);
  roundTrip(random);
  // Runs longer than one match (258), matches at every distance class up to the 32 KiB window,
  // and literals of both fixed-code lengths (< 144 and >= 144).
  const mixed = new Uint8Array(300_000);
  for (let i = 0; i < mixed.length; i++) {
    const block = Math.floor(i / 5000);
    mixed[i] =
      block % 3 === 0
        ? 255
        : block % 3 === 1
          ? (i * 31) % 251
          : (mixed[i - 1 - ((block * 977) % 30000)] ?? 0);
  }
  roundTrip(mixed);
});

test("zlibCompress: a white picture shrinks by orders of magnitude; output is deterministic", () => {
  const white = new Uint8Array(960 * 700 * 3).fill(255);
  const z = roundTrip(white);
  assert.ok(z.length < white.length / 100, `${z.length} bytes`);
  assert.deepEqual(zlibCompress(white), z);
});

test("adler32 matches the definition on a long input (the NMAX folding)", () => {
  const data = new Uint8Array(20_000).map((_, i) => (i * 13) & 0xff);
  let a = 1;
  let b = 0;
  for (const x of data) {
    a = (a + x) % 65521;
    b = (b + a) % 65521;
  }
  assert.equal(adler32(data), ((b << 16) | a) >>> 0);
});
