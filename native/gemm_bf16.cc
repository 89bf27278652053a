// GEMM with its inputs rounded to bfloat16 (GemmParams.bf16): mixed-precision training's
// products. op(A) and op(B) are rounded to nearest bfloat16 (ties to even) while they are packed;
// every product of two bfloat16 values is exact in float32 and the sums stay in float32, so the
// result differs from the reference's (src/backend/reference.ts, gemm with bf16) only in the
// order of the float32 sums. VDPBF16PS multiplies 32 pairs per instruction, twice the
// multiply-adds of a float32 FMA at the same throughput, and the packed panels are half the
// bytes. Like all AVX512_BF16 conversions, VCVTNEPS2BF16 and VDPBF16PS treat subnormal inputs
// as 0 (below 1.2e-38; nothing a product in training reaches).
//
// The structure is gemm.cc's (GotoBLAS: jc over N by NC -> pc over K by KC -> pack B -> ic over
// M by MC -> pack A -> micro-kernel), with a k step of two: a packed panel holds, for each pair
// of k indices (2q, 2q+1), one 32-bit lane per row of A (or column of B) with bf16(x[2q]) in its
// low half and bf16(x[2q+1]) in its high half; VDPBF16PS multiplies lane by lane and adds both
// products to the float32 accumulator. An odd k leaves the last pair's high half 0.
#include "simd.h"

#include <algorithm>

#include "gemm.h"
#include "scratch.h"
#include "tile_store.h"
#include "transpose16.h"

#define MW_BF16 MW_TARGET("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,fma")

namespace mw {
namespace {

constexpr int MR = 12;  // rows of A per micro-tile: 24 accumulators, as the float32 kernel
constexpr int NR = 32;  // columns of B per micro-tile: two zmm of 16 float32 sums
// Cache blocking in k elements: a k block of KC is KC / 2 packed lanes, the bytes of the
// float32 kernel's 256 (a 32 KiB B micro-panel in L1, MC x KC of A in L2).
constexpr int64_t KC = 512, MC = 144, NC = 1024;

thread_local Scratch t_apack, t_bpack;

inline __mmask16 first(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xFFFF)
                 : n <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << n) - 1u);
}

// 16 float32 -> 16 bfloat16 bits (to nearest, ties to even), zero-extended into 32-bit lanes.
MW_BF16 inline __m512i bf16_lanes(__m512 x) {
  const __m256bh h = _mm512_cvtneps_pbh(x);
  return _mm512_cvtepu16_epi32(reinterpret_cast<const __m256i&>(h));
}

// Two rows of k interleaved: dst[q * ds + j] = bf16(s[2q * ld + j]) | bf16(s[(2q + 1) * ld + j])
// << 16 for j < cols, 0 for cols <= j < width. The packing of B as stored (k rows of n) and of a
// transposed A (k rows of m).
MW_BF16 void pack_interleaved(const float* s, int64_t ld, int cols, int64_t kc, uint32_t* dst,
                              int64_t ds, int width) {
  const int64_t kq = (kc + 1) / 2;
  for (int64_t q = 0; q < kq; q++) {
    const float* r0 = s + 2 * q * ld;
    const bool second = 2 * q + 1 < kc;
    for (int c0 = 0; c0 < width; c0 += 16) {
      const __mmask16 in = first(cols - c0);
      const __m512i lo = bf16_lanes(_mm512_maskz_loadu_ps(in, r0 + c0));
      const __m512i hi =
          second ? bf16_lanes(_mm512_maskz_loadu_ps(in, r0 + ld + c0)) : _mm512_setzero_si512();
      const __m512i v = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
      _mm512_mask_storeu_epi32(dst + q * ds + c0, first(width - c0), v);
    }
  }
}

// B as stored (k rows of n), every NR-wide panel of a block: the panel of columns jr.. at
// dst + jr * kq, laid out as pack_interleaved's with width NR. Row pairs outer, panels inner, so
// that B is read in its own order, as gemm.cc's pack_b does for float32.
MW_BF16 void pack_b_rows(const float* s, int64_t ld, int64_t nc, int64_t kc, uint32_t* dst) {
  const int64_t kq = (kc + 1) / 2;
  for (int64_t q = 0; q < kq; q++) {
    const float* r0 = s + 2 * q * ld;
    const bool second = 2 * q + 1 < kc;
    for (int64_t jr = 0; jr < nc; jr += NR) {
      uint32_t* d = dst + jr * kq + q * NR;
      for (int c0 = 0; c0 < NR; c0 += 16) {
        const __mmask16 in = first(nc - jr - c0);
        const __m512i lo = bf16_lanes(_mm512_maskz_loadu_ps(in, r0 + jr + c0));
        const __m512i hi = second ? bf16_lanes(_mm512_maskz_loadu_ps(in, r0 + ld + jr + c0))
                                  : _mm512_setzero_si512();
        _mm512_storeu_si512(d + c0, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
      }
    }
  }
}

// Rows whose k runs along memory, paired and transposed: dst[q * ds + i] = bf16(s[i * ld + 2q])
// | bf16(s[i * ld + 2q + 1]) << 16 for i < rows, 0 for rows <= i < lanes (<= 16). The packing of
// A as stored (m rows of k) and of a transposed B (n rows of k): 32 k values of a row become 16
// lanes of pairs, and 16 rows of them one 16 x 16 lane transpose.
MW_BF16 void pack_paired_rows(const float* s, int64_t ld, int rows, int64_t kc, uint32_t* dst,
                              int64_t ds, int lanes) {
  const __mmask16 store = first(lanes);
  for (int64_t p = 0; p < kc; p += 32) {
    const __mmask16 m0 = first(kc - p), m1 = first(kc - p - 16);
    __m512 r[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
      if (i < rows) {
        const float* row = s + i * ld + p;
        // Words 0-15 from the first 16 values, 16-31 from the next: lane t = (x[2t], x[2t+1]).
        const __m512bh h =
            _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, row + 16), _mm512_maskz_loadu_ps(m0, row));
        r[i] = reinterpret_cast<const __m512&>(h);
      } else {
        r[i] = _mm512_setzero_ps();
      }
    }
    transpose16(r);
    const int64_t pairs = std::min<int64_t>(16, (kc - p + 1) / 2);
    for (int64_t t = 0; t < pairs; t++)
      _mm512_mask_storeu_ps(dst + (p / 2 + t) * ds, store, r[t]);
  }
}

// C[0:M, 0:n] = alpha * sum over kq packed pairs + beta * C (C not read when beta == 0), n <= NR.
template <int M>
MW_BF16 void kern(int64_t kq, const uint32_t* __restrict a, const uint32_t* __restrict b,
                  float* c, int64_t ldc, int n, float alpha, float beta) {
  __m512 c0[M], c1[M];
  start_tile32<M>(c0, c1, c, ldc);
#pragma GCC unroll 4
  for (int64_t q = 0; q < kq; q++) {
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = _mm512_loadu_si512(b + 16);
#pragma GCC unroll 16
    for (int i = 0; i < M; i++) {
      const __m512i av = _mm512_set1_epi32(static_cast<int>(a[i]));
      c0[i] = _mm512_dpbf16_ps(c0[i], reinterpret_cast<const __m512bh&>(av),
                               reinterpret_cast<const __m512bh&>(b0));
      c1[i] = _mm512_dpbf16_ps(c1[i], reinterpret_cast<const __m512bh&>(av),
                               reinterpret_cast<const __m512bh&>(b1));
    }
    a += MR;
    b += NR;
  }
  store_tile32<M>(c0, c1, c, ldc, n, alpha, beta);
}

template <int M>
void dispatch(int m, int64_t kq, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc,
              int n, float alpha, float beta) {
  if constexpr (M > 1) {
    if (m < M) return dispatch<M - 1>(m, kq, a, b, c, ldc, n, alpha, beta);
  }
  kern<M>(kq, a, b, c, ldc, n, alpha, beta);
}

}  // namespace

int gemm_bf16_mr() { return MR; }
int gemm_bf16_nr() { return NR; }

void gemm_tile_bf16(const GemmParams& g, const float* A, const float* B, float* C, int64_t i0,
                    int64_t i1, int64_t j0, int64_t j1) {
  const int64_t kqmax = KC / 2;
  uint32_t* apack = t_apack.get<uint32_t>(static_cast<size_t>((MC + MR) * kqmax));
  uint32_t* bpack = t_bpack.get<uint32_t>(static_cast<size_t>((NC + NR) * kqmax));
  for (int64_t jc = j0; jc < j1; jc += NC) {
    const int64_t nc = std::min(NC, j1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += KC) {
      const int64_t kc = std::min(KC, g.k - pc);
      const int64_t kq = (kc + 1) / 2;
      const float beta = pc == 0 ? g.beta : 1.0f;  // later k blocks add to the first's sums
      // B[pc:pc+kc, jc:jc+nc] as panels of NR columns, each [kq][NR].
      if (!g.transB) {
        pack_b_rows(B + pc * g.ldb + jc, g.ldb, nc, kc, bpack);
      } else {
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int c0 = 0; c0 < NR; c0 += 16)
            pack_paired_rows(B + pc + (jc + jr + c0) * g.ldb, g.ldb,
                             std::max(0, std::min(16, cols - c0)), kc, bpack + jr * kq + c0, NR, 16);
        }
      }
      for (int64_t ic = i0; ic < i1; ic += MC) {
        const int64_t mc = std::min(MC, i1 - ic);
        // A[ic:ic+mc, pc:pc+kc] as panels of MR rows, each [kq][MR].
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
          uint32_t* d = apack + ir * kq;
          if (g.transA)
            pack_interleaved(A + (ic + ir) + pc * g.lda, g.lda, rows, kc, d, MR, MR);
          else
            pack_paired_rows(A + (ic + ir) * g.lda + pc, g.lda, rows, kc, d, MR, MR);
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int n = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            dispatch<MR>(m, kq, apack + ir * kq, bpack + jr * kq,
                         C + (ic + ir) * g.ldc + jc + jr, g.ldc, n, g.alpha, beta);
          }
        }
      }
    }
  }
}

}  // namespace mw
