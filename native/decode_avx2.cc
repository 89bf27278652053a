// The vector loops of decode.cc's log-softmax and top-k selection for CPUs with AVX2 but no
// AVX-512 (8 float lanes, 4 double lanes, masks as vectors): the same operations as the
// AVX-512 ones there, so the same results up to the order of the double sums.
#include <immintrin.h>

#include <cmath>

#include "decode_simd.h"

#define MW_AVX2 __attribute__((target("avx2,fma")))

namespace mw {
namespace {

// Lanes [0, n) of 8 set (n clamped to [0, 8]).
MW_AVX2 inline __m256i lanes_below(int64_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n < 8 ? (n > 0 ? n : 0) : 8)),
                            idx);
}

// e^x for x <= 0, 8 lanes: fastexp.h's fast_exp (Cody-Waite reduction, degree-6 polynomial,
// 2^n in the exponent bits); x <= -87 gives exactly 0.
MW_AVX2 inline __m256 exp_nonpositive(__m256 x) {
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_NGT_UQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n),
                                                          _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

MW_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

MW_AVX2 inline double hsum(__m256d v) {
  __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

}  // namespace

MW_AVX2 float row_max_avx2(const float* x, int64_t n, bool& nan) {
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  __m256 m = ninf;
  __m256 bad = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    const __m256i in = lanes_below(n - j);
    // Lanes past the end read -inf: never the maximum.
    const __m256 v = _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + j, in), _mm256_castsi256_ps(in));
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(v, m);  // a NaN in v yields m's lane
  }
  nan = _mm256_movemask_ps(bad) != 0;
  return hmax(m);
}

MW_AVX2 double sum_exp_avx2(const float* x, int64_t n, float m) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  const __m256 mv = _mm256_set1_ps(m);
  for (int64_t j = 0; j < n; j += 8) {
    const __m256i in = lanes_below(n - j);
    // Lanes past the row end load 0, whose e^(0 - m) must not count: they are zeroed.
    const __m256 e = _mm256_and_ps(_mm256_castsi256_ps(in),
                                   exp_nonpositive(_mm256_sub_ps(_mm256_maskload_ps(x + j, in), mv)));
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  return hsum(_mm256_add_pd(s0, s1));
}

MW_AVX2 void subtract_avx2(float* x, int64_t n, double lse) {
  const __m256d l = _mm256_set1_pd(lse);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + j));
    _mm_storeu_ps(x + j, _mm256_cvtpd_ps(_mm256_sub_pd(v, l)));
  }
  for (; j < n; j++) x[j] = static_cast<float>(x[j] - lse);
}

MW_AVX2 bool reaching8_avx2(const float* x, int64_t count, double b, double w) {
  const __m256i in = lanes_below(count);
  const __m256 v = _mm256_maskload_ps(x, in);
  const __m256d bv = _mm256_set1_pd(b), wv = _mm256_set1_pd(w);
  const __m256d lo = _mm256_cmp_pd(_mm256_add_pd(bv, _mm256_cvtps_pd(_mm256_castps256_ps128(v))),
                                   wv, _CMP_GE_OQ);
  const __m256d hi = _mm256_cmp_pd(_mm256_add_pd(bv, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1))),
                                   wv, _CMP_GE_OQ);
  const int bits = _mm256_movemask_pd(lo) | (_mm256_movemask_pd(hi) << 4);
  return (bits & _mm256_movemask_ps(_mm256_castsi256_ps(in))) != 0;
}

}  // namespace mw
