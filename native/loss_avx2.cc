// The cross-entropy row loops of loss.cc in AVX2 intrinsics, for every CPU with AVX2 (AVX-512
// ones included). GCC does not vectorise loss.cc's first pass (maximum, finiteness check and
// sum of a row in 16 lanes) in any clone: it runs scalar at ~4 cycles an element, half of the
// forward's time on an 800 x 8000 batch of logits. Here the 16 lanes are two ymm registers
// holding the same per-lane sequences, the scalar tail and the final reductions are loss.cc's,
// and exp is fastexp.h's fast_exp operation for operation (a multiply, then an add: the scalar
// clones have no FMA to contract into), so the results are the scalar loops' bits.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "fastexp.h"
#include "loss_avx2.h"
#include "loss_lanes.h"

// AVX2 without FMA: GCC contracts an intrinsic multiply and add into a fused multiply-add where
// the target has one, which would round differently from the scalar loops.
#define MW_AVX2 __attribute__((target("avx2")))

namespace mw {
namespace {

constexpr int kLanes = kLossLanes;

// fast_exp in 8 lanes, the same operations in the same order.
MW_AVX2 inline __m256 exp8(__m256 x) {
  const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_NGT_UQ);  // !(x > -87)
  __m256 xc = _mm256_blendv_ps(x, _mm256_set1_ps(-87.0f), tiny);
  xc = _mm256_min_ps(xc, _mm256_set1_ps(88.0f));  // xc < 88 ? xc : 88
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_sub_ps(xc, _mm256_mul_ps(n, _mm256_set1_ps(0.693145751953125f)));
  r = _mm256_sub_ps(r, _mm256_mul_ps(n, _mm256_set1_ps(1.428606765330187e-06f)));
  __m256 p = _mm256_set1_ps(1.0f / 720.0f);
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 120.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 24.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f / 6.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(0.5f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
  p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.0f));
  const __m256i bits =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

}  // namespace

MW_AVX2 bool row_lse_avx2(const float* z, int64_t V, double& lse, double& zsum) {
  // Lanes 0-7 in the first register of each pair, 8-15 in the second: lane k sees elements
  // j + k in j order, as loss.cc's arrays do.
  __m256 mx0 = _mm256_set1_ps(-INFINITY), mx1 = mx0;
  __m256 chk0 = _mm256_setzero_ps(), chk1 = chk0, zs0 = chk0, zs1 = chk0;
  const __m256 zero = _mm256_setzero_ps();
  const int64_t body = V - V % kLanes;
  for (int64_t j = 0; j < body; j += kLanes) {
    const __m256 v0 = _mm256_loadu_ps(z + j), v1 = _mm256_loadu_ps(z + j + 8);
    mx0 = _mm256_max_ps(v0, mx0);  // v > mx ? v : mx
    mx1 = _mm256_max_ps(v1, mx1);
    chk0 = _mm256_add_ps(chk0, _mm256_mul_ps(v0, zero));  // NaN once any element is not finite
    chk1 = _mm256_add_ps(chk1, _mm256_mul_ps(v1, zero));
    zs0 = _mm256_add_ps(zs0, v0);
    zs1 = _mm256_add_ps(zs1, v1);
  }
  float mx[kLanes], chk[kLanes], zs[kLanes];
  _mm256_storeu_ps(mx, mx0);
  _mm256_storeu_ps(mx + 8, mx1);
  _mm256_storeu_ps(chk, chk0);
  _mm256_storeu_ps(chk + 8, chk1);
  _mm256_storeu_ps(zs, zs0);
  _mm256_storeu_ps(zs + 8, zs1);
  float m;
  double zt;
  if (!finish_first_pass(z, body, V, mx, chk, zs, m, zt)) return false;
  const __m256 mv = _mm256_set1_ps(m);
  __m256 s0 = _mm256_setzero_ps(), s1 = s0;
  for (int64_t j = 0; j < body; j += kLanes) {
    s0 = _mm256_add_ps(s0, exp8(_mm256_sub_ps(_mm256_loadu_ps(z + j), mv)));
    s1 = _mm256_add_ps(s1, exp8(_mm256_sub_ps(_mm256_loadu_ps(z + j + 8), mv)));
  }
  float s[kLanes];
  _mm256_storeu_ps(s, s0);
  _mm256_storeu_ps(s + 8, s1);
  for (int64_t j = body; j < V; j++) s[0] += fast_exp(z[j] - m);
  lse = lanes_lse(s, m);
  zsum = zt;
  return true;
}

MW_AVX2 void row_grad_avx2(const float* z, float l, float dl, float off, float* d, int64_t V,
                           bool acc) {
  const __m256 lv = _mm256_set1_ps(l), dv = _mm256_set1_ps(dl), ov = _mm256_set1_ps(off);
  const int64_t body = V - V % 8;
  for (int64_t j = 0; j < body; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(z + j), lv));
    const __m256 g = _mm256_mul_ps(dv, _mm256_sub_ps(e, ov));
    _mm256_storeu_ps(d + j, acc ? _mm256_add_ps(_mm256_loadu_ps(d + j), g) : g);
  }
  for (int64_t j = body; j < V; j++) {
    const float g = dl * (fast_exp(z[j] - l) - off);
    d[j] = acc ? d[j] + g : g;
  }
}

}  // namespace mw
