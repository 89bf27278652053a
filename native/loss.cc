// Cross-entropy with label smoothing and an ignore index, and the embedding gather/scatter-add.
// Targets and ids arrive range-checked by addon.cc.
//
// The V = 8000 rows of a language model's logits make cross-entropy a streaming kernel: each row
// is read once for the maximum and once for sum(exp) (forward), once more for the gradient. The
// loops keep 16 independent accumulators (one AVX-512 register) and use a polynomial exp; on CPUs
// with AVX2 the row loops are loss_avx2.cc's intrinsics (the same operations, which the compiler
// left partly scalar here). A row holding NaN or an infinity takes the exact scalar path instead,
// which reproduces the reference's NaN semantics.
#include <cmath>
#include <cstring>

#include "fastexp.h"
#include "gemm.h"
#include "kernels.h"
#include "loss_avx2.h"
#include "loss_lanes.h"
#include "threadpool.h"

namespace mw {
namespace {

constexpr int64_t kGrain = 1 << 14;
constexpr int kLanes = kLossLanes;
inline int64_t row_grain(int64_t cols) { return cols >= kGrain ? 1 : kGrain / (cols + 1) + 1; }
inline float js_max(float a, float b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }

/** The exact path (double sums, libm exp): rows with NaN or infinite logits. */
void row_lse_exact(const float* z, int64_t V, double& lse, double& zsum) {
  float mx = -INFINITY;
  for (int64_t j = 0; j < V; j++) mx = js_max(mx, z[j]);
  double sum = 0;
  zsum = 0;
  for (int64_t j = 0; j < V; j++) {
    sum += std::exp(static_cast<double>(z[j]) - mx);
    zsum += z[j];
  }
  lse = mx + std::log(sum);
}

/** log-sum-exp and sum of a finite row; false when the row holds a NaN or an infinity. */
MW_CLONES
bool row_lse_fast(const float* z, int64_t V, double& lse, double& zsum) {
  float mx[kLanes], chk[kLanes], zs[kLanes], s[kLanes];
  for (int k = 0; k < kLanes; k++) {
    mx[k] = -INFINITY;
    chk[k] = 0.0f;
    zs[k] = 0.0f;
    s[k] = 0.0f;
  }
  const int64_t body = V - V % kLanes;
  for (int64_t j = 0; j < body; j += kLanes) {
    for (int k = 0; k < kLanes; k++) {
      const float v = z[j + k];
      mx[k] = v > mx[k] ? v : mx[k];
      chk[k] += v * 0.0f;  // NaN once any element is NaN or infinite
      zs[k] += v;
    }
  }
  float m;
  double zt;
  if (!finish_first_pass(z, body, V, mx, chk, zs, m, zt)) return false;
  for (int64_t j = 0; j < body; j += kLanes)
    for (int k = 0; k < kLanes; k++) s[k] += fast_exp(z[j + k] - m);
  for (int64_t j = body; j < V; j++) s[0] += fast_exp(z[j] - m);
  lse = lanes_lse(s, m);
  zsum = zt;
  return true;
}

/** d[j] (+)= dl * (exp(z[j] - l) - off) for a row whose lse l is finite. */
MW_CLONES
void row_grad_fast(const float* z, float l, float dl, float off, float* d, int64_t V, bool acc) {
  if (acc) {
    for (int64_t j = 0; j < V; j++) d[j] += dl * (fast_exp(z[j] - l) - off);
  } else {
    for (int64_t j = 0; j < V; j++) d[j] = dl * (fast_exp(z[j] - l) - off);
  }
}

}  // namespace

void cross_entropy(const float* logits, const int32_t* targets, float* loss, float* lse,
                   int64_t rows, int64_t V, int64_t ignore, double eps) {
  const bool avx2 = gemm_isa() != Isa::portable;
  parallel_range(rows, row_grain(V), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const float* z = logits + r * V;
      double l = 0, zsum = 0;
      const bool finite = avx2 ? row_lse_avx2(z, V, l, zsum) : row_lse_fast(z, V, l, zsum);
      if (!finite) row_lse_exact(z, V, l, zsum);
      lse[r] = static_cast<float>(l);
      const int64_t t = targets[r];
      if (t == ignore) {
        loss[r] = 0.0f;
        continue;
      }
      loss[r] = static_cast<float>((1.0 - eps) * (l - z[t]) + eps * (l - zsum / V));
    }
  });
}

void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse,
                            const float* dloss, float* dlogits, int64_t rows, int64_t V,
                            int64_t ignore, double eps, bool acc, int64_t offset,
                            int64_t vocab) {
  if (vocab <= 0) vocab = V;
  const bool avx2 = gemm_isa() != Isa::portable;
  parallel_range(rows, row_grain(V), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const float* z = logits + r * V;
      float* d = dlogits + r * V;
      const int64_t t = targets[r];
      if (t == ignore) {
        if (!acc) std::memset(d, 0, static_cast<size_t>(V) * sizeof(float));
        continue;
      }
      const float l = lse[r], dl = dloss[r];
      const float off = static_cast<float>(eps / vocab);
      if (std::isfinite(l)) {
        if (avx2)
          row_grad_avx2(z, l, dl, off, d, V, acc);
        else
          row_grad_fast(z, l, dl, off, d, V, acc);
      } else {
        for (int64_t j = 0; j < V; j++) {
          const float g = dl * (std::exp(z[j] - l) - off);
          d[j] = acc ? d[j] + g : g;
        }
      }
      // The target's one-hot term, where the target is a word of this block.
      const float hit = dl * static_cast<float>(1.0 - eps);
      if (t >= offset && t < offset + V) d[t - offset] -= hit;
    }
  });
}

void gather(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t cols) {
  parallel_range(rows, row_grain(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      // An id of -1 (allowed by the binding with GatherArgs.zeroMissing) has no source row.
      if (ids[r] < 0)
        std::memset(out + r * cols, 0, static_cast<size_t>(cols) * sizeof(float));
      else
        std::memcpy(out + r * cols, table + static_cast<int64_t>(ids[r]) * cols,
                    static_cast<size_t>(cols) * sizeof(float));
    }
  });
}

void scatter_add(const float* dout, const int32_t* ids, float* dtable, int64_t rows,
                 int64_t cols) {
  // Repeated ids add into the same table row, so rows are not split across threads; columns
  // are (each thread owns a column range of every table row).
  parallel_range(cols, 256, [&](int64_t lo, int64_t hi) {
    for (int64_t r = 0; r < rows; r++) {
      float* dst = dtable + static_cast<int64_t>(ids[r]) * cols;
      const float* src = dout + r * cols;
      for (int64_t j = lo; j < hi; j++) dst[j] += src[j];
    }
  });
}

}  // namespace mw
