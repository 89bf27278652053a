// The int8 product (native/gemm_int8.cc) on AVX2 without VNNI. AVX2 has no instruction that
// multiplies unsigned by signed bytes into exact int32 sums (VPMADDUBSW saturates its int16
// pair sums: 2 x 255 x 127 > 32767), so bytes are widened to int16 and VPMADDWD adds pairs of
// products into int32 lanes, exactly (at most 2 x 255 x 127).
//  - columns_pairs_avx2: weights packed in VPMADDWD's pair layout (packInt8Pairs), two int16 of
//    a row of A broadcast as one int32, a tile of 4 rows x 16 columns in 8 int32 accumulators
//    over all of k, no horizontal sums; any number of rows;
//  - columns_avx2: one dot product per element, for weights not packed (k odd).
#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "avx2_lanes.h"
#include "gemm_int8.h"

#define MW_AVX2 __attribute__((target("avx2")))

namespace mw {

namespace {

// sum_p a[p] w[p], a unsigned: a pair of products (at most 2 * 255 * 127) fits VPMADDWD's int32.
MW_AVX2 int32_t dot_avx2(int64_t k, const uint8_t* a, const int8_t* w) {
  __m256i acc = _mm256_setzero_si256();
  int64_t p = 0;
  for (; p + 16 <= k; p += 16) {
    const __m256i av = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + p)));
    const __m256i wv = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w + p)));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(av, wv));
  }
  int32_t lanes[8];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes), acc);
  int32_t s = 0;
  for (int l = 0; l < 8; l++) s += lanes[l];
  for (; p < k; p++) s += int32_t{a[p]} * int32_t{w[p]};
  return s;
}

// rescale_store on 8 lanes of row c (columns j.., `lanes` of them) holding y: the same float32
// operations, lane for lane.
MW_AVX2 inline void store8(const Int8Args& g, float* c, int64_t j, int lanes, __m256 y) {
  const __m256i in = lanes_below(lanes);
  const bool whole = lanes == 8;
  const __m256 before = !g.accumulate ? _mm256_setzero_ps()
                        : whole       ? _mm256_loadu_ps(c)
                                      : _mm256_maskload_ps(c, in);
  __m256 v = _mm256_add_ps(before, y);
  if (g.bias != nullptr)
    v = _mm256_add_ps(v, whole ? _mm256_loadu_ps(g.bias + j) : _mm256_maskload_ps(g.bias + j, in));
  // v > 0 is false for NaN: those lanes become 0.
  if (g.relu) v = _mm256_and_ps(v, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ));
  if (whole)
    _mm256_storeu_ps(c, v);
  else
    _mm256_maskstore_ps(c, in, v);
}

// Rows [i0, i0 + MR) against columns [8 block, 8 (block + NV)) of the pair layout: acc[r][v]
// lane t sums a[i0 + r, p] w[8 (block + v) + t, p] over all p, two k per VPMADDWD.
template <int MR, int NV>
MW_AVX2 void tile_pairs(const Int8Args& g, const int16_t* pw, const int16_t* a16, int64_t i0,
                        int64_t block) {
  const int64_t groups = g.k / 2;
  __m256i acc[MR][NV];
#pragma GCC unroll 4
  for (int r = 0; r < MR; r++)
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++) acc[r][v] = _mm256_setzero_si256();
  const int16_t* w = pw + block * groups * 16;
  const int16_t* a = a16 + i0 * g.k;
  for (int64_t q = 0; q < groups; q++) {
    __m256i wv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; v++)
      wv[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + (v * groups + q) * 16));
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
      int32_t two;
      std::memcpy(&two, a + r * g.k + 2 * q, 4);
      const __m256i av = _mm256_set1_epi32(two);
#pragma GCC unroll 2
      for (int v = 0; v < NV; v++)
        acc[r][v] = _mm256_add_epi32(acc[r][v], _mm256_madd_epi16(av, wv[v]));
    }
  }
  // The rescale of rescale_store, lane for lane: (dot - z sum_w) -> float, times sa * sw, added.
#pragma GCC unroll 2
  for (int v = 0; v < NV; v++) {
    const int64_t j = (block + v) * 8;
    const int lanes = static_cast<int>(g.n - j < 8 ? g.n - j : 8);
    const __m256i in = lanes_below(lanes);
    const __m256i sums = _mm256_maskload_epi32(g.sums + j, in);
    const __m256 sw = _mm256_maskload_ps(g.sw + j, in);
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
      const __m256 scale = _mm256_mul_ps(_mm256_set1_ps(g.sa[i0 + r]), sw);
      const __m256i zs = _mm256_mullo_epi32(sums, _mm256_set1_epi32(g.za[i0 + r]));
      const __m256 y = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(acc[r][v], zs)), scale);
      store8(g, g.c + (i0 + r) * g.n + j, j, lanes, y);
    }
  }
}

// Rows of a pair tile: 4 x 2 accumulators, 2 weight vectors, a broadcast and the products in
// the 16 ymm registers. (6 x 2, as the float32 kernel, leaves no room for the products that
// VPMADDWD writes before they are added: GCC keeps half the sums on the stack, 30% slower.)
constexpr int kPairMr = 4;

template <int MR>
void tile_pairs_rows(const Int8Args& g, const int16_t* pw, const int16_t* a16, int64_t i0,
                     int64_t block, int rows, int nv) {
  if constexpr (MR > 1) {
    if (rows < MR) return tile_pairs_rows<MR - 1>(g, pw, a16, i0, block, rows, nv);
  }
  if (nv == 2)
    tile_pairs<MR, 2>(g, pw, a16, i0, block);
  else
    tile_pairs<MR, 1>(g, pw, a16, i0, block);
}

}  // namespace

MW_AVX2 void quantize_rows_avx2(const float* A, int64_t m, int64_t k, uint8_t* qa, float* sa,
                                int32_t* za) {
  const __m256 big = _mm256_set1_ps(FLT_MAX);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256i lo8 = _mm256_setzero_si256(), hi8 = _mm256_set1_epi32(255);
  for (int64_t i = 0; i < m; i++) {
    const float* a = A + i * k;
    uint8_t* q = qa + i * k;
    // Lanes start at 0, so the range holds 0; the tail is read one value at a time.
    __m256 vmin = _mm256_setzero_ps(), vmax = _mm256_setzero_ps();
    __m256 bad = _mm256_setzero_ps();  // lanes that saw a NaN or an infinity
    int64_t p = 0;
    for (; p + 8 <= k; p += 8) {
      const __m256 x = _mm256_loadu_ps(a + p);
      bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_andnot_ps(sign, x), big, _CMP_NLE_UQ));
      vmin = _mm256_min_ps(vmin, x);
      vmax = _mm256_max_ps(vmax, x);
    }
    float lo8s[8], hi8s[8];
    _mm256_storeu_ps(lo8s, vmin);
    _mm256_storeu_ps(hi8s, vmax);
    float lo = 0.0f, hi = 0.0f;
    for (int t = 0; t < 8; t++) {
      lo = lo8s[t] < lo ? lo8s[t] : lo;
      hi = hi8s[t] > hi ? hi8s[t] : hi;
    }
    bool finite = _mm256_movemask_ps(bad) == 0;
    for (; p < k; p++) see_value(a[p], lo, hi, finite);
    if (!row_step(lo, hi, finite, sa[i], za[i])) {
      std::memset(q, 0, static_cast<size_t>(k));
      continue;
    }
    const __m256 vs = _mm256_set1_ps(sa[i]);
    const __m256i vz = _mm256_set1_epi32(za[i]);
    for (p = 0; p + 8 <= k; p += 8) {
      // VCVTPS2DQ under the default rounding mode: to nearest, ties to even (as lrint).
      __m256i r = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_div_ps(_mm256_loadu_ps(a + p), vs)), vz);
      r = _mm256_min_epi32(_mm256_max_epi32(r, lo8), hi8);
      // 8 int32 in [0, 255] to 8 bytes: packs to int16, then to unsigned bytes.
      const __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(q + p), _mm_packus_epi16(w16, w16));
    }
    quantize_values(a, p, k, sa[i], za[i], q);
  }
}

MW_AVX2 void widen_rows_avx2(const uint8_t* qa, int64_t count, int16_t* a16) {
  int64_t p = 0;
  for (; p + 16 <= count; p += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(a16 + p),
                        _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qa + p))));
  for (; p < count; p++) a16[p] = qa[p];
}

void columns_avx2(const Int8Args& g, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; j++)
    for (int64_t i = 0; i < g.m; i++)
      rescale_store(g, g.c + i * g.n + j, j,
                    dot_avx2(g.k, g.qa + i * g.k, g.w + j * g.k) - g.za[i] * g.sums[j], g.sa[i],
                    g.sw[j]);
}

// Two blocks of 8 columns at a time against every row tile (the blocks' weights, 32 bytes per
// pair of k, stay in L1 while the rows pass).
void columns_pairs_avx2(const Int8Args& g, const int16_t* pw, const int16_t* a16, int64_t j0,
                        int64_t j1) {
  const int64_t b1 = (j1 + 7) / 8;
  for (int64_t b = j0 / 8; b < b1; b += 2) {
    const int nv = b + 2 <= b1 ? 2 : 1;
    for (int64_t i = 0; i < g.m; i += kPairMr) {
      const int rows = static_cast<int>(g.m - i < kPairMr ? g.m - i : kPairMr);
      tile_pairs_rows<kPairMr>(g, pw, a16, i, b, rows, nv);
    }
  }
}

}  // namespace mw
