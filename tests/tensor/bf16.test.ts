// bfloat16 conversion: round to nearest with ties to even, carries into the exponent, infinities,
// NaN kept a NaN, and an exact way back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bf16Bits, fromBf16, toBf16 } from "../../src/tensor/bf16.js";

const bitsOf = (x: number) => new Uint32Array(Float32Array.of(x).buffer)[0];
const fromBits = (u: number) => new Float32Array(Uint32Array.of(u).buffer)[0];

test("values that are already bfloat16 convert exactly, both ways", () => {
  for (const x of [0, -0, 1, -2.5, 0.15625, 65536, 2 ** -126, 2 ** -133, 3.3895313892515355e38]) {
    const b = bf16Bits(x);
    assert.equal(b, bitsOf(x) >>> 16, `${x}`);
    assert.ok(Object.is(fromBf16(Uint16Array.of(b))[0], Math.fround(x)), `${x}`);
  }
  assert.equal(bf16Bits(Number.POSITIVE_INFINITY), 0x7f80);
  assert.equal(bf16Bits(Number.NEGATIVE_INFINITY), 0xff80);
});

test("rounds to nearest, ties to even, carrying into the exponent", () => {
  // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
  assert.equal(bf16Bits(1 + 2 ** -8), 0x3f80);
  // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): up.
  assert.equal(bf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  // Just above or below a half rounds to the nearer one.
  assert.equal(bf16Bits(fromBits(0x3f808001)), 0x3f81);
  assert.equal(bf16Bits(fromBits(0x3f807fff)), 0x3f80);
  // Negative values round by magnitude.
  assert.equal(bf16Bits(fromBits(0xbf808001)), 0xbf81);
  // The largest mantissa rounds up into the next power of two, and past the largest finite
  // bfloat16 into infinity.
  assert.equal(bf16Bits(fromBits(0x3fffffff)), 0x4000);
  assert.equal(bf16Bits(fromBits(0x7f7fffff)), 0x7f80);
  assert.equal(bf16Bits(fromBits(0xff7fffff)), 0xff80);
});

test("NaN stays NaN, even one whose payload lies only in the low bits", () => {
  for (const u of [0x7fc00000, 0x7f800001, 0xff800001, 0x7fffffff]) {
    const back = fromBf16(Uint16Array.of(bf16Bits(fromBits(u))))[0];
    assert.ok(Number.isNaN(back), `0x${u.toString(16)}`);
  }
});

test("arrays: a round trip is off by at most half a unit in the last place (2^-8 relative)", () => {
  const src = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** (i % 7));
  const back = fromBf16(toBf16(src));
  for (let i = 0; i < src.length; i++) {
    assert.ok(Math.abs(back[i] - src[i]) <= 2 ** -8 * Math.abs(src[i]), `${src[i]} -> ${back[i]}`);
  }
});
