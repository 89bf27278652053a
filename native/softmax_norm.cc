// Row-wise softmax / log-softmax and layer norm, forward and backward. Row statistics are
// accumulated in double as the reference does; rows are split over the pool.
#include <cmath>
#include <vector>

#include "fastexp.h"
#include "kernels.h"
#include "threadpool.h"

namespace mw {
namespace {

constexpr int64_t kGrain = 1 << 14;

inline int64_t row_grain(int64_t cols) { return cols >= kGrain ? 1 : kGrain / (cols + 1) + 1; }

// Math.max semantics: NaN anywhere gives NaN.
inline float js_max(float a, float b) { return (a != a || b != b) ? NAN : (a > b ? a : b); }

}  // namespace

void softmax(const float* x, float* out, int64_t rows, int64_t cols, bool log) {
  parallel_range(rows, row_grain(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const float* xr = x + r * cols;
      float* o = out + r * cols;
      float mx = -INFINITY;
      for (int64_t j = 0; j < cols; j++) mx = js_max(mx, xr[j]);
      double sum = 0;
      for (int64_t j = 0; j < cols; j++) sum += std::exp(static_cast<double>(xr[j]) - mx);
      if (log) {
        const double lse = mx + std::log(sum);
        for (int64_t j = 0; j < cols; j++) o[j] = static_cast<float>(xr[j] - lse);
      } else {
        const double inv = 1.0 / sum;
        for (int64_t j = 0; j < cols; j++)
          o[j] = static_cast<float>(std::exp(static_cast<double>(xr[j]) - mx) * inv);
      }
    }
  });
}

void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols,
                      bool log, bool acc) {
  parallel_range(rows, row_grain(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++) {
      const float* yr = y + r * cols;
      const float* g = dy + r * cols;
      float* d = dx + r * cols;
      double s = 0;
      if (log) {
        for (int64_t j = 0; j < cols; j++) s += g[j];
      } else {
        for (int64_t j = 0; j < cols; j++) s += static_cast<double>(g[j]) * yr[j];
      }
      const float sf = static_cast<float>(s);
      for (int64_t j = 0; j < cols; j++) {
        const float v = log ? g[j] - std::exp(yr[j]) * sf : yr[j] * (g[j] - sf);
        d[j] = acc ? d[j] + v : v;
      }
    }
  });
}

namespace {

// Row sums in double with eight independent accumulators: the same double precision as one
// running sum, but the adds overlap and vectorise (one running double sum is bound by the add
// latency, ~4 cycles an element).
constexpr int kLanes = 8;

MW_CLONES
void ln_row_forward(const float* __restrict xr, const float* __restrict gamma,
                    const float* __restrict beta, float* __restrict o, int64_t cols, double eps,
                    float* mean, float* rstd, bool rms) {
  double s[kLanes] = {0}, q[kLanes] = {0};
  const int64_t body = cols - cols % kLanes;
  double mu = 0;
  if (!rms) {
    for (int64_t j = 0; j < body; j += kLanes)
      for (int k = 0; k < kLanes; k++) s[k] += xr[j + k];
    for (int64_t j = body; j < cols; j++) s[0] += xr[j];
    for (int k = 0; k < kLanes; k++) mu += s[k];
    mu /= static_cast<double>(cols);
  }
  for (int64_t j = 0; j < body; j += kLanes)
    for (int k = 0; k < kLanes; k++) {
      const double t = xr[j + k] - mu;
      q[k] += t * t;
    }
  for (int64_t j = body; j < cols; j++) {
    const double t = xr[j] - mu;
    q[0] += t * t;
  }
  double var = 0;
  for (int k = 0; k < kLanes; k++) var += q[k];
  var /= static_cast<double>(cols);
  const double rs = 1.0 / std::sqrt(var + eps);
  *mean = static_cast<float>(mu);
  *rstd = static_cast<float>(rs);
  const float muf = static_cast<float>(mu), rsf = static_cast<float>(rs);
  if (rms)
    for (int64_t j = 0; j < cols; j++) o[j] = xr[j] * rsf * gamma[j];
  else
    for (int64_t j = 0; j < cols; j++) o[j] = (xr[j] - muf) * rsf * gamma[j] + beta[j];
}

// dx by rows: with xhat = (x - mu) * rstd and g = dy * gamma,
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
// and for the RMS norm (mu = 0, nothing subtracted forward) without the mean(g) term.
MW_CLONES
void ln_row_backward(const float* __restrict xr, const float* __restrict gamma,
                     const float* __restrict g, float* __restrict d, int64_t cols, float mu,
                     float rs, bool acc, bool rms) {
  double sg[kLanes] = {0}, sgx[kLanes] = {0};
  const int64_t body = cols - cols % kLanes;
  for (int64_t j = 0; j < body; j += kLanes)
    for (int k = 0; k < kLanes; k++) {
      const float xhat = (xr[j + k] - mu) * rs;
      const float gj = g[j + k] * gamma[j + k];
      sg[k] += gj;
      sgx[k] += static_cast<double>(gj) * xhat;
    }
  for (int64_t j = body; j < cols; j++) {
    const float xhat = (xr[j] - mu) * rs;
    const float gj = g[j] * gamma[j];
    sg[0] += gj;
    sgx[0] += static_cast<double>(gj) * xhat;
  }
  double tg = 0, tgx = 0;
  for (int k = 0; k < kLanes; k++) {
    tg += sg[k];
    tgx += sgx[k];
  }
  const float mg = rms ? 0.0f : static_cast<float>(tg / static_cast<double>(cols));
  const float mgx = static_cast<float>(tgx / static_cast<double>(cols));
  for (int64_t j = 0; j < cols; j++) {
    const float xhat = (xr[j] - mu) * rs;
    const float v = rs * (g[j] * gamma[j] - mg - xhat * mgx);
    d[j] = acc ? d[j] + v : v;
  }
}

/** dgamma and dbeta partial sums of columns [0, w) over `rows` rows of stride `cols`. */
MW_CLONES
void ln_param_sums(const float* x, const float* dy, const float* mean, const float* rstd,
                   int64_t rows, int64_t cols, int64_t w, double* __restrict sgam,
                   double* __restrict sbet) {
  for (int64_t r = 0; r < rows; r++) {
    const float* xr = x + r * cols;
    const float* g = dy + r * cols;
    const float mu = mean[r], rs = rstd[r];
    for (int64_t j = 0; j < w; j++) {
      sgam[j] += static_cast<double>(g[j]) * ((xr[j] - mu) * rs);
      sbet[j] += g[j];  // unused for the RMS norm (no beta); summing costs less than a branch
    }
  }
}

}  // namespace

void layer_norm(const float* x, const float* gamma, const float* beta, float* out, float* mean,
                float* rstd, int64_t rows, int64_t cols, double eps, bool rms) {
  parallel_range(rows, row_grain(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++)
      ln_row_forward(x + r * cols, gamma, beta, out + r * cols, cols, eps, mean + r, rstd + r,
                     rms);
  });
}

void layer_norm_backward(const float* x, const float* gamma, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgamma,
                         float* dbeta, int64_t rows, int64_t cols, bool acc, bool rms) {
  parallel_range(rows, row_grain(cols), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; r++)
      ln_row_backward(x + r * cols, gamma, dy + r * cols, dx + r * cols, cols, mean[r], rstd[r],
                      acc, rms);
  });
  // dgamma and dbeta by column ranges (each sums over all rows), so no two threads write the
  // same parameter gradient.
  parallel_range(cols, 64, [&](int64_t lo, int64_t hi) {
    const int64_t w = hi - lo;
    std::vector<double> sgam(static_cast<size_t>(w), 0.0), sbet(static_cast<size_t>(w), 0.0);
    ln_param_sums(x + lo, dy + lo, mean, rstd, rows, cols, w, sgam.data(), sbet.data());
    for (int64_t j = 0; j < w; j++) {
      dgamma[lo + j] += static_cast<float>(sgam[j]);
      if (dbeta != nullptr) dbeta[lo + j] += static_cast<float>(sbet[j]);
    }
  });
}

}  // namespace mw
