// The vector loops of decode.cc for CPUs with AVX2 but no AVX-512 (8 float lanes, 4 double
// lanes, masks as vectors): the log-softmax, the top-k screen and the attention of one query
// head on the cache, the same operations as the AVX-512 ones there, so the same results up to
// the order of the sums.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "avx2_lanes.h"
#include "decode.h"
#include "decode_simd.h"

#define MW_AVX2 __attribute__((target("avx2,fma")))

namespace mw {
namespace {

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

// 8 floats, or the first n of them (n < 8: masked). Masked stores are slow on AMD (VMASKMOVPS
// to memory is microcoded on Zen 2 and 3): whole vectors go plainly.
MW_AVX2 inline void store_first(float* p, int64_t n, __m256 v) {
  if (n >= 8)
    _mm256_storeu_ps(p, v);
  else
    _mm256_maskstore_ps(p, lanes_below(n), v);
}

MW_AVX2 inline float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

MW_AVX2 inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
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
  // Whole vectors plainly, the last partial one masked (a mask a vector cost a fifth of the row).
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 v = _mm256_loadu_ps(x + j);
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(v, m);  // a NaN in v yields m's lane
  }
  if (j < n) {
    const __m256i in = lanes_below(n - j);
    // Lanes past the end read -inf: never the maximum.
    const __m256 v = _mm256_blendv_ps(ninf, _mm256_maskload_ps(x + j, in), _mm256_castsi256_ps(in));
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(v, m);
  }
  nan = _mm256_movemask_ps(bad) != 0;
  return hmax(m);
}

MW_AVX2 double sum_exp_avx2(const float* x, int64_t n, float m) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  const __m256 mv = _mm256_set1_ps(m);
  // The same sums in the same order as one masked loop would make: whole vectors plainly, then
  // the last partial one masked.
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + j), mv));
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  if (j < n) {
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

MW_AVX2 int64_t next_reaching_avx2(const float* x, int64_t from, int64_t n, float floor) {
  const __m256 f = _mm256_set1_ps(floor);
  // A NaN lane compares false (ordered compare): never a candidate, as in the selection.
  int64_t j = from;
  // Four blocks a test while none reaches (almost every block, once M are kept).
  for (; j + 32 <= n; j += 32) {
    const __m256 any = _mm256_or_ps(
        _mm256_or_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j), f, _CMP_GE_OQ),
                     _mm256_cmp_ps(_mm256_loadu_ps(x + j + 8), f, _CMP_GE_OQ)),
        _mm256_or_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j + 16), f, _CMP_GE_OQ),
                     _mm256_cmp_ps(_mm256_loadu_ps(x + j + 24), f, _CMP_GE_OQ)));
    if (_mm256_movemask_ps(any) != 0) break;
  }
  for (; j + 8 <= n; j += 8)
    if (_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + j), f, _CMP_GE_OQ)) != 0) return j;
  if (j < n) {
    const __m256i in = lanes_below(n - j);
    const __m256 v = _mm256_maskload_ps(x + j, in);
    const int bits = _mm256_movemask_ps(_mm256_cmp_ps(v, f, _CMP_GE_OQ));
    if ((bits & _mm256_movemask_ps(_mm256_castsi256_ps(in))) != 0) return j;
  }
  return n;
}

MW_AVX2 bool decode_attention_head_avx2(const DecodeAttentionParams& p, int64_t r, int64_t h,
                                        int64_t lo, int64_t hi, float* s) {
  const int64_t Dh = p.Dh;
  const int64_t head = p.capacity * Dh;
  const int64_t prow = p.Hkv * head;
  const int64_t hk = h / (p.H / p.Hkv);
  const int64_t pr = p.rows[r];
  const int32_t* slot = p.slots != nullptr ? p.slots + r * p.slotStride : nullptr;
  const uint8_t* keep = p.keep == nullptr ? nullptr
                        : p.keep + (slot != nullptr ? r : pr) * p.keepStride;
  const float* kb = p.k + hk * head;
  const float* vb = p.v + hk * head;
  const float* q = p.q + (r * p.H + h) * Dh;
  float* o = p.out + (r * p.H + h) * Dh;
  const float* bias = p.bias != nullptr ? p.bias + p.biasOffset + h * p.biasHeadStride : nullptr;
  auto key = [&](int64_t j) { return kb + (slot != nullptr ? slot[j] : pr) * prow + j * Dh; };
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  const __m256 scale = _mm256_set1_ps(p.scale);
  // Scores 8 positions at a time: one vector of products per position along Dh, reduce8 for
  // the 8 dot products; then scale, bias, the keep mask (-Infinity) and the running maximum.
  __m256 mv = ninf;
  __m256 odd = _mm256_setzero_ps();  // a kept score that is NaN or +Infinity
  for (int64_t j0 = lo; j0 < hi; j0 += 8) {
    const int cnt = static_cast<int>(std::min<int64_t>(8, hi - j0));
    alignas(32) int32_t kept[8] = {0};
    bool any = false;
    for (int t = 0; t < cnt; t++) {
      kept[t] = keep == nullptr || keep[j0 + t] != 0 ? -1 : 0;
      any = any || kept[t] != 0;
    }
    const __m256i in = lanes_below(cnt);
    if (!any) {
      store_first(s + j0, cnt, ninf);  // a block the mask leaves out whole: not read
      continue;
    }
    __m256 acc[8];
#pragma GCC unroll 8
    for (int t = 0; t < 8; t++) {
      acc[t] = _mm256_setzero_ps();
      if (t >= cnt) continue;
      const float* kj = key(j0 + t);
      int64_t d = 0;
      for (; d + 8 <= Dh; d += 8)
        acc[t] = _mm256_fmadd_ps(_mm256_loadu_ps(q + d), _mm256_loadu_ps(kj + d), acc[t]);
      if (d < Dh) {
        const __m256i m = lanes_below(Dh - d);
        acc[t] = _mm256_fmadd_ps(_mm256_maskload_ps(q + d, m), _mm256_maskload_ps(kj + d, m),
                                 acc[t]);
      }
    }
    __m256 x = _mm256_mul_ps(reduce8(acc), scale);
    if (bias != nullptr) x = _mm256_add_ps(x, _mm256_maskload_ps(bias + j0, in));
    const __m256 km = _mm256_castsi256_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(kept)));
    x = _mm256_blendv_ps(ninf, x, km);
    store_first(s + j0, cnt, x);
    odd = _mm256_or_ps(odd, _mm256_and_ps(km, _mm256_or_ps(_mm256_cmp_ps(x, x, _CMP_UNORD_Q),
                                          _mm256_cmp_ps(x, _mm256_set1_ps(INFINITY), _CMP_EQ_OQ))));
    mv = _mm256_max_ps(x, mv);  // a NaN lane of x keeps mv's
  }
  if (_mm256_movemask_ps(odd) != 0) return false;
  const float m = hmax(mv);
  if (m == -INFINITY) {  // nothing to attend to: 0
    for (int64_t d = 0; d < Dh; d++) o[d] = 0.0f;
    return true;
  }
  // e_j = e^(s_j - m), exactly 0 where s_j = -Infinity (masked, or a -Infinity bias).
  const __m256 mb = _mm256_set1_ps(m);
  __m256 lsum = _mm256_setzero_ps();
  for (int64_t j = lo; j < hi; j += 8) {
    const __m256i in = lanes_below(hi - j);
    const __m256 x = _mm256_blendv_ps(ninf, _mm256_maskload_ps(s + j, in), _mm256_castsi256_ps(in));
    const __m256 live = _mm256_cmp_ps(x, ninf, _CMP_NEQ_OQ);
    const __m256 e = _mm256_and_ps(live, exp_nonpositive(_mm256_sub_ps(x, mb)));
    store_first(s + j, hi - j, e);
    lsum = _mm256_add_ps(lsum, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum(lsum));
  // out = sum_j e_j v_j / l, 32 elements of the head at a time in four accumulators.
  for (int64_t d0 = 0; d0 < Dh; d0 += 32) {
    const __m256i m0 = lanes_below(Dh - d0), m1 = lanes_below(Dh - d0 - 8);
    const __m256i m2 = lanes_below(Dh - d0 - 16), m3 = lanes_below(Dh - d0 - 24);
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t j = lo; j < hi; j++) {
      if (s[j] == 0.0f) continue;  // masked, or too small to count: its value is not read
      const float* v = vb + (slot != nullptr ? slot[j] : pr) * prow + j * Dh + d0;
      const __m256 e = _mm256_set1_ps(s[j]);
      a0 = _mm256_fmadd_ps(e, _mm256_maskload_ps(v, m0), a0);
      a1 = _mm256_fmadd_ps(e, _mm256_maskload_ps(v + 8, m1), a1);
      a2 = _mm256_fmadd_ps(e, _mm256_maskload_ps(v + 16, m2), a2);
      a3 = _mm256_fmadd_ps(e, _mm256_maskload_ps(v + 24, m3), a3);
    }
    store_first(o + d0, Dh - d0, _mm256_mul_ps(a0, inv));
    if (Dh - d0 > 8) store_first(o + d0 + 8, Dh - d0 - 8, _mm256_mul_ps(a1, inv));
    if (Dh - d0 > 16) store_first(o + d0 + 16, Dh - d0 - 16, _mm256_mul_ps(a2, inv));
    if (Dh - d0 > 24) store_first(o + d0 + 24, Dh - d0 - 24, _mm256_mul_ps(a3, inv));
  }
  return true;
}

}  // namespace mw
