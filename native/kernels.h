// The non-GEMM kernels of the Backend seam (src/tensor/backend.ts). Arguments arrive validated
// by addon.cc: every pointer covers every index the kernel touches.
#pragma once

#include <cstdint>
#include <vector>

namespace mw {

enum class Unary { neg, exp, log, sqrt, rsqrt, tanh, erf, relu, gelu, sigmoid, abs, gelu_new, silu };
enum class Binary { add, sub, mul, div, max, min };

// Each op under the name src/tensor/backend.ts gives it (UNARY_OPS, BINARY_OPS): the binding
// looks ops up by name, and the addon lists these names so that a test can compare the two lists.
template <class Op>
struct OpName {
  const char* name;
  Op op;
};
constexpr OpName<Unary> kUnaryOps[] = {
    {"neg", Unary::neg},   {"exp", Unary::exp},   {"log", Unary::log},
    {"sqrt", Unary::sqrt}, {"rsqrt", Unary::rsqrt}, {"tanh", Unary::tanh},
    {"erf", Unary::erf},   {"relu", Unary::relu}, {"gelu", Unary::gelu},
    {"sigmoid", Unary::sigmoid}, {"abs", Unary::abs}, {"gelu_new", Unary::gelu_new},
    {"silu", Unary::silu},
};
constexpr OpName<Binary> kBinaryOps[] = {
    {"add", Binary::add}, {"sub", Binary::sub}, {"mul", Binary::mul},
    {"div", Binary::div}, {"max", Binary::max}, {"min", Binary::min},
};

void unary(Unary op, const float* x, float* out, int64_t n);
void unary_backward(Unary op, const float* x, const float* y, const float* dy, float* dx,
                    int64_t n, bool accumulate);
// SwiGLU: out = silu(gate) * up; backward dgate (+)= (dy * up) * silu'(gate), dup (+)= dy *
// silu(gate) (either may be null), with the bits of unary silu and binary mul composed.
void swiglu(const float* gate, const float* up, float* out, int64_t n);
void swiglu_backward(const float* gate, const float* up, const float* dy, float* dgate,
                     float* dup, int64_t n, bool acc_gate, bool acc_up);
void binary(Binary op, const float* a, std::vector<int64_t> as, const float* b,
            std::vector<int64_t> bs, float* out, std::vector<int64_t> shape);
void reduce_sum(const float* x, float* out, int64_t outer, int64_t dim, int64_t inner);
void reduce_max(const float* x, float* out, int64_t outer, int64_t dim, int64_t inner);
void reduce_max_backward(const float* x, const float* y, const float* dy, float* dx,
                         int64_t outer, int64_t dim, int64_t inner);
void permute(const uint32_t* x, uint32_t* out, const std::vector<int64_t>& shape,
             const std::vector<int64_t>& perm);
void adamw(float* p, const float* g, float* m, float* v, int64_t n, double lr, double beta1,
           double beta2, double eps, double wd, double step);

/** out[i] = hash(seed, i) < threshold ? 0 : keep (dropoutHash in src/tensor/backend.ts). */
void dropout_mask(float* out, int64_t n, uint32_t seed, uint64_t threshold, float keep);

void softmax(const float* x, float* out, int64_t rows, int64_t cols, bool log);
void softmax_backward(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols,
                      bool log, bool accumulate);
// rms: the RMS norm (nothing subtracted, no beta: beta and dbeta may be null, mean is set to 0).
void layer_norm(const float* x, const float* gamma, const float* beta, float* out, float* mean,
                float* rstd, int64_t rows, int64_t cols, double eps, bool rms = false);
void layer_norm_backward(const float* x, const float* gamma, const float* mean,
                         const float* rstd, const float* dy, float* dx, float* dgamma,
                         float* dbeta, int64_t rows, int64_t cols, bool accumulate,
                         bool rms = false);

void cross_entropy(const float* logits, const int32_t* targets, float* loss, float* lse,
                   int64_t rows, int64_t V, int64_t ignore, double smoothing);
// With offset and vocab: logits are the columns offset .. offset + V - 1 of a vocabulary of
// `vocab` words (lse the whole row's, targets its words); vocab 0: the whole vocabulary is V.
void cross_entropy_backward(const float* logits, const int32_t* targets, const float* lse,
                            const float* dloss, float* dlogits, int64_t rows, int64_t V,
                            int64_t ignore, double smoothing, bool accumulate, int64_t offset = 0,
                            int64_t vocab = 0);
/** out[r] = table[ids[r]] (rows of cols floats); an id below 0 gives a row of zeros. */
void gather(const float* table, const int32_t* ids, float* out, int64_t rows, int64_t cols);
void scatter_add(const float* dout, const int32_t* ids, float* dtable, int64_t rows,
                 int64_t cols);

}  // namespace mw
