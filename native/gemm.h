// Batched, strided GEMM on packed panels (GotoBLAS/BLIS structure) with a SIMD micro-kernel
// chosen at run time. See src/tensor/backend.ts (GemmArgs) for the contract.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace mw {

struct PackedB;

struct GemmParams {
  int64_t batch, m, n, k;
  bool transA, transB;
  float alpha, beta;
  const float* a;  // already offset by aOffset
  int64_t lda, strideA;
  const float* b;
  int64_t ldb, strideB;
  float* c;
  int64_t ldc, strideC;
  // Round op(A) and op(B) to bfloat16 (sums in float32) where the CPU multiplies bfloat16 fast
  // (gemm_bf16.cc); elsewhere, and on the small and skinny paths, the product is float32.
  bool bf16 = false;
  // B packed ahead (pack_weight) when b is that weight; used where it fits the call and the
  // kernel in use (else B is packed as usual): the same panels, so the same result.
  const PackedB* packed = nullptr;
  // Epilogue, applied to each element of C once its product is complete, while the block is
  // still in cache: C[i, j] += bias[j] (bias: n floats, or null), then C[i, j] = max(C[i, j], 0)
  // with relu. The same float32 operations as a separate add and ReLU pass over C.
  const float* bias = nullptr;
  bool relu = false;
  // With batch 1: row_sums[i] = sum over p of op(A)[i, p] (m floats), summed in double in p
  // order and rounded once, as the reduce kernel sums columns: an affine layer's bias gradient
  // (op(A) = g^T of its weight gradient g^T x), taken while A is packed instead of in a pass of
  // its own over g.
  float* row_sums = nullptr;
};

/**
 * A register-blocked micro-kernel: C[0:m, 0:n] = alpha * sum_p a[p*mr + i] * b[p*nr + j]
 * + beta * C (C not read when beta == 0), for m <= mr and n <= nr. `a` is a packed panel; b's
 * rows are `bs` apart (nr for a packed, zero-padded panel, or ldb when a non-transposed B is
 * read in place); all nr columns of each row are read.
 */
struct MicroKernel {
  const char* name;
  int mr, nr;
  int kc, mc, nc;  // cache blocking: kc x nr of B in L1, mc x kc of A in L2, kc x nc of B in L3
  void (*run)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
              float alpha, float beta, int64_t bs);
  /**
   * The same, then GemmParams' epilogue on the tile as it is stored: C[i, j] += bias[j] (bias
   * null: none), then ReLU: the float32 operations of the epilogue pass, so the same bits, for
   * a tile of the last k block. Null where the kernel has none (the epilogue then runs as a
   * pass over each finished block).
   */
  void (*run_epilogue)(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m,
                       int n, float alpha, float beta, int64_t bs, const float* bias, bool relu);
};

enum class Isa { portable = 0, avx2 = 1, avx512 = 2 };

const MicroKernel& kernel_portable();
const MicroKernel& kernel_avx2();
const MicroKernel& kernel_avx512();

/**
 * dst[p * dstride + i] = src[i * ld + p] for i < 16 (rows past `rows` read as 0) and p < kc,
 * writing `lanes` (<= 16) entries per p: the transposing half of GEMM packing, with AVX-512.
 */
void pack_transposed_avx512(const float* src, int64_t ld, int rows, int64_t kc, float* dst,
                            int64_t dstride, int lanes);

/** The same with AVX2, 8 rows (rows <= 8, lanes <= 8). */
void pack_transposed_avx2(const float* src, int64_t ld, int rows, int64_t kc, float* dst,
                          int64_t dstride, int lanes);

/** The best ISA this CPU runs. */
Isa cpu_isa();
/** The ISA GEMM and the peak probe use (the best one unless set lower for tests). */
Isa gemm_isa();
/** Selects a kernel; false when the CPU lacks it. */
bool set_gemm_isa(Isa isa);
const char* isa_name(Isa isa);
/** The float32 micro-kernel and cache blocking gemm() runs with now (MASKWISE_GEMM_BLOCKING
 * applied): what `maskwise info` reports. */
MicroKernel gemm_kernel_in_use();

void gemm(const GemmParams& g);
/**
 * Two independent products (neither reads what the other writes), with the same results as
 * gemm(g1) then gemm(g2). On a pool of two threads, when both are large enough to be split,
 * each runs whole on its own thread: a linear layer's dx = g W and dW = g^T x take the same
 * work, and a product on one thread packs its B once, where a product split by rows packs all
 * of B on each thread. Otherwise (other thread counts, small products) one after the other.
 */
void gemm_pair(const GemmParams& g1, const GemmParams& g2);

/**
 * A weight W [n, k] (a Linear weight, the B of C = A W^T) packed once into the panels the packed
 * path multiplies from: for each k block of kc, all n columns in zero-padded nr-wide panels laid
 * out [p][nr] (what gemm_tile packs into its buffer on every call, per thread). Held by a
 * weight that many products read (every step of a decoding run), it saves packing per call.
 */
struct PackedB {
  const float* src;
  int64_t n, k;
  Isa isa;
  int nr, kc;
  int64_t npad;  // n rounded up to nr
  std::vector<float> data;  // [ceil(k / kc) blocks][npad / nr panels][kc of the block][nr]
};
/** Packs W [n, k] (rows k apart) for the kernel now in use. */
std::unique_ptr<PackedB> pack_weight(const float* w, int64_t n, int64_t k);

/** Rows of A up to which a product with a transposed B takes the skinny path (gemm_skinny.cc). */
constexpr int64_t kSkinnyRows = 8;
/** Whether gemm_skinny handles g: m <= kSkinnyRows, A not transposed, B transposed, AVX-512 or
 * AVX2. */
bool gemm_skinny_applies(const GemmParams& g);
/** C = alpha * A B^T + beta * C for a few rows of A, streaming each row of B once. */
void gemm_skinny(const GemmParams& g);  // and its epilogue (bias, ReLU), applied as C is stored
/**
 * C [m, n] += A [m, k] W^T with W [n, k] stored as bfloat16 bits (the high halves of float32s)
 * and A rounded to bfloat16 (to nearest, ties to even); products exact, sums in float32. Rows
 * are contiguous (lda = ldw = k, ldc = n). With AVX512_BF16, VDPBF16PS; with AVX-512, the
 * gemm_skinny kernels streaming W; other CPUs take a scalar loop.
 */
void gemm_skinny_bf16(int64_t m, int64_t n, int64_t k, const float* A, const uint16_t* W,
                      float* C);
/** gemm_skinny's columns [j0, j1) of C on AVX2 (gemm_skinny_avx2.cc), B float32 or bfloat16
 * bits; g's alpha, beta and epilogue apply, its a, b and c are ignored for A, B and C. */
void gemm_skinny_columns_avx2(const GemmParams& g, const float* A, const float* B, float* C,
                              int64_t j0, int64_t j1);
void gemm_skinny_columns_avx2(const GemmParams& g, const float* A, const uint16_t* B, float* C,
                              int64_t j0, int64_t j1);
/** Lets gemm_skinny_bf16 and GemmParams.bf16 use VDPBF16PS (default) or not; returns whether
 * they will. */
bool set_gemm_bf16_dot(bool on);
/** Whether VDPBF16PS is in use: the CPU has AVX512_BF16, the AVX-512 ISA is selected, and
 * set_gemm_bf16_dot has not turned it off. */
bool bf16_dot_available();

/** gemm_tile for GemmParams.bf16 on VDPBF16PS: C[i0:i1, j0:j1] of one matrix (gemm_bf16.cc). */
void gemm_tile_bf16(const GemmParams& g, const float* A, const float* B, float* C, int64_t i0,
                    int64_t i1, int64_t j0, int64_t j1);
/** Its micro-tile: rows of A and columns of B. */
int gemm_bf16_mr();
int gemm_bf16_nr();

/** Whether gemm_tile_bf16 runs on AMX tiles (amx.h): opted in (MASKWISE_AMX=1 or
 * set_gemm_amx), VDPBF16PS available, and AMX-BF16 usable by this process. */
bool gemm_amx_in_use();
/** Opts the bfloat16 GEMM and the int8 product in or out of AMX (amx_opted_in); returns
 * gemm_amx_in_use(). */
bool set_gemm_amx(bool on);

/**
 * FMA peak of the selected ISA on every pool thread at once: independent FMA chains on
 * registers, enough of them to cover latency times throughput. Returns GFLOP/s. With bf16 (and
 * bf16_dot_available()), VDPBF16PS chains instead: the peak of the bfloat16 GEMM.
 */
double fma_peak_gflops(double seconds, bool bf16 = false);

}  // namespace mw
