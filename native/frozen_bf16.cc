// Products with a weight held only as bfloat16 (a frozen base layer, src/nn/layers.ts): the
// weight is widened to float32 a block of rows at a time into a scratch buffer that the float32
// GEMM (gemm.cc) then multiplies, so the arithmetic is the float32 product with the weight's
// exact float32 values (Backend.gemmBf16Weight in src/tensor/backend.ts) while no float32 copy
// of the whole weight ever exists. Widening is O(n k) against the product's O(m n k), so for the
// hundreds of rows of a training step it costs a few percent; a decoding step's few rows take
// gemm_skinny_bf16 instead.
#include <algorithm>
#include <cstring>
#include <vector>

#include "args.h"
#include "gemm.h"

namespace mw {
namespace {

// Float32 elements of one widened block (8 MB): large enough that each block is a full-size
// GEMM (hundreds of rows of the weight), small next to the weights themselves.
constexpr int64_t kBlockElems = int64_t{1} << 21;

void widen(const uint16_t* src, float* dst, int64_t count) {
  uint32_t* bits = reinterpret_cast<uint32_t*>(dst);
  for (int64_t i = 0; i < count; i++) bits[i] = uint32_t{src[i]} << 16;
}

}  // namespace

/**
 * C [m, n] = A [m, k] op(W) + beta C (beta 0 or 1; C not read when 0), W bfloat16 bits: [n, k]
 * used transposed when transW (y = x W^T), else [k, n] (dx = dy W). Rows contiguous.
 */
void gemm_bf16_weight(int64_t m, int64_t n, int64_t k, const float* A, const uint16_t* W,
                      bool transW, float* C, float beta, bool bf16) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0) std::fill(C, C + m * n, 0.0f);
    return;
  }
  static thread_local std::vector<float> scratch;
  GemmParams g;
  g.batch = 1;
  g.m = m;
  g.alpha = 1;
  g.transA = false;
  g.lda = k;
  g.strideA = g.strideB = g.strideC = 0;
  g.ldc = n;
  g.bf16 = bf16;
  if (transW) {
    // Blocks of output columns: W's rows j0..j1 give C[:, j0:j1].
    const int64_t rows = std::max<int64_t>(1, kBlockElems / k);
    scratch.resize(static_cast<size_t>(std::min(rows, n) * k));
    for (int64_t j0 = 0; j0 < n; j0 += rows) {
      const int64_t nb = std::min(rows, n - j0);
      widen(W + j0 * k, scratch.data(), nb * k);
      g.n = nb;
      g.k = k;
      g.transB = true;
      g.a = A;
      g.b = scratch.data();
      g.ldb = k;
      g.c = C + j0;
      g.beta = beta;
      gemm(g);
    }
  } else {
    // Blocks of the reduction: W's rows p0..p1 add A[:, p0:p1] W[p0:p1, :] to C.
    const int64_t rows = std::max<int64_t>(1, kBlockElems / n);
    scratch.resize(static_cast<size_t>(std::min(rows, k) * n));
    for (int64_t p0 = 0; p0 < k; p0 += rows) {
      const int64_t kb = std::min(rows, k - p0);
      widen(W + p0 * n, scratch.data(), kb * n);
      g.n = n;
      g.k = kb;
      g.transB = false;
      g.a = A + p0;
      g.b = scratch.data();
      g.ldb = n;
      g.c = C;
      g.beta = p0 == 0 ? beta : 1.0f;
      gemm(g);
    }
  }
}

namespace {

/** gemmBf16Weight(...GemmBf16WeightArgs fields): see gemm_bf16_weight. */
Napi::Value GemmBf16Weight(const Napi::CallbackInfo& info) {
  const Args A(info, "gemmBf16Weight", 0);
  const Fields f(A, "gemmBf16Weight");
  const int64_t m = f.size("m");
  const int64_t n = f.size("n");
  const int64_t k = f.size("k");
  const i128 mk = prod({m, k}), nk = prod({n, k}), mn = prod({m, n});
  if (mk > kMaxSafe || nk > kMaxSafe || mn > kMaxSafe) A.fail("the sizes are too large");
  const float* a = f.typed<float>("a", mk).p;
  const uint16_t* w = f.typed<uint16_t>("w", nk).p;
  const bool transW = f.boolean("transW");
  float* c = f.typed<float>("c", mn).p;
  const double beta = f.number("beta");
  if (beta != 0 && beta != 1) A.fail("beta must be 0 or 1, got " + num_text(beta));
  const bool bf16 = f.boolean("bf16");
  gemm_bf16_weight(m, n, k, a, w, transW, c, static_cast<float>(beta), bf16);
  return info.Env().Undefined();
}

}  // namespace

void register_frozen_bf16(Napi::Env env, Napi::Object exports) {
  exports.Set("gemmBf16Weight", Napi::Function::New(env, GemmBf16Weight, "gemmBf16Weight"));
}

}  // namespace mw
