// bfloat16: the top 16 bits of a float32 (sign, the same 8-bit exponent, 7 bits of mantissa).
// Decoding reads every weight once per generated token, so its speed is the speed at which the
// weights stream from memory; stored as bfloat16 they are half the bytes, with float32's range.
// A value converts back exactly by shifting into the high half of a float32. The decoding
// product (Backend.gemmBf16: src/backend/reference-decode.ts, native/gemm_skinny.cc) rounds its
// float32 input to bfloat16 too, so that each product of two bfloat16 values is exact and a CPU
// with a bfloat16 dot-product instruction (AVX512_BF16) computes the same sums as one without;
// sums stay in float32.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** One float32 to bfloat16 bits, rounded to nearest, ties to even; NaN stays a (quiet) NaN. */
export function bf16Bits(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7fffffff) > 0x7f800000) return (u >>> 16) | 0x40; // NaN: keep it a NaN
  // Adding 0x7fff plus the lowest kept bit rounds half to even; a carry out of the mantissa
  // moves to the next exponent (up to infinity), as rounding should.
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** x rounded to the nearest bfloat16 (ties to even), as a number: the float32 it stands for. */
export function roundBf16(x: number): number {
  u32[0] = bf16Bits(x) << 16;
  return f32[0];
}

/** Float32 values to bfloat16 bits (rounded to nearest, ties to even). */
export function toBf16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = bf16Bits(src[i]);
  return out;
}

/** bfloat16 bits to the float32 values they stand for (exact). */
export function fromBf16(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < src.length; i++) bits[i] = src[i] << 16;
  return out;
}
