// C [m, n] (+)= A [m, k] W^T (+ bias, ReLU) with W quantized to int8 per output row (src/nn/int8-weights.ts) and
// each row of A quantized to unsigned bytes with a zero point on the fly: the Linear layers of a
// decoding step under `--precision int8`. src/backend/reference-int8.ts is the specification;
// this file computes the same numbers. The integer dot products are exact in int32 (u <= 255,
// |q| <= 127, k <= kMaxK): sum_p u[i, p] w[j, p] - z[i] sum_p w[j, p] (`sums` holds the weight
// rows' sums, made with the weights), so the only rounding is the float32 rescale
// c += float(dot) * (sa[i] * sw[j]), done in that order on every path; a row of A is quantized
// with the same float32 divisions and rounding to nearest even as the reference.
//
// Kernels, picked at run time:
//  - avx512-vnni: VPDPBUSD multiplies 64 unsigned by 64 signed bytes into 16 int32 sums per
//    instruction. A step streams each weight byte once: a quarter of float32's bytes.
//  - avx2 (gemm_int8_avx2.cc): bytes widened to int16, VPMADDWD (pairs of products into int32),
//    on the weights in its pair layout (an Int16Array `packed`) where given.
//  - portable: int32 loops.
//  - amx-int8 (opt-in, MASKWISE_AMX=1; amx.h): TDPBUSD on the VPDPBUSD layout's weights for
//    products of 16 rows or more with k a multiple of 64.
#include "simd.h"
#include <napi.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "amx.h"
#include "args.h"
#include "gemm.h"
#include "gemm_int8.h"
#include "threadpool.h"

#define MW_VNNI MW_TARGET("avx512f,avx512bw,avx512vl,avx512vnni")

namespace mw {

template <>
struct TypedKind<int8_t> {
  static constexpr napi_typedarray_type kind = napi_int8_array;
  static constexpr const char* name = "an Int8Array";
};
template <>
struct TypedKind<int16_t> {
  static constexpr napi_typedarray_type kind = napi_int16_array;
  static constexpr const char* name = "an Int16Array";
};

namespace {

// Products below this many multiply-adds run on the calling thread (as gemm_skinny.cc).
constexpr int64_t kInt8Parallel = int64_t{1} << 18;
// The longest row whose sums cannot overflow int32 on the VNNI path: k * 255 * 127 < 2^31.
constexpr int64_t kMaxK = 65536;

enum class Int8Kernel { portable, avx2, vnni, amx };

Int8Kernel int8_kernel() {
  static const bool vnni = [] {
    __builtin_cpu_init();
    return MW_CPU_SUPPORTS("avx512vnni") && MW_CPU_SUPPORTS("avx512bw");
  }();
  // setGemmIsa lowers this kernel with the float32 ones (tests reach every path on one CPU).
  if (gemm_isa() == Isa::avx512 && vnni) return Int8Kernel::vnni;
  if (gemm_isa() != Isa::portable) return Int8Kernel::avx2;
  return Int8Kernel::portable;
}

const char* kernel_name(Int8Kernel k) {
  switch (k) {
    case Int8Kernel::vnni: return "avx512-vnni";
    case Int8Kernel::amx: return "amx-int8";
    case Int8Kernel::avx2: return "avx2";
    default: return "portable";
  }
}

// Row i of A [m, k] to bytes (quantizeActivationRow): its range [lo, hi] with 0 in it, the step
// sa[i] = hi / 255 - lo / 255 (each end divided first: hi - lo could overflow), the zero point
// z[i] = -lo / sa[i] and u = a / sa[i] + z[i], rounded to nearest even and kept in [0, 255]. A
// row of zeros (or one whose step is 0 in float32) gets sa = 0, z = 0 and u = 0; a row with a
// NaN or an infinity gets sa = NaN (its results NaN).
void quantize_rows(const float* A, int64_t m, int64_t k, uint8_t* qa, float* sa, int32_t* za) {
  for (int64_t i = 0; i < m; i++) {
    const float* a = A + i * k;
    uint8_t* q = qa + i * k;
    float lo = 0.0f, hi = 0.0f;
    bool finite = true;
    for (int64_t p = 0; p < k; p++) see_value(a[p], lo, hi, finite);
    if (row_step(lo, hi, finite, sa[i], za[i]))
      quantize_values(a, 0, k, sa[i], za[i], q);
    else
      std::memset(q, 0, static_cast<size_t>(k));
  }
}

// quantize_rows with AVX-512, 16 values per instruction (the VNNI path): the same float32
// divisions, rounding to nearest even (VCVTPS2DQ under the default rounding mode) and clamp.
MW_VNNI void quantize_rows_avx512(const float* A, int64_t m, int64_t k, uint8_t* qa, float* sa,
                                  int32_t* za) {
  const __m512 big = _mm512_set1_ps(FLT_MAX);
  const __m512i lo8 = _mm512_setzero_si512(), hi8 = _mm512_set1_epi32(255);
  for (int64_t i = 0; i < m; i++) {
    const float* a = A + i * k;
    uint8_t* q = qa + i * k;
    // Lanes start at 0, so the range holds 0; masked-off tail lanes load as 0.
    __m512 vmin = _mm512_setzero_ps(), vmax = _mm512_setzero_ps();
    __mmask16 bad = 0;  // lanes that saw a NaN or an infinity
    int64_t p = 0;
    auto see = [&](__m512 x) {
      bad |= _mm512_cmp_ps_mask(_mm512_abs_ps(x), big, _CMP_NLE_UQ);
      vmin = _mm512_min_ps(vmin, x);
      vmax = _mm512_max_ps(vmax, x);
    };
    for (; p + 16 <= k; p += 16) see(_mm512_loadu_ps(a + p));
    if (p < k) {
      const __mmask16 mask = static_cast<__mmask16>((1u << (k - p)) - 1u);
      see(_mm512_maskz_loadu_ps(mask, a + p));
    }
    const float lo = _mm512_reduce_min_ps(vmin), hi = _mm512_reduce_max_ps(vmax);
    if (!row_step(lo, hi, bad == 0, sa[i], za[i])) {
      std::memset(q, 0, static_cast<size_t>(k));
      continue;
    }
    const __m512 vs = _mm512_set1_ps(sa[i]);
    const __m512i vz = _mm512_set1_epi32(za[i]);
    auto quant = [&](__m512 x) {
      const __m512i r = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_div_ps(x, vs)), vz);
      return _mm512_min_epi32(_mm512_max_epi32(r, lo8), hi8);
    };
    for (p = 0; p + 16 <= k; p += 16)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + p),
                       _mm512_cvtepi32_epi8(quant(_mm512_loadu_ps(a + p))));
    if (p < k) {
      const __mmask16 mask = static_cast<__mmask16>((1u << (k - p)) - 1u);
      _mm512_mask_cvtepi32_storeu_epi8(q + p, mask, quant(_mm512_maskz_loadu_ps(mask, a + p)));
    }
  }
}

// ---- AVX512-VNNI ----

// out[i * NJ + j] = sum_p ua[i][p] * w[j][p] (ua unsigned, w signed), exact in int32.
template <int MI, int NJ>
MW_VNNI void dots_vnni(int64_t k, const uint8_t* const* a, const int8_t* const* w,
                       int32_t* out) {
  __m512i acc[MI * NJ];
  for (int t = 0; t < MI * NJ; t++) acc[t] = _mm512_setzero_si512();
  int64_t p = 0;
  for (; p + 64 <= k; p += 64) {
    __m512i wv[NJ];
#pragma GCC unroll 4
    for (int j = 0; j < NJ; j++) wv[j] = _mm512_loadu_si512(w[j] + p);
#pragma GCC unroll 4
    for (int i = 0; i < MI; i++) {
      const __m512i av = _mm512_loadu_si512(a[i] + p);
#pragma GCC unroll 4
      for (int j = 0; j < NJ; j++) acc[i * NJ + j] = _mm512_dpbusd_epi32(acc[i * NJ + j], av, wv[j]);
    }
  }
  if (p < k) {
    // Past k both load as 0: the products there are 0.
    const __mmask64 mask = (~uint64_t{0}) >> (64 - (k - p));
    __m512i wv[NJ];
    for (int j = 0; j < NJ; j++) wv[j] = _mm512_maskz_loadu_epi8(mask, w[j] + p);
    for (int i = 0; i < MI; i++) {
      const __m512i av = _mm512_maskz_loadu_epi8(mask, a[i] + p);
      for (int j = 0; j < NJ; j++) acc[i * NJ + j] = _mm512_dpbusd_epi32(acc[i * NJ + j], av, wv[j]);
    }
  }
  for (int t = 0; t < MI * NJ; t++) out[t] = _mm512_reduce_add_epi32(acc[t]);
}

// rescale_store's epilogue on 16 lanes of row c (columns j.., those in `in`) holding y.
MW_VNNI inline void store16(const Int8Args& g, float* c, int64_t j, __mmask16 in, __m512 y) {
  const __m512 before = g.accumulate ? _mm512_maskz_loadu_ps(in, c) : _mm512_setzero_ps();
  __m512 v = _mm512_add_ps(before, y);
  if (g.bias != nullptr) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(in, g.bias + j));
  // v > 0 is false for NaN: those lanes become 0.
  if (g.relu) v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ), v);
  _mm512_mask_storeu_ps(c, in, v);
}

template <int MI, int NJ>
MW_VNNI void block_vnni(const Int8Args& g, int64_t i0, int64_t j0) {
  const uint8_t* a[MI];
  const int8_t* w[NJ];
  for (int i = 0; i < MI; i++) a[i] = g.qa + (i0 + i) * g.k;
  for (int j = 0; j < NJ; j++) w[j] = g.w + (j0 + j) * g.k;
  int32_t out[MI * NJ];
  dots_vnni<MI, NJ>(g.k, a, w, out);
  for (int i = 0; i < MI; i++)
    for (int j = 0; j < NJ; j++)
      rescale_store(g, g.c + (i0 + i) * g.n + j0 + j, j0 + j,
                    out[i * NJ + j] - g.za[i0 + i] * g.sums[j0 + j], g.sa[i0 + i], g.sw[j0 + j]);
}

// The 16 horizontal sums of v[0..15] as one vector (lane r = sum of v[r]): the transpose-and-add
// tree of gemm_skinny.cc's reduce16 on int32 lanes (the shuffles move bits, whatever their
// type), 15 adds and 30 shuffles instead of 16 reductions of ~8 instructions each.
MW_VNNI inline __m512i reduce16(const __m512i* v) {
  __m512i s[8], u[4];
  for (int t = 0; t < 8; t++)
    s[t] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * t], v[2 * t + 1]),
                            _mm512_unpackhi_epi32(v[2 * t], v[2 * t + 1]));
  for (int t = 0; t < 4; t++) {
    const __m512 a = _mm512_castsi512_ps(s[2 * t]);
    const __m512 b = _mm512_castsi512_ps(s[2 * t + 1]);
    u[t] = _mm512_add_epi32(_mm512_castps_si512(_mm512_shuffle_ps(a, b, 0x44)),
                            _mm512_castps_si512(_mm512_shuffle_ps(a, b, 0xEE)));
  }
  const __m512i w01 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88),
                                       _mm512_shuffle_i32x4(u[0], u[1], 0xDD));
  const __m512i w23 = _mm512_add_epi32(_mm512_shuffle_i32x4(u[2], u[3], 0x88),
                                       _mm512_shuffle_i32x4(u[2], u[3], 0xDD));
  return _mm512_add_epi32(_mm512_shuffle_i32x4(w01, w23, 0x88),
                          _mm512_shuffle_i32x4(w01, w23, 0xDD));
}

// C[i, j:j+16] from row i of A against weight rows j..j+15, all 16 rescaled as one vector with
// the same float32 operations as rescale_store. `next` (bytes on, 0: none): the rows of the next
// block, prefetched into L2 while these are read (as gemm_skinny.cc does: a weight row is too
// short a stream for the hardware prefetcher).
MW_VNNI void row16_vnni(const Int8Args& g, int64_t i, int64_t j, int64_t next) {
  const int64_t k = g.k;
  const uint8_t* a = g.qa + i * k;
  const int8_t* w = g.w + j * k;
  __m512i acc[16];
  for (int t = 0; t < 16; t++) acc[t] = _mm512_setzero_si512();
  int64_t p = 0;
  for (; p + 64 <= k; p += 64) {
    const __m512i av = _mm512_loadu_si512(a + p);
#pragma GCC unroll 16
    for (int t = 0; t < 16; t++) {
      if (next != 0) _mm_prefetch(reinterpret_cast<const char*>(w + t * k + next + p), _MM_HINT_T1);
      acc[t] = _mm512_dpbusd_epi32(acc[t], av, _mm512_loadu_si512(w + t * k + p));
    }
  }
  if (p < k) {
    const __mmask64 mask = (~uint64_t{0}) >> (64 - (k - p));
    const __m512i av = _mm512_maskz_loadu_epi8(mask, a + p);
    for (int t = 0; t < 16; t++)
      acc[t] = _mm512_dpbusd_epi32(acc[t], av, _mm512_maskz_loadu_epi8(mask, w + t * k + p));
  }
  const __m512i sums = _mm512_loadu_si512(g.sums + j);
  const __m512i dot =
      _mm512_sub_epi32(reduce16(acc), _mm512_mullo_epi32(sums, _mm512_set1_epi32(g.za[i])));
  const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(g.sa[i]), _mm512_loadu_ps(g.sw + j));
  const __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(dot), scale);
  store16(g, g.c + i * g.n + j, j, static_cast<__mmask16>(0xffff), y);
}

// Columns [j0, j1): 16 weight rows at a time against each row of A (the block stays in L1
// for the rows after the first), then the last columns one by one.
MW_VNNI void columns_vnni(const Int8Args& g, int64_t j0, int64_t j1) {
  int64_t j = j0;
  for (; j + 16 <= j1; j += 16) {
    const int64_t next = j + 32 <= j1 ? 16 * g.k : 0;
    for (int64_t i = 0; i < g.m; i++) row16_vnni(g, i, j, i == 0 ? next : 0);
  }
  for (; j < j1; j++)
    for (int64_t i = 0; i < g.m; i++) block_vnni<1, 1>(g, i, j);
}

// ---- AVX512-VNNI on weights packed in VPDPBUSD's layout (GemmInt8Args.packed) ----
//
// Each 64-byte vector of the packed weight holds 4 consecutive k of 16 columns, so one
// VPDPBUSD with 4 bytes of a row of A broadcast adds 4 products to each of 16 column sums: a
// tile of MR rows x 16 NV columns keeps MR x NV accumulators in registers over all of k, with
// no horizontal sums (the row kernel above spends about as long reducing as multiplying once
// many rows share a weight). For products of many rows (a beam step's 160); a few rows stream
// the weight once whichever layout it is in, and take the row kernel.

// Rows of the packed tile: 12 x 2 accumulators, 2 weight vectors and a broadcast in 32 zmm.
constexpr int kPackedMr = 12;
// Rows from which the packed kernel runs.
constexpr int64_t kPackedRows = 8;

// The rescale of row16_vnni, lane for lane, for row i and columns j..j+15 (those below n) from
// their dot products: (dot - z sum_w) -> float, times sa * sw, added.
MW_VNNI inline void rescale16(const Int8Args& g, int64_t i, int64_t j, __m512i dot) {
  const __mmask16 in = j + 16 <= g.n ? static_cast<__mmask16>(0xffff)
                                     : static_cast<__mmask16>((1u << (g.n - j)) - 1u);
  const __m512i sums = _mm512_maskz_loadu_epi32(in, g.sums + j);
  const __m512 sw = _mm512_maskz_loadu_ps(in, g.sw + j);
  const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(g.sa[i]), sw);
  const __m512i zs = _mm512_mullo_epi32(sums, _mm512_set1_epi32(g.za[i]));
  const __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(dot, zs)), scale);
  store16(g, g.c + i * g.n + j, j, in, y);
}

template <int MR, int NV>
MW_VNNI void tile_packed(const Int8Args& g, const int8_t* pw, int64_t i0, int64_t block) {
  const int64_t groups = g.k / 4;
  __m512i acc[MR][NV];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_si512();
  const int8_t* w = pw + block * groups * 64;
  const uint8_t* a = g.qa + i0 * g.k;
  for (int64_t q = 0; q < groups; q++) {
    __m512i wv[NV];
    for (int v = 0; v < NV; v++) wv[v] = _mm512_loadu_si512(w + (v * groups + q) * 64);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      int32_t four;
      std::memcpy(&four, a + r * g.k + 4 * q, 4);
      const __m512i av = _mm512_set1_epi32(four);
      for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, wv[v]);
    }
  }
  for (int v = 0; v < NV; v++)
    for (int r = 0; r < MR; r++) rescale16(g, i0 + r, (block + v) * 16, acc[r][v]);
}

template <int MR>
MW_VNNI void tile_packed_rows(const Int8Args& g, const int8_t* pw, int64_t i0, int64_t block,
                              int rows, int nv) {
  if constexpr (MR > 1) {
    if (rows < MR) return tile_packed_rows<MR - 1>(g, pw, i0, block, rows, nv);
  }
  if (nv == 2)
    tile_packed<MR, 2>(g, pw, i0, block);
  else
    tile_packed<MR, 1>(g, pw, i0, block);
}

// Columns [j0, j1) (j0 a multiple of 16): two blocks of 16 columns at a time against every row
// tile (the blocks' weights stay in L1 while the rows pass).
MW_VNNI void columns_packed(const Int8Args& g, const int8_t* pw, int64_t j0, int64_t j1) {
  const int64_t b1 = (j1 + 15) / 16;
  for (int64_t b = j0 / 16; b < b1; b += 2) {
    const int nv = b + 2 <= b1 ? 2 : 1;
    for (int64_t i = 0; i < g.m; i += kPackedMr) {
      const int rows = static_cast<int>(std::min<int64_t>(kPackedMr, g.m - i));
      tile_packed_rows<kPackedMr>(g, pw, i, b, rows, nv);
    }
  }
}

// ---- AMX-INT8 on the same layout (opt-in; amx.h) ----
//
// A B tile is 16 consecutive vectors of a block (16 columns x 64 k, row stride 64 bytes); an A
// tile is 16 rows of the quantized A read in place (row stride k, so k is a multiple of 64),
// whose rows gemm_int8 pads with zeros to a multiple of 32. A micro-tile is 32 rows x 32
// columns: four int32 C tiles, two of A, two of B; the sums are exact, as on VPDPBUSD, so the
// results are the same bits.

// Rows from which the AMX kernel runs (two A tiles' worth of rows is its micro-tile).
constexpr int64_t kAmxRows = 16;
constexpr int kAmxMr = 32;

template <int NV>
MW_AMX_INT8 void tile_amx(const Int8Args& g, const int8_t* pw, int64_t i0, int64_t block) {
  const int64_t groups = g.k / 4;
  alignas(64) int32_t acc[kAmxMr * 32];
  const uint8_t* a = g.qa + i0 * g.k;
  const int8_t* w0 = pw + block * groups * 64;
  const int8_t* w1 = w0 + groups * 64;
  MW_TILE_ZERO(0);
  MW_TILE_ZERO(1);
  MW_TILE_ZERO(2);
  MW_TILE_ZERO(3);
  for (int64_t p = 0; p < g.k; p += 64) {
    MW_TILE_LOAD(4, a + p, g.k);
    MW_TILE_LOAD(5, a + 16 * g.k + p, g.k);
    MW_TILE_LOAD(6, w0 + p * 16, 64);
    MW_TILE_DPBUSD(0, 4, 6);
    MW_TILE_DPBUSD(2, 5, 6);
    if constexpr (NV == 2) {
      MW_TILE_LOAD(7, w1 + p * 16, 64);
      MW_TILE_DPBUSD(1, 4, 7);
      MW_TILE_DPBUSD(3, 5, 7);
    }
  }
  MW_TILE_STORE(0, acc, 128);
  MW_TILE_STORE(2, acc + 16 * 32, 128);
  if constexpr (NV == 2) {
    MW_TILE_STORE(1, acc + 16, 128);
    MW_TILE_STORE(3, acc + 16 * 32 + 16, 128);
  }
  const int64_t rows = std::min<int64_t>(kAmxMr, g.m - i0);
  for (int v = 0; v < NV; v++)
    for (int64_t r = 0; r < rows; r++)
      rescale16(g, i0 + r, (block + v) * 16, _mm512_loadu_si512(acc + r * 32 + v * 16));
}

// columns_packed's loop on AMX tiles, the tile configuration loaded by this thread.
MW_AMX_INT8 void columns_amx(const Int8Args& g, const int8_t* pw, int64_t j0, int64_t j1) {
  TileConfig cfg;
  for (int t = 0; t < 8; t++) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  MW_TILE_CONFIG(&cfg);
  const int64_t b1 = (j1 + 15) / 16;
  for (int64_t b = j0 / 16; b < b1; b += 2)
    for (int64_t i = 0; i < g.m; i += kAmxMr) {
      if (b + 2 <= b1)
        tile_amx<2>(g, pw, i, b);
      else
        tile_amx<1>(g, pw, i, b);
    }
  MW_TILE_RELEASE();
}

// ---- portable ----

void columns_portable(const Int8Args& g, int64_t j0, int64_t j1) {
  for (int64_t j = j0; j < j1; j++) {
    const int8_t* w = g.w + j * g.k;
    for (int64_t i = 0; i < g.m; i++) {
      const uint8_t* a = g.qa + i * g.k;
      int32_t s = 0;
      for (int64_t p = 0; p < g.k; p++) s += int32_t{a[p]} * int32_t{w[p]};
      rescale_store(g, g.c + i * g.n + j, j, s - g.za[i] * g.sums[j], g.sa[i], g.sw[j]);
    }
  }
}

// Column ranges over the pool (multiples of 16, four per thread) for large products, as
// gemm_skinny.cc splits its own: a decoding step streams its weights, and two cores read them
// faster than one.
template <class F>
void split(int64_t n, int64_t work, const F& cols) {
  const int T = ThreadPool::instance().threads();
  if (T > 1 && work >= kInt8Parallel && n >= 64 * T)
    parallel_chunks(n, 16, cols);
  else
    cols(0, n);
}

// packed: the weights in the VPDPBUSD layout (Int8Array) or, with `pairs`, in VPMADDWD's pair
// layout (Int16Array), or null; the kernel that runs reads it only in its own layout.
Int8Kernel gemm_int8(int64_t m, int64_t n, int64_t k, const float* A, const int8_t* W,
                     const float* sw, const int32_t* sums, float* C, const void* packed,
                     bool pairs, bool accumulate, const float* bias, bool relu) {
  const Int8Kernel kern = int8_kernel();
  if (m <= 0 || n <= 0) return kern;
  const size_t mk = static_cast<size_t>(m * k);
  const bool use_vnni_packed = kern == Int8Kernel::vnni && packed != nullptr && !pairs &&
                               k % 4 == 0 && m >= kPackedRows;
  const bool use_amx = use_vnni_packed && m >= kAmxRows && k % 64 == 0 && amx_opted_in() &&
                       amx_int8_usable();
  // AMX's A tiles read whole blocks of 32 rows: the rows past m are zeros.
  const int64_t rows = use_amx ? (m + kAmxMr - 1) / kAmxMr * kAmxMr : m;
  thread_local std::vector<uint8_t> qa_buf;
  thread_local std::vector<int16_t> a16_buf;
  thread_local std::vector<float> sa_buf;
  thread_local std::vector<int32_t> za_buf;
  if (qa_buf.size() < static_cast<size_t>(rows * k)) qa_buf.resize(static_cast<size_t>(rows * k));
  if (use_amx) std::memset(qa_buf.data() + mk, 0, static_cast<size_t>((rows - m) * k));
  if (sa_buf.size() < static_cast<size_t>(m)) sa_buf.resize(static_cast<size_t>(m));
  if (za_buf.size() < static_cast<size_t>(m)) za_buf.resize(static_cast<size_t>(m));
  if (kern == Int8Kernel::vnni)
    quantize_rows_avx512(A, m, k, qa_buf.data(), sa_buf.data(), za_buf.data());
  else if (kern == Int8Kernel::avx2)
    quantize_rows_avx2(A, m, k, qa_buf.data(), sa_buf.data(), za_buf.data());
  else
    quantize_rows(A, m, k, qa_buf.data(), sa_buf.data(), za_buf.data());
  // Pointers, not the thread_local names: on a worker thread those are its own empty buffers.
  const Int8Args g{m,  n,  k,    qa_buf.data(), sa_buf.data(), za_buf.data(), W,
                   sw, sums, C, accumulate, bias, relu};
  // The pair kernel for any number of rows: with no horizontal sums it beats the dot kernel at
  // one row too (a 256 x 256 weight: 2.8 against 6.6 us on an AMD EPYC Zen 3).
  const bool use_pairs = kern == Int8Kernel::avx2 && packed != nullptr && pairs && k % 2 == 0;
  const int16_t* a16 = nullptr;
  if (use_pairs) {
    if (a16_buf.size() < mk) a16_buf.resize(mk);
    widen_rows_avx2(qa_buf.data(), static_cast<int64_t>(mk), a16_buf.data());
    a16 = a16_buf.data();
  }
  split(n, m * n * k, [&](int64_t lo, int64_t hi) {
    if (use_amx) return columns_amx(g, static_cast<const int8_t*>(packed), lo, hi);
    if (use_vnni_packed) return columns_packed(g, static_cast<const int8_t*>(packed), lo, hi);
    if (use_pairs) return columns_pairs_avx2(g, static_cast<const int16_t*>(packed), a16, lo, hi);
    switch (kern) {
      case Int8Kernel::vnni: columns_vnni(g, lo, hi); break;
      case Int8Kernel::avx2: columns_avx2(g, lo, hi); break;
      default: columns_portable(g, lo, hi);
    }
  });
  return use_amx ? Int8Kernel::amx : kern;
}

/**
 * gemmInt8(GemmInt8Args fields: m, n, k, a, w, scales, sums, c, packed, beta, bias, relu):
 * c [m, n] = beta c + a [m, k] w^T (+ bias) (ReLU), w int8 [n, k] with per-row scales [n] and
 * row sums [n]; packed, when not null, the same w in VPDPBUSD's layout; beta 0 or 1; bias [n]
 * or null. Returns the kernel's name
 * ("avx512-vnni", "avx2", "portable"); an empty product computes nothing and names the kernel
 * that would run.
 */
Napi::Value GemmInt8(const Napi::CallbackInfo& info) {
  const Args A(info, "gemmInt8", 0);
  const Fields f(A, "gemmInt8");
  const int64_t m = f.size("m");
  const int64_t n = f.size("n");
  const int64_t k = f.size("k");
  if (k > kMaxK) A.fail("argument 'k' = " + std::to_string(k) + " exceeds " + std::to_string(kMaxK));
  const i128 mk = prod({m, k}), nk = prod({n, k}), mn = prod({m, n});
  if (mk > kMaxSafe || nk > kMaxSafe || mn > kMaxSafe) A.fail("the sizes are too large");
  const float* a = f.typed<float>("a", mk).p;
  const int8_t* w = f.typed<int8_t>("w", nk).p;
  const float* scales = f.typed<float>("scales", n).p;
  const int32_t* sums = f.typed<int32_t>("sums", n).p;
  float* c = f.typed<float>("c", mn).p;
  // The weights laid out for the kernel: an Int8Array in VPDPBUSD's layout (packInt8Vnni:
  // 16-column blocks of k bytes each) or an Int16Array in VPMADDWD's pair layout
  // (packInt8Pairs: 8-column blocks of k int16 each), or null.
  const Napi::Value pv = f["packed"];
  const bool has_packed = !pv.IsNull() && !pv.IsUndefined();
  const bool pairs = has_packed && pv.IsTypedArray() &&
                     pv.As<Napi::TypedArray>().TypedArrayType() == napi_int16_array;
  const int64_t multiple = pairs ? 2 : 4;
  if (has_packed && k % multiple != 0)
    A.fail("argument 'packed' needs k to be a multiple of " + std::to_string(multiple) +
           ", got k = " + std::to_string(k));
  const void* packed =
      pairs ? static_cast<const void*>(
                  f.typed_or_null<int16_t>("packed", prod({(n + 7) / 8, 8, k})).p)
            : static_cast<const void*>(
                  f.typed_or_null<int8_t>("packed", prod({(n + 15) / 16, 16, k})).p);
  const double beta = f.number("beta");
  if (beta != 0.0 && beta != 1.0) A.fail("argument 'beta' must be 0 or 1, got " + std::to_string(beta));
  const float* bias = A.typed_or_null<float>(f["bias"], "bias", n).p;
  const bool relu = f.boolean("relu");
  const Int8Kernel kern =
      gemm_int8(m, n, k, a, w, scales, sums, c, packed, pairs, beta == 1.0, bias, relu);
  return Napi::String::New(info.Env(), kernel_name(kern));
}

}  // namespace

void register_int8(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmInt8", Napi::Function::New(env, GemmInt8, "gemmInt8"));
}

}  // namespace mw
