// Element-wise kernels, reductions, permute and the AdamW update: plain loops the compiler
// vectorises, split over the pool when large. Formulas mirror src/backend/reference.ts,
// including its NaN behaviour (max/min by comparison, NaN-propagating reduce-max).
#include <cmath>
#include <cstring>

#include "dropout_hash.h"
#include "fastexp.h"
#include "kernels.h"
#include "threadpool.h"

// No contraction of a * b + c into one fused multiply-add: the AVX-512 clones (MW_CLONES) would
// otherwise fuse where the AVX2 and baseline ones cannot, so a kernel's bits would depend on the
// CPU, and fused kernels (swiglu's dup += dy * silu(gate)) would part from the separate ops they
// stand for (silu, then mul's backward adding a rounded product), whose bits they promise.
#pragma GCC optimize("fp-contract=off")

namespace mw {
namespace {

constexpr int64_t kGrain = 1 << 15;  // elements per parallel chunk, at least
constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;
constexpr float kTwoOverSqrtPi = 1.12837916709551257390f;
constexpr float kSqrt2OverPi = 0.79788456080286535588f;
constexpr float kGeluNewCubic = 0.044715f;

template <class F>
void map1(const float* x, float* out, int64_t n, F f) {
  parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) out[i] = f(x[i]);
  });
}

template <class D>
void mapd(const float* x, const float* y, const float* dy, float* dx, int64_t n, bool acc, D d) {
  parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
    if (acc) {
      for (int64_t i = lo; i < hi; i++) dx[i] += dy[i] * d(x[i], y[i]);
    } else {
      for (int64_t i = lo; i < hi; i++) dx[i] = dy[i] * d(x[i], y[i]);
    }
  });
}

/**
 * The ReLU's gradient, the one backward that runs on every feed-forward activation of a step:
 * dx (+)= dy * [x > 0] (a product, not a select, so NaN and infinite dy give what the reference
 * gives). Written for the vector units, and safe when
 * dx is dy (the fused linear layer masks its output gradient in place), which is exactly the
 * overlap that sent the generic loop down its scalar path.
 */
MW_CLONES
void relu_backward(const float* x, const float* dy, float* dx, int64_t n, bool acc) {
  if (acc) {
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * (x[i] > 0.0f ? 1.0f : 0.0f);
  } else {
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : 0.0f);
  }
}

/**
 * SiLU, x sigmoid(x) = x / (1 + e^-x), in float with the vectorised exp (fastexp.h): the
 * activation of every SwiGLU feed-forward (Llama, Qwen2, Mistral), 2M elements a layer at 1,024
 * tokens, where libm's exp in double, one element at a time, took 6.5 ms a call forward and 9
 * backward on an AMD EPYC Zen 3. Past x = -88 e^-x is taken as infinite (fast_exp saturates),
 * so -inf gives NaN and large negative x gives -0, as the reference's double arithmetic does (to
 * within a float denormal).
 */
inline float exp_neg_saturating(float v) { return -v > 88.0f ? INFINITY : fast_exp(-v); }

MW_CLONES
void silu_forward(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = x[i] / (1.0f + exp_neg_saturating(x[i]));
}

/** SiLU's derivative s (1 + x (1 - s)), s = sigmoid(x), as silu_forward computes it. */
inline float silu_slope(float v) {
  const float sg = 1.0f / (1.0f + exp_neg_saturating(v));
  return sg * (1.0f + v * (1.0f - sg));
}

/** dx (+)= dy * silu_slope(x). */
MW_CLONES
void silu_backward(const float* x, const float* dy, float* dx, int64_t n, bool acc) {
  // Two loops, not a select per element: the accumulating one reads dx, which may be dy.
  if (acc) {
    for (int64_t i = 0; i < n; i++) dx[i] += dy[i] * silu_slope(x[i]);
  } else {
    for (int64_t i = 0; i < n; i++) dx[i] = dy[i] * silu_slope(x[i]);
  }
}

/** out = silu(gate) * up: silu_forward's value, rounded, times up (unary silu, then mul). */
MW_CLONES
void swiglu_chunk(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = (gate[i] / (1.0f + exp_neg_saturating(gate[i]))) * up[i];
}

/**
 * dgate (+)= (dy * up) * silu_slope(gate), dup (+)= dy * silu(gate): mul's backward, then
 * silu's, in one pass (either output may be null).
 */
MW_CLONES
void swiglu_backward_chunk(const float* gate, const float* up, const float* dy, float* dgate,
                           float* dup, int64_t n, bool acc_gate, bool acc_up) {
  // A loop per case, not a select per element (which keeps GCC from vectorising), as in
  // silu_backward.
  const auto silu = [](float v) { return v / (1.0f + exp_neg_saturating(v)); };
  if (dup != nullptr && acc_up) {
    for (int64_t i = 0; i < n; i++) dup[i] += dy[i] * silu(gate[i]);
  } else if (dup != nullptr) {
    for (int64_t i = 0; i < n; i++) dup[i] = dy[i] * silu(gate[i]);
  }
  if (dgate != nullptr && acc_gate) {
    for (int64_t i = 0; i < n; i++) dgate[i] += (dy[i] * up[i]) * silu_slope(gate[i]);
  } else if (dgate != nullptr) {
    for (int64_t i = 0; i < n; i++) dgate[i] = (dy[i] * up[i]) * silu_slope(gate[i]);
  }
}

/** acc[i] += sum_j x[j * ld + i] for i < cols, j < rows, in double (vectorised per target). */
MW_CLONES
void column_sums(const float* x, int64_t ld, int64_t rows, int64_t cols, double* acc) {
  for (int64_t j = 0; j < rows; j++) {
    const float* r = x + j * ld;
    for (int64_t i = 0; i < cols; i++) acc[i] += r[i];
  }
}

}  // namespace

void unary(Unary op, const float* x, float* out, int64_t n) {
  switch (op) {
    case Unary::neg: return map1(x, out, n, [](float v) { return -v; });
    case Unary::exp: return map1(x, out, n, [](float v) { return std::exp(v); });
    case Unary::log: return map1(x, out, n, [](float v) { return std::log(v); });
    case Unary::sqrt: return map1(x, out, n, [](float v) { return std::sqrt(v); });
    case Unary::rsqrt: return map1(x, out, n, [](float v) { return 1.0f / std::sqrt(v); });
    case Unary::tanh: return map1(x, out, n, [](float v) { return std::tanh(v); });
    case Unary::erf: return map1(x, out, n, [](float v) { return std::erf(v); });
    case Unary::relu: return map1(x, out, n, [](float v) { return v > 0.0f ? v : 0.0f; });
    case Unary::gelu:
      return map1(x, out, n, [](float v) { return 0.5f * v * (1.0f + std::erf(v * kInvSqrt2)); });
    case Unary::sigmoid:
      // In double: 1 / (1 + exp(-x)) underflows to a float denormal the reference also gets.
      return map1(x, out, n, [](float v) {
        return static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(v))));
      });
    case Unary::abs: return map1(x, out, n, [](float v) { return std::fabs(v); });
    case Unary::gelu_new:
      return map1(x, out, n, [](float v) {
        return 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + kGeluNewCubic * v * v * v)));
      });
    case Unary::silu:
      return parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
        silu_forward(x + lo, out + lo, hi - lo);
      });
  }
}

void unary_backward(Unary op, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, bool acc) {
  switch (op) {
    case Unary::neg: return mapd(x, y, dy, dx, n, acc, [](float, float) { return -1.0f; });
    case Unary::exp: return mapd(x, y, dy, dx, n, acc, [](float, float t) { return t; });
    case Unary::log: return mapd(x, y, dy, dx, n, acc, [](float v, float) { return 1.0f / v; });
    case Unary::sqrt: return mapd(x, y, dy, dx, n, acc, [](float, float t) { return 0.5f / t; });
    case Unary::rsqrt:
      return mapd(x, y, dy, dx, n, acc, [](float, float t) { return -0.5f * t * t * t; });
    case Unary::tanh:
      return mapd(x, y, dy, dx, n, acc, [](float, float t) { return 1.0f - t * t; });
    case Unary::erf:
      return mapd(x, y, dy, dx, n, acc,
                  [](float v, float) { return kTwoOverSqrtPi * std::exp(-v * v); });
    case Unary::relu:
      return parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
        relu_backward(x + lo, dy + lo, dx + lo, hi - lo, acc);
      });
    case Unary::gelu:
      return mapd(x, y, dy, dx, n, acc, [](float v, float) {
        return 0.5f * (1.0f + std::erf(v * kInvSqrt2)) + v * kInvSqrt2Pi * std::exp(-0.5f * v * v);
      });
    case Unary::sigmoid:
      return mapd(x, y, dy, dx, n, acc, [](float, float t) { return t * (1.0f - t); });
    case Unary::abs:
      return mapd(x, y, dy, dx, n, acc, [](float v, float) {
        return v > 0.0f ? 1.0f : v < 0.0f ? -1.0f : 0.0f;
      });
    case Unary::gelu_new:
      return mapd(x, y, dy, dx, n, acc, [](float v, float) {
        const float t = std::tanh(kSqrt2OverPi * (v + kGeluNewCubic * v * v * v));
        const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluNewCubic * v * v);
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * du;
      });
    case Unary::silu:
      return parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
        silu_backward(x + lo, dy + lo, dx + lo, hi - lo, acc);
      });
  }
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
    swiglu_chunk(gate + lo, up + lo, out + lo, hi - lo);
  });
}

void swiglu_backward(const float* gate, const float* up, const float* dy, float* dgate,
                     float* dup, int64_t n, bool acc_gate, bool acc_up) {
  parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
    swiglu_backward_chunk(gate + lo, up + lo, dy + lo, dgate ? dgate + lo : nullptr,
                          dup ? dup + lo : nullptr, hi - lo, acc_gate, acc_up);
  });
}

namespace {

// One output row of a broadcast binary op: out[j] = f(a[j * sa], b[j * sb]) for j < n, with the
// common stride patterns specialised so the compiler vectorises them.
template <class F>
inline void binary_row(const float* a, int64_t sa, const float* b, int64_t sb, float* out,
                       int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (int64_t j = 0; j < n; j++) out[j] = f(a[j], b[j]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t j = 0; j < n; j++) out[j] = f(a[j], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t j = 0; j < n; j++) out[j] = f(av, b[j]);
  } else {
    for (int64_t j = 0; j < n; j++) out[j] = f(a[j * sa], b[j * sb]);
  }
}

template <class F>
void binary_impl(const float* a, const std::vector<int64_t>& as, const float* b,
                 const std::vector<int64_t>& bs, float* out, const std::vector<int64_t>& shape,
                 F f) {
  const int rank = static_cast<int>(shape.size());
  int64_t size = 1;
  for (int64_t s : shape) size *= s;
  if (size == 0) return;
  if (rank == 0) {
    out[0] = f(a[0], b[0]);
    return;
  }
  const int64_t inner = shape[rank - 1];
  const int64_t sa = as[rank - 1], sb = bs[rank - 1];
  const int64_t rows = size / inner;
  // Rows are independent: split them (or, for one long row, the row itself) over the pool.
  if (rows == 1) {
    parallel_range(inner, kGrain, [&](int64_t lo, int64_t hi) {
      binary_row(a + lo * sa, sa, b + lo * sb, sb, out + lo, hi - lo, f);
    });
    return;
  }
  const int64_t grain = inner >= kGrain ? 1 : kGrain / inner;
  parallel_range(rows, grain, [&](int64_t lo, int64_t hi) {
    // Offsets of row `lo`, then an odometer over the outer axes.
    std::vector<int64_t> idx(rank > 1 ? rank - 1 : 1, 0);
    int64_t ai = 0, bi = 0, r = lo;
    for (int d = rank - 2; d >= 0; d--) {
      idx[d] = r % shape[d];
      r /= shape[d];
      ai += idx[d] * as[d];
      bi += idx[d] * bs[d];
    }
    for (int64_t row = lo; row < hi; row++) {
      binary_row(a + ai, sa, b + bi, sb, out + row * inner, inner, f);
      for (int d = rank - 2; d >= 0; d--) {
        idx[d]++;
        ai += as[d];
        bi += bs[d];
        if (idx[d] < shape[d]) break;
        ai -= as[d] * shape[d];
        bi -= bs[d] * shape[d];
        idx[d] = 0;
      }
    }
  });
}

// Drops axes of size 1 and merges neighbouring axes that are contiguous in both inputs, so that
// e.g. same-shape contiguous inputs become one long row and [B, T, D] + [D] becomes rows of D.
void simplify(std::vector<int64_t>& as, std::vector<int64_t>& bs, std::vector<int64_t>& shape) {
  std::vector<int64_t> na, nb, ns;
  for (size_t d = 0; d < shape.size(); d++) {
    if (shape[d] == 1) continue;
    if (!ns.empty() && na.back() == as[d] * shape[d] && nb.back() == bs[d] * shape[d]) {
      ns.back() *= shape[d];
      na.back() = as[d];
      nb.back() = bs[d];
    } else {
      ns.push_back(shape[d]);
      na.push_back(as[d]);
      nb.push_back(bs[d]);
    }
  }
  as.swap(na);
  bs.swap(nb);
  shape.swap(ns);
}

}  // namespace

void binary(Binary op, const float* a, std::vector<int64_t> as, const float* b,
            std::vector<int64_t> bs, float* out, std::vector<int64_t> shape) {
  for (int64_t s : shape)
    if (s == 0) return;
  simplify(as, bs, shape);
  switch (op) {
    case Binary::add:
      return binary_impl(a, as, b, bs, out, shape, [](float x, float y) { return x + y; });
    case Binary::sub:
      return binary_impl(a, as, b, bs, out, shape, [](float x, float y) { return x - y; });
    case Binary::mul:
      return binary_impl(a, as, b, bs, out, shape, [](float x, float y) { return x * y; });
    case Binary::div:
      return binary_impl(a, as, b, bs, out, shape, [](float x, float y) { return x / y; });
    case Binary::max:
      return binary_impl(a, as, b, bs, out, shape, [](float x, float y) { return x >= y ? x : y; });
    case Binary::min:
      return binary_impl(a, as, b, bs, out, shape, [](float x, float y) { return x <= y ? x : y; });
  }
}

void reduce_sum(const float* x, float* out, int64_t outer, int64_t dim, int64_t inner) {
  if (inner == 1) {
    // Contiguous rows: double accumulators, four of them so the adds overlap.
    parallel_range(outer, dim >= kGrain ? 1 : kGrain / (dim + 1), [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; o++) {
        const float* r = x + o * dim;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t j = 0;
        for (; j + 4 <= dim; j += 4) {
          s0 += r[j];
          s1 += r[j + 1];
          s2 += r[j + 2];
          s3 += r[j + 3];
        }
        for (; j < dim; j++) s0 += r[j];
        out[o] = static_cast<float>((s0 + s1) + (s2 + s3));
      }
    });
    return;
  }
  // Strided: sum whole rows of `inner` so the inner loop is contiguous and vectorises.
  const int64_t work = dim * inner;
  if (outer == 1 && work >= 2 * kGrain) {
    // One output row (a bias gradient: column sums of [rows, cols]): split the columns.
    parallel_range(inner, 64, [&](int64_t lo, int64_t hi) {
      std::vector<double> acc(static_cast<size_t>(hi - lo), 0.0);
      column_sums(x + lo, inner, dim, hi - lo, acc.data());
      for (int64_t i = lo; i < hi; i++) out[i] = static_cast<float>(acc[i - lo]);
    });
    return;
  }
  parallel_range(outer, work >= kGrain ? 1 : kGrain / (work + 1), [&](int64_t lo, int64_t hi) {
    std::vector<double> acc(static_cast<size_t>(inner));
    for (int64_t o = lo; o < hi; o++) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const float* base = x + o * dim * inner;
      for (int64_t j = 0; j < dim; j++) {
        const float* r = base + j * inner;
        for (int64_t i = 0; i < inner; i++) acc[i] += r[i];
      }
      for (int64_t i = 0; i < inner; i++) out[o * inner + i] = static_cast<float>(acc[i]);
    }
  });
}

void reduce_max(const float* x, float* out, int64_t outer, int64_t dim, int64_t inner) {
  const int64_t work = dim * inner;
  parallel_range(outer, work >= kGrain ? 1 : kGrain / (work + 1), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; o++) {
      float* dst = out + o * inner;
      for (int64_t i = 0; i < inner; i++) dst[i] = -INFINITY;
      const float* base = x + o * dim * inner;
      for (int64_t j = 0; j < dim; j++) {
        const float* r = base + j * inner;
        // As the reference: a NaN wins and then stays (NaN > v and v > NaN are both false).
        for (int64_t i = 0; i < inner; i++) {
          const float v = r[i];
          dst[i] = (v > dst[i] || v != v) ? v : dst[i];
        }
      }
    }
  });
}

void reduce_max_backward(const float* x, const float* y, const float* dy, float* dx,
                         int64_t outer, int64_t dim, int64_t inner) {
  const int64_t work = dim * inner;
  parallel_range(outer, work >= kGrain ? 1 : kGrain / (work + 1), [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; o++) {
      for (int64_t i = 0; i < inner; i++) {
        const float target = y[o * inner + i];
        for (int64_t j = 0; j < dim; j++) {
          const int64_t at = (o * dim + j) * inner + i;
          if (x[at] == target) {
            dx[at] += dy[o * inner + i];
            break;
          }
        }
      }
    }
  });
}

void permute(const uint32_t* x, uint32_t* out, const std::vector<int64_t>& shape,
             const std::vector<int64_t>& perm) {
  const int rank = static_cast<int>(shape.size());
  int64_t size = 1;
  for (int64_t s : shape) size *= s;
  if (size == 0) return;
  if (rank == 0) {
    out[0] = x[0];
    return;
  }
  std::vector<int64_t> in_strides(rank), oshape(rank), st(rank);
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) {
    in_strides[d] = s;
    s *= shape[d];
  }
  for (int d = 0; d < rank; d++) {
    oshape[d] = shape[perm[d]];
    st[d] = in_strides[perm[d]];
  }
  const int64_t inner = oshape[rank - 1];
  const int64_t si = st[rank - 1];
  const int64_t rows = size / inner;
  parallel_range(rows, inner >= kGrain ? 1 : kGrain / inner, [&](int64_t lo, int64_t hi) {
    std::vector<int64_t> idx(rank, 0);
    int64_t xi = 0, r = lo;
    for (int d = rank - 2; d >= 0; d--) {
      idx[d] = r % oshape[d];
      r /= oshape[d];
      xi += idx[d] * st[d];
    }
    for (int64_t row = lo; row < hi; row++) {
      uint32_t* dst = out + row * inner;
      const uint32_t* src = x + xi;
      if (si == 1) {
        std::memcpy(dst, src, static_cast<size_t>(inner) * sizeof(uint32_t));
      } else {
        for (int64_t j = 0; j < inner; j++) dst[j] = src[j * si];
      }
      for (int d = rank - 2; d >= 0; d--) {
        idx[d]++;
        xi += st[d];
        if (idx[d] < oshape[d]) break;
        xi -= st[d] * oshape[d];
        idx[d] = 0;
      }
    }
  });
}

namespace {

/**
 * AdamW on one chunk, in float: the bias corrections are folded into two per-step constants
 * (step size lr / bc1, and eps scaled by sqrt(bc2)), so each element costs one sqrt and one
 * division, and the loop vectorises (16 lanes with AVX-512; double arithmetic here took 3x
 * longer). Agrees with the reference's double arithmetic to float rounding.
 *   p -= lr * wd * p + (lr / bc1) * m / (sqrt(v / bc2) + eps)
 *      = p * (1 - lr * wd) - (lr * sqrt(bc2) / bc1) * m / (sqrt(v) + eps * sqrt(bc2))
 */
MW_CLONES
void adamw_chunk(float* __restrict p, const float* __restrict g, float* __restrict m,
                 float* __restrict v, int64_t n, float b1, float b2, float step_size,
                 float eps_hat, float decay) {
  const float c1 = 1.0f - b1, c2 = 1.0f - b2;
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = b1 * m[i] + c1 * gi;
    const float vi = b2 * v[i] + c2 * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] = p[i] * decay - step_size * mi / (std::sqrt(vi) + eps_hat);
  }
}

}  // namespace

void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1,
           double beta2, double eps, double wd, double step) {
  const double bc1 = 1.0 - std::pow(beta1, step);
  const double bc2 = 1.0 - std::pow(beta2, step);
  const double root = std::sqrt(bc2);
  const float step_size = static_cast<float>(lr * root / bc1);
  const float eps_hat = static_cast<float>(eps * root);
  const float decay = static_cast<float>(1.0 - lr * wd);
  parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
    adamw_chunk(p + lo, g + lo, m + lo, v + lo, hi - lo, static_cast<float>(beta1),
                static_cast<float>(beta2), step_size, eps_hat, decay);
  });
}

namespace {

/** out[i] = dropout_hash(seed, i0 + i) < threshold ? 0 : keep; integer ops only, so it vectorises. */
MW_CLONES
void dropout_chunk(float* __restrict out, int64_t i0, int64_t n, uint32_t seed,
                   uint64_t threshold, float keep) {
  for (int64_t i = 0; i < n; i++) {
    const uint32_t h = dropout_hash(seed, static_cast<uint32_t>(i0 + i));
    out[i] = static_cast<uint64_t>(h) < threshold ? 0.0f : keep;
  }
}

}  // namespace

void dropout_mask(float* out, int64_t n, uint32_t seed, uint64_t threshold, float keep) {
  parallel_range(n, kGrain, [&](int64_t lo, int64_t hi) {
    dropout_chunk(out + lo, lo, hi - lo, seed, threshold, keep);
  });
}

}  // namespace mw
