// Cross-entropy with label smoothing and an ignore index, and the embedding gather/scatter-add.
// Targets and ids arrive range-checked by addon.cc.
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "threadpool.h"

namespace mw {
namespace {

constexpr int64_t kGrain = 1 << 14;
inline int64_t row_grain(int64_t cols) { return cols >= kGrain ? 1 : kGrain / (cols + 1) + 1; }
inline float js_max(float a, float b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }

}  // namespace

void cross_entropy(const float* logits, const int32_t* targets, float* loss, float* lse,
                   int64_t rows, int64_t V, int64_t ignore, double eps) {
  parallel_range(rows, row_grain(V), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const float* z = logits + r * V;
      float mx = -INFINITY;
      for (int64_t j = 0; j < V; j++) mx = js_max(mx, z[j]);
      double sum = 0, zsum = 0;
      for (int64_t j = 0; j < V; j++) {
        sum += std::exp(static_cast<double>(z[j]) - mx);
        zsum += z[j];
      }
      const double l = mx + std::log(sum);
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
                            int64_t ignore, double eps, bool acc) {
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
      const float off = static_cast<float>(eps / V);
      for (int64_t j = 0; j < V; j++) {
        const float g = dl * (std::exp(z[j] - l) - off);
        d[j] = acc ? d[j] + g : g;
      }
      const float hit = dl * static_cast<float>(1.0 - eps);
      d[t] -= hit;
    }
  });
}

void gather(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t cols) {
  parallel_range(rows, row_grain(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++)
      std::memcpy(out + r * cols, table + static_cast<int64_t>(ids[r]) * cols,
                  static_cast<size_t>(cols) * sizeof(float));
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
