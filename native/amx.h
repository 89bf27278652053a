// AMX tiles for the bfloat16 GEMM (gemm_bf16.cc) and the int8 product (gemm_int8.cc): whether
// they may run, their configuration, and the tile operations the kernels use. AMX has eight tile
// registers of up to 16 rows of 64 bytes; TDPBF16PS adds to a float32 tile C [16, 16] the
// products of a bfloat16 tile A [16 rows, 16 pairs of k] and a tile B [16 pairs of k, 16
// columns, each a pair] (B in the "VNNI" layout: the two k of a pair side by side, which is how
// gemm_bf16.cc packs B already); TDPBUSD adds to an int32 tile the products of unsigned bytes A
// [16 rows, 64 k] and signed bytes B [16 groups of 4 k, 16 columns, each 4 bytes] (the layout of
// packInt8Vnni).
//
// In the MW_EMULATE_AVX512 test build (native/simd.h) the tiles are eight arrays per thread and
// the operations follow the Intel SDM's pseudocode (TDPBF16PS: for each pair of k, the even
// product added, then the odd, each rounded to float32; subnormal inputs and results as 0;
// TDPBUSD: four byte products summed into int32, wrapping), so
// the kernel's indexing is checked against the reference backend on any AVX2 machine. Tile
// numbers are compile-time constants in both builds, as the instructions require.
#pragma once

#include <cstddef>
#include <cstdint>

#include "simd.h"

namespace mw {

/** The 64-byte operand of LDTILECFG (palette 1). */
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of tile t
  uint8_t rows[16] = {};    // rows of tile t
};
static_assert(sizeof(TileConfig) == 64, "LDTILECFG reads 64 bytes");
static_assert(offsetof(TileConfig, colsb) == 16 && offsetof(TileConfig, rows) == 48,
              "the SDM's layout: palette, start row, 14 reserved bytes, colsb[16], rows[16]");

/**
 * Whether this CPU has AMX-TILE and AMX-BF16 (AMX-INT8) and Linux lets this process use them
 * (the first call asks, arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)); true in the
 * emulated build.
 */
bool amx_bf16_usable();
bool amx_int8_usable();

/** Whether the products may use AMX at all: off unless MASKWISE_AMX=1 or set_amx_opted_in. */
bool amx_opted_in();
void set_amx_opted_in(bool on);

}  // namespace mw

#ifdef MW_EMULATE_AVX512

#include <cstring>

namespace mw_emu_amx {

struct Tile {
  int rows = 0, colsb = 0;
  alignas(64) unsigned char data[16 * 64] = {};
};
inline thread_local Tile tiles[8];

inline void load_config(const mw::TileConfig* c) {
  for (int t = 0; t < 8; t++) {
    tiles[t].rows = c->rows[t];
    tiles[t].colsb = c->colsb[t];
    std::memset(tiles[t].data, 0, sizeof tiles[t].data);
  }
}
inline void load(int t, const void* base, int64_t stride) {
  Tile& x = tiles[t];
  std::memset(x.data, 0, sizeof x.data);
  for (int r = 0; r < x.rows; r++)
    std::memcpy(x.data + r * 64, static_cast<const unsigned char*>(base) + r * stride, x.colsb);
}
inline void store(int t, void* base, int64_t stride) {
  const Tile& x = tiles[t];
  for (int r = 0; r < x.rows; r++)
    std::memcpy(static_cast<unsigned char*>(base) + r * stride, x.data + r * 64, x.colsb);
}
inline void zero(int t) { std::memset(tiles[t].data, 0, sizeof tiles[t].data); }
inline float fp32_of_bf16(const unsigned char* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return mw_emu::from_bf16(h);
}
inline void dpbusd(int d, int a, int b) {
  Tile &C = tiles[d], &A = tiles[a], &B = tiles[b];
  for (int m = 0; m < C.rows; m++) {
    unsigned char* row = C.data + m * 64;
    for (int k = 0; k < A.colsb / 4; k++)
      for (int n = 0; n < C.colsb / 4; n++) {
        uint32_t s;
        std::memcpy(&s, row + 4 * n, 4);
        for (int t = 0; t < 4; t++) {
          const uint32_t x = A.data[m * 64 + 4 * k + t];
          const int32_t y = static_cast<int8_t>(B.data[k * 64 + 4 * n + t]);
          s += x * static_cast<uint32_t>(y);
        }
        std::memcpy(row + 4 * n, &s, 4);
      }
  }
}
inline void dpbf16ps(int d, int a, int b) {
  Tile &C = tiles[d], &A = tiles[a], &B = tiles[b];
  for (int m = 0; m < C.rows; m++) {
    float* row = reinterpret_cast<float*>(C.data + m * 64);
    for (int k = 0; k < A.colsb / 4; k++)
      for (int n = 0; n < C.colsb / 4; n++) {
        const unsigned char* x = A.data + m * 64 + 4 * k;
        const unsigned char* y = B.data + k * 64 + 4 * n;
        float s = mw_emu::flush(row[n]);
        s = mw_emu::flush(s + fp32_of_bf16(x) * fp32_of_bf16(y));
        s = mw_emu::flush(s + fp32_of_bf16(x + 2) * fp32_of_bf16(y + 2));
        row[n] = s;
      }
  }
}

}  // namespace mw_emu_amx

#define MW_AMX MW_TARGET("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,amx-tile,amx-bf16")
#define MW_AMX_INT8 MW_TARGET("avx512f,avx512vl,avx512bw,avx512vnni,amx-tile,amx-int8")
#define MW_TILE_CONFIG(cfg) mw_emu_amx::load_config(cfg)
#define MW_TILE_LOAD(t, base, stride) mw_emu_amx::load(t, base, stride)
#define MW_TILE_STORE(t, base, stride) mw_emu_amx::store(t, base, stride)
#define MW_TILE_ZERO(t) mw_emu_amx::zero(t)
#define MW_TILE_DPBF16PS(d, a, b) mw_emu_amx::dpbf16ps(d, a, b)
#define MW_TILE_DPBUSD(d, a, b) mw_emu_amx::dpbusd(d, a, b)
#define MW_TILE_RELEASE() ((void)0)

#else

// GCC's tile intrinsics are asm statements that name the address but not the memory behind it,
// so a compiler barrier before each load and after each store keeps the packing's stores and
// the reads of the stored tiles in program order around them.
#define MW_AMX MW_TARGET("avx512f,avx512vl,avx512dq,avx512bw,avx512bf16,amx-tile,amx-bf16")
#define MW_AMX_INT8 MW_TARGET("avx512f,avx512vl,avx512bw,avx512vnni,amx-tile,amx-int8")
#define MW_TILE_CONFIG(cfg) _tile_loadconfig(cfg)
#define MW_TILE_LOAD(t, base, stride) \
  do {                                \
    __asm__ volatile("" ::: "memory"); \
    _tile_loadd(t, base, stride);     \
  } while (0)
#define MW_TILE_STORE(t, base, stride) \
  do {                                 \
    _tile_stored(t, base, stride);     \
    __asm__ volatile("" ::: "memory"); \
  } while (0)
#define MW_TILE_ZERO(t) _tile_zero(t)
#define MW_TILE_DPBF16PS(d, a, b) _tile_dpbf16ps(d, a, b)
#define MW_TILE_DPBUSD(d, a, b) _tile_dpbusd(d, a, b)
#define MW_TILE_RELEASE() _tile_release()

#endif
