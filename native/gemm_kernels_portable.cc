// The portable micro-kernel: plain C++ the compiler vectorises with the baseline ISA.
#include "gemm.h"

namespace mw {
namespace {

constexpr int MR = 4;
constexpr int NR = 16;

template <int M>
void kern(int64_t kc, const float* __restrict a, const float* __restrict b, float* c,
          int64_t ldc, int n, float alpha, float beta, int64_t bs) {
  float acc[M][NR] = {};
  for (int64_t p = 0; p < kc; p++) {
    for (int i = 0; i < M; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += bs;
  }
  for (int i = 0; i < M; i++) {
    float* row = c + i * ldc;
    if (beta == 0.0f) {
      for (int j = 0; j < n; j++) row[j] = alpha * acc[i][j];
    } else {
      for (int j = 0; j < n; j++) row[j] = alpha * acc[i][j] + beta * row[j];
    }
  }
}

void run(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
         float alpha, float beta, int64_t bs) {
  switch (m) {
    case 1: return kern<1>(kc, a, b, c, ldc, n, alpha, beta, bs);
    case 2: return kern<2>(kc, a, b, c, ldc, n, alpha, beta, bs);
    case 3: return kern<3>(kc, a, b, c, ldc, n, alpha, beta, bs);
    default: return kern<4>(kc, a, b, c, ldc, n, alpha, beta, bs);
  }
}

}  // namespace

const MicroKernel& kernel_portable() {
  // No run_epilogue: gemm_tile applies the epilogue as a pass over each finished block.
  static const MicroKernel k{"portable", MR, NR, 256, 64, 1024, run, nullptr};
  return k;
}

}  // namespace mw
