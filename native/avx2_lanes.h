// Two 8-lane pieces every AVX2 kernel without AVX-512's masks needs: the lane mask of a partial
// vector (for VMASKMOVPS loads and stores) and the 8 horizontal sums of 8 vectors as one vector
// (the AVX2 counterpart of reduce16.h). Shared by gemm_kernels_avx2.cc, gemm_skinny_avx2.cc and
// decode_avx2.cc.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace mw {

// Lanes [0, n) of 8 set (n clamped to [0, 8]).
__attribute__((target("avx2"))) inline __m256i lanes_below(int64_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const int c = static_cast<int>(n < 0 ? 0 : n > 8 ? 8 : n);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), idx);
}

// Lane t = the sum of the 8 lanes of v[t]: three rounds of horizontal adds, then the halves.
__attribute__((target("avx2"))) inline __m256 reduce8(const __m256* v) {
  // hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7]
  const __m256 s01 = _mm256_hadd_ps(v[0], v[1]);
  const __m256 s23 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 s45 = _mm256_hadd_ps(v[4], v[5]);
  const __m256 s67 = _mm256_hadd_ps(v[6], v[7]);
  // [sum of lanes 0-3 of v0..v3 | sum of lanes 4-7 of v0..v3], and the same for v4..v7
  const __m256 s0123 = _mm256_hadd_ps(s01, s23);
  const __m256 s4567 = _mm256_hadd_ps(s45, s67);
  return _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20),
                       _mm256_permute2f128_ps(s0123, s4567, 0x31));
}

}  // namespace mw
