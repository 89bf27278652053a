// In-register transpose of a 16 x 16 block of 32-bit lanes, shared by the packing routines of
// the float32 and the bfloat16 GEMM (which transposes pairs of bfloat16 as 32-bit lanes).
#pragma once

#include "simd.h"

namespace mw {

// In-register transpose of 16 rows of 16 floats (unpack pairs, then pairs of pairs, then
// 128-bit lanes twice).
MW_TARGET("avx512f") inline void transpose16(__m512 r[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int g = 0; g < 4; g++) {
    const int b = 4 * g;
    const __m512d t0 = _mm512_castps_pd(t[b]), t1 = _mm512_castps_pd(t[b + 1]);
    const __m512d t2 = _mm512_castps_pd(t[b + 2]), t3 = _mm512_castps_pd(t[b + 3]);
    r[b] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
    r[b + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
    r[b + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
    r[b + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
  }
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) {
    const int b = 8 * h;
#pragma GCC unroll 4
    for (int j = 0; j < 4; j++) {
      t[b + j] = _mm512_shuffle_f32x4(r[b + j], r[b + 4 + j], 0x88);
      t[b + 4 + j] = _mm512_shuffle_f32x4(r[b + j], r[b + 4 + j], 0xdd);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < 8; j++) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
    r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xdd);
  }
}

}  // namespace mw
