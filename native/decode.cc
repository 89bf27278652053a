// Attention of one new query per row on a KV cache, the inner step of incremental decoding (see
// DecodeAttentionArgs in src/tensor/backend.ts; the reference is src/backend/reference-decode.ts).
// The cache is read where it lies, [P, H, capacity, Dh] with `length` positions filled, through a
// row map (beams that share a prefix, or a source shared by every beam of a sentence, are one
// physical row), so nothing is copied, split into heads or concatenated per step. Per (row, head)
// the scores fit in a small scratch array (length <= capacity), so plain two-pass softmax is
// used: scores and their maximum, then exp-weighted values. The work per call is tiny (a few
// thousand multiply-adds per head), so it stays on the calling thread.
#include "decode.h"

#include <immintrin.h>

#include <cmath>
#include <vector>

#include "gemm.h"

#define MW_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,fma")))

namespace mw {
namespace {

MW_AVX512 float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t d = 0;
  for (; d + 32 <= n; d += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + d), _mm512_loadu_ps(b + d), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + d + 16), _mm512_loadu_ps(b + d + 16), s1);
  }
  for (; d < n; d += 16) {
    const __mmask16 m =
        n - d >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (n - d)) - 1u);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + d), _mm512_maskz_loadu_ps(m, b + d), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

float dot_portable(const float* a, const float* b, int64_t n) {
  float s = 0.0f;
  for (int64_t d = 0; d < n; d++) s += a[d] * b[d];
  return s;
}

}  // namespace

void decode_attention(const DecodeAttentionParams& p) {
  const bool simd = gemm_isa() == Isa::avx512;
  thread_local std::vector<float> scores;
  if (static_cast<int64_t>(scores.size()) < p.length) scores.resize(p.length);
  float* s = scores.data();
  const int64_t Dh = p.Dh;
  for (int64_t r = 0; r < p.R; r++) {
    const int64_t pr = p.rows[r];
    const uint8_t* keep = p.keep != nullptr ? p.keep + pr * p.keepStride : nullptr;
    for (int64_t h = 0; h < p.H; h++) {
      const float* q = p.q + (r * p.H + h) * Dh;
      const float* kb = p.k + (pr * p.H + h) * p.capacity * Dh;
      const float* vb = p.v + (pr * p.H + h) * p.capacity * Dh;
      float* o = p.out + (r * p.H + h) * Dh;
      float m = -INFINITY;
      for (int64_t j = 0; j < p.length; j++) {
        if (keep != nullptr && keep[j] == 0) continue;
        const float d = simd ? dot_avx512(q, kb + j * Dh, Dh) : dot_portable(q, kb + j * Dh, Dh);
        s[j] = d * p.scale;
        if (s[j] > m) m = s[j];  // a NaN score is not a maximum, but it poisons the sum below
      }
      for (int64_t d = 0; d < Dh; d++) o[d] = 0.0f;
      if (m == -INFINITY) continue;  // nothing to attend to: 0
      float l = 0.0f;
      for (int64_t j = 0; j < p.length; j++) {
        if (keep != nullptr && keep[j] == 0) continue;
        const float e = std::exp(s[j] - m);
        l += e;
        const float* v = vb + j * Dh;
        for (int64_t d = 0; d < Dh; d++) o[d] += e * v[d];
      }
      const float inv = 1.0f / l;
      for (int64_t d = 0; d < Dh; d++) o[d] *= inv;
    }
  }
}

}  // namespace mw
