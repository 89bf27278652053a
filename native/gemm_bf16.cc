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
//
// With AMX (amx.h; opt-in, MASKWISE_AMX=1 or set_gemm_amx, until it is measured on AMX
// hardware), the same B panels feed TDPBF16PS: a B tile is 16 pairs of k by 16 columns, so a
// 32-column panel is two tiles side by side (a row stride of NR lanes). A is packed by rows
// instead, each row's pairs of k contiguous (an A tile is 16 rows by 16 pairs), and a micro-tile
// is 32 x 32: four C tiles, two of A, two of B. k blocks are padded with zeros to whole tiles.
#include "simd.h"

#include <algorithm>
#include <cstring>

#include "amx.h"
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

// --- AMX ---

constexpr int AMX_MR = 32;  // rows of a micro-tile: two A tiles of 16 rows
constexpr int64_t AMX_KC = 512;  // k per block: 256 pairs, 16 B tiles deep

inline int64_t round_up(int64_t x, int64_t u) { return (x + u - 1) / u * u; }

// Rows of op(A) for A tiles: dst[i * kq16 + q] = bf16(A(i, 2q)) | bf16(A(i, 2q + 1)) << 16 for
// i < rows and 2q < kc, 0 up to 32 rows and kq16 pairs (kq16 = kc rounded up to 32, halved).
MW_BF16 void pack_a_rows_amx(const GemmParams& g, const float* A, int64_t i0, int rows,
                             int64_t pc, int64_t kc, int64_t kq16, uint32_t* dst) {
  if (!g.transA) {
    for (int i = 0; i < rows; i++) {
      const float* row = A + (i0 + i) * g.lda + pc;
      for (int64_t p = 0; p < kq16 * 2; p += 32) {
        const __m512 lo = _mm512_maskz_loadu_ps(first(kc - p), row + p);
        const __m512 hi = _mm512_maskz_loadu_ps(first(kc - p - 16), row + p + 16);
        const __m512bh h = _mm512_cvtne2ps_pbh(hi, lo);
        _mm512_storeu_ps(dst + i * kq16 + p / 2, reinterpret_cast<const __m512&>(h));
      }
    }
  } else {
    // A stored [k, m]: 16 rows at a time as pack_interleaved's [pairs, 16], then 16 x 16 lane
    // transposes into rows.
    thread_local Scratch t_pairs;
    uint32_t* pairs = t_pairs.get<uint32_t>(static_cast<size_t>(kq16 * 16));
    for (int r0 = 0; r0 < rows; r0 += 16) {
      const int n = std::min(16, rows - r0);
      const int64_t kq = (kc + 1) / 2;
      pack_interleaved(A + (i0 + r0) + pc * g.lda, g.lda, n, kc, pairs, 16, 16);
      std::memset(pairs + kq * 16, 0, static_cast<size_t>((kq16 - kq) * 16) * sizeof(uint32_t));
      for (int64_t q0 = 0; q0 < kq16; q0 += 16) {
        __m512 r[16];
        for (int t = 0; t < 16; t++) r[t] = _mm512_loadu_ps(pairs + (q0 + t) * 16);
        transpose16(r);
        for (int i = 0; i < n; i++) _mm512_storeu_ps(dst + (r0 + i) * kq16 + q0, r[i]);
      }
    }
  }
  std::memset(dst + rows * kq16, 0, static_cast<size_t>((AMX_MR - rows) * kq16) * sizeof(uint32_t));
}

// One k block's B panels of NR columns, each [kq16][NR] with the pairs past kc zero.
MW_BF16 void pack_b_amx(const GemmParams& g, const float* B, int64_t jc, int64_t nc, int64_t pc,
                        int64_t kc, int64_t kq16, uint32_t* bpack) {
  const int64_t kq = (kc + 1) / 2;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    uint32_t* d = bpack + jr * kq16;
    if (!g.transB) {
      pack_interleaved(B + pc * g.ldb + jc + jr, g.ldb, cols, kc, d, NR, NR);
    } else {
      for (int c0 = 0; c0 < NR; c0 += 16) {
        const int rows = std::max(0, std::min(16, cols - c0));
        pack_paired_rows(B + pc + (jc + jr + c0) * g.ldb, g.ldb, rows, kc, d + c0, NR, 16);
      }
    }
    std::memset(d + kq * NR, 0, static_cast<size_t>((kq16 - kq) * NR) * sizeof(uint32_t));
  }
}

// C[0:m, 0:n] = alpha * (A rows x B panel) + beta * C (C not read when beta == 0), m, n <= 32.
MW_AMX void kern_amx(int64_t kq16, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc,
                     int m, int n, float alpha, float beta) {
  alignas(64) float acc[AMX_MR * NR];
  const int64_t as = kq16 * 4, bs = NR * 4;  // row strides in bytes
  MW_TILE_ZERO(0);
  MW_TILE_ZERO(1);
  MW_TILE_ZERO(2);
  MW_TILE_ZERO(3);
  for (int64_t q0 = 0; q0 < kq16; q0 += 16) {
    MW_TILE_LOAD(4, a + q0, as);
    MW_TILE_LOAD(5, a + 16 * kq16 + q0, as);
    MW_TILE_LOAD(6, b + q0 * NR, bs);
    MW_TILE_LOAD(7, b + q0 * NR + 16, bs);
    MW_TILE_DPBF16PS(0, 4, 6);
    MW_TILE_DPBF16PS(1, 4, 7);
    MW_TILE_DPBF16PS(2, 5, 6);
    MW_TILE_DPBF16PS(3, 5, 7);
  }
  MW_TILE_STORE(0, acc, NR * 4);
  MW_TILE_STORE(1, acc + 16, NR * 4);
  MW_TILE_STORE(2, acc + 16 * NR, NR * 4);
  MW_TILE_STORE(3, acc + 16 * NR + 16, NR * 4);
  const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  for (int i = 0; i < m; i++)
    for (int c0 = 0; c0 < n; c0 += 16) {
      const __mmask16 k = first(n - c0);
      __m512 v = _mm512_mul_ps(va, _mm512_loadu_ps(acc + i * NR + c0));
      if (beta != 0.0f) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(k, c + i * ldc + c0), v);
      _mm512_mask_storeu_ps(c + i * ldc + c0, k, v);
    }
}

MW_AMX void gemm_tile_amx(const GemmParams& g, const float* A, const float* B, float* C, int64_t i0,
                          int64_t i1, int64_t j0, int64_t j1) {
  const int64_t kq16max = AMX_KC / 2;
  uint32_t* apack = t_apack.get<uint32_t>(static_cast<size_t>((MC + AMX_MR) * kq16max));
  uint32_t* bpack = t_bpack.get<uint32_t>(static_cast<size_t>((NC + NR) * kq16max));
  TileConfig cfg;
  for (int t = 0; t < 8; t++) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  MW_TILE_CONFIG(&cfg);
  for (int64_t jc = j0; jc < j1; jc += NC) {
    const int64_t nc = std::min(NC, j1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += AMX_KC) {
      const int64_t kc = std::min(AMX_KC, g.k - pc);
      const int64_t kq16 = round_up(kc, 32) / 2;
      const float beta = pc == 0 ? g.beta : 1.0f;  // later k blocks add to the first's sums
      pack_b_amx(g, B, jc, nc, pc, kc, kq16, bpack);
      for (int64_t ic = i0; ic < i1; ic += MC) {
        const int64_t mc = std::min(MC, i1 - ic);
        for (int64_t ir = 0; ir < mc; ir += AMX_MR) {
          const int m = static_cast<int>(std::min<int64_t>(AMX_MR, mc - ir));
          pack_a_rows_amx(g, A, ic + ir, m, pc, kc, kq16, apack + ir * kq16);
        }
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int n = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += AMX_MR) {
            const int m = static_cast<int>(std::min<int64_t>(AMX_MR, mc - ir));
            kern_amx(kq16, apack + ir * kq16, bpack + jr * kq16, C + (ic + ir) * g.ldc + jc + jr,
                     g.ldc, m, n, g.alpha, beta);
          }
        }
      }
    }
  }
  MW_TILE_RELEASE();
}

}  // namespace

bool gemm_amx_in_use() { return amx_opted_in() && bf16_dot_available() && amx_bf16_usable(); }

bool set_gemm_amx(bool on) {
  set_amx_opted_in(on);
  return gemm_amx_in_use();
}

int gemm_bf16_mr() { return gemm_amx_in_use() ? AMX_MR : MR; }
int gemm_bf16_nr() { return NR; }

void gemm_tile_bf16(const GemmParams& g, const float* A, const float* B, float* C, int64_t i0,
                    int64_t i1, int64_t j0, int64_t j1) {
  if (gemm_amx_in_use()) return gemm_tile_amx(g, A, B, C, i0, i1, j0, j1);
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
