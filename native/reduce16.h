// The 16 horizontal sums of 16 vectors as one vector (lane r = the sum of v[r]'s lanes): a
// transpose-and-add tree of 15 adds and 30 shuffles, instead of 16 separate reductions of about
// 8 instructions each. Shared by the skinny products (gemm_skinny.cc) and decode attention's
// scores (decode.cc).
#pragma once

#include "simd.h"

namespace mw {

MW_TARGET("avx512f") inline __m512 reduce16(const __m512* v) {
  __m512 s[8], u[4];
  // Per 128-bit lane of a = v[2k], b = v[2k+1]: [a0+a2, b0+b2, a1+a3, b1+b3].
  for (int k = 0; k < 8; k++)
    s[k] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]),
                         _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]));
  // Per 128-bit lane: the lane's sums of v[4m], v[4m+1], v[4m+2], v[4m+3].
  for (int m = 0; m < 4; m++)
    u[m] = _mm512_add_ps(_mm512_shuffle_ps(s[2 * m], s[2 * m + 1], 0x44),
                         _mm512_shuffle_ps(s[2 * m], s[2 * m + 1], 0xEE));
  // Across the four 128-bit lanes: lane m of the result holds u[m]'s total.
  const __m512 w01 = _mm512_add_ps(_mm512_shuffle_f32x4(u[0], u[1], 0x88),
                                   _mm512_shuffle_f32x4(u[0], u[1], 0xDD));
  const __m512 w23 = _mm512_add_ps(_mm512_shuffle_f32x4(u[2], u[3], 0x88),
                                   _mm512_shuffle_f32x4(u[2], u[3], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(w01, w23, 0x88), _mm512_shuffle_f32x4(w01, w23, 0xDD));
}

}  // namespace mw
