// N-API bindings: argument validation (native/args.h) and dispatch to the kernels. Every
// argument is checked (type, integer range, and that each array covers the largest index the
// kernel will touch given the sizes, strides and offsets) before any kernel runs, so no call
// from JavaScript, however wrong, can read or write outside its arrays or crash the process: it
// throws an Error whose message names the kernel and the argument.
#include <napi.h>

#include <cmath>
#include <string>
#include <vector>

#include "args.h"
#include "gemm.h"
#include "kernels.h"
#include "threadpool.h"

namespace mw {
// Fused attention (attention_binding.cc).
void register_attention(Napi::Env env, Napi::Object exports);
// Incremental decoding kernels (decode_binding.cc).
void register_decode(Napi::Env env, Napi::Object exports);
// The int8 decoding product (gemm_int8.cc).
void register_int8(Napi::Env env, Napi::Object exports);
}  // namespace mw

namespace {

using mw::Args;
using mw::i128;
using mw::num_text;
using mw::prod;
using mw::View;

/** The op named `s` in `table` (kernels.h), or an error naming the kind of op. */
template <class Op, size_t N>
Op op_named(const Args& a, const mw::OpName<Op> (&table)[N], const std::string& s,
            const char* kind) {
  for (const auto& entry : table)
    if (s == entry.name) return entry.op;
  a.fail(std::string("unknown ") + kind + " op '" + s + "'");
}

mw::Unary unary_op(const Args& a, const std::string& s) {
  return op_named(a, mw::kUnaryOps, s, "unary");
}

mw::Binary binary_op(const Args& a, const std::string& s) {
  return op_named(a, mw::kBinaryOps, s, "binary");
}

/** {unary: [...], binary: [...]}: the op names the addon knows (compared with backend.ts). */
Napi::Value ElementwiseOps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto list = [&](const auto& table) {
    Napi::Array a = Napi::Array::New(env);
    uint32_t i = 0;
    for (const auto& entry : table) a.Set(i++, Napi::String::New(env, entry.name));
    return a;
  };
  Napi::Object out = Napi::Object::New(env);
  out.Set("unary", list(mw::kUnaryOps));
  out.Set("binary", list(mw::kBinaryOps));
  return out;
}

// ---- GEMM ----

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Args A(info, "gemm", 21);
  mw::GemmParams g;
  g.batch = A.size(0, "batch");
  g.m = A.size(1, "m");
  g.n = A.size(2, "n");
  g.k = A.size(3, "k");
  g.transA = A.boolean(4, "transA");
  g.transB = A.boolean(5, "transB");
  g.alpha = static_cast<float>(A.number(6, "alpha"));
  g.beta = static_cast<float>(A.number(7, "beta"));
  auto a = A.f32(8, "a");
  const int64_t aOff = A.size(9, "aOffset");
  g.lda = A.size(10, "lda");
  g.strideA = A.size(11, "strideA");
  auto b = A.f32(12, "b");
  const int64_t bOff = A.size(13, "bOffset");
  g.ldb = A.size(14, "ldb");
  g.strideB = A.size(15, "strideB");
  auto c = A.f32(16, "c");
  const int64_t cOff = A.size(17, "cOffset");
  g.ldc = A.size(18, "ldc");
  g.strideC = A.size(19, "strideC");
  g.bf16 = A.boolean(20, "bf16");
  if (g.batch == 0 || g.m == 0 || g.n == 0) return info.Env().Undefined();
  const i128 bl = g.batch - 1, ml = g.m - 1, nl = g.n - 1, kl = g.k - 1;
  A.need(c, "c", i128{cOff} + bl * g.strideC + ml * g.ldc + nl + 1);
  if (g.k > 0) {
    A.need(a, "a",
           i128{aOff} + bl * g.strideA + (g.transA ? ml + kl * g.lda : ml * g.lda + kl) + 1);
    A.need(b, "b",
           i128{bOff} + bl * g.strideB + (g.transB ? kl + nl * g.ldb : kl * g.ldb + nl) + 1);
  }
  g.a = a.p + (g.k > 0 ? aOff : 0);
  g.b = b.p + (g.k > 0 ? bOff : 0);
  g.c = c.p + cOff;
  mw::gemm(g);
  return info.Env().Undefined();
}

// ---- element-wise ----

Napi::Value Unary(const Napi::CallbackInfo& info) {
  Args A(info, "unary", 4);
  const auto op = unary_op(A, A.str(0, "op"));
  auto x = A.f32(1, "x");
  auto out = A.f32(2, "out");
  const int64_t n = A.size(3, "n");
  A.need(x, "x", n);
  A.need(out, "out", n);
  mw::unary(op, x.p, out.p, n);
  return info.Env().Undefined();
}

Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  Args A(info, "unaryBackward", 7);
  const auto op = unary_op(A, A.str(0, "op"));
  auto x = A.f32(1, "x");
  auto y = A.f32(2, "y");
  auto dy = A.f32(3, "dy");
  auto dx = A.f32(4, "dx");
  const int64_t n = A.size(5, "n");
  const bool acc = A.boolean(6, "accumulate");
  A.need(x, "x", n);
  A.need(y, "y", n);
  A.need(dy, "dy", n);
  A.need(dx, "dx", n);
  mw::unary_backward(op, x.p, y.p, dy.p, dx.p, n, acc);
  return info.Env().Undefined();
}

// The range of indices idx . strides over `shape` must lie in [0, len).
void need_strided(const Args& A, const View<float>& a, const char* name,
                  const std::vector<int64_t>& strides, const std::vector<int64_t>& shape) {
  i128 lo = 0, hi = 0;
  for (size_t d = 0; d < shape.size(); d++) {
    const i128 span = static_cast<i128>(shape[d] - 1) * strides[d];
    if (span < 0) lo += span; else hi += span;
  }
  if (lo < 0)
    A.fail(std::string("strides '") + name + "Strides' reach index " +
           num_text(static_cast<double>(lo)) + ", below 0");
  A.need(a, name, hi + 1);
}

Napi::Value Binary(const Napi::CallbackInfo& info) {
  Args A(info, "binary", 7);
  const auto op = binary_op(A, A.str(0, "op"));
  auto a = A.f32(1, "a");
  auto as = A.ints(2, "aStrides", false);
  auto b = A.f32(3, "b");
  auto bs = A.ints(4, "bStrides", false);
  auto out = A.f32(5, "out");
  auto shape = A.ints(6, "shape", true);
  if (as.size() != shape.size() || bs.size() != shape.size())
    A.fail("aStrides, bStrides and shape must have the same length, got " +
           std::to_string(as.size()) + ", " + std::to_string(bs.size()) + " and " +
           std::to_string(shape.size()));
  i128 size = 1;
  for (int64_t s : shape) size = s == 0 ? 0 : (size > (i128{1} << 80) ? size : size * s);
  if (size == 0) return info.Env().Undefined();
  A.need(out, "out", size);
  need_strided(A, a, "a", as, shape);
  need_strided(A, b, "b", bs, shape);
  mw::binary(op, a.p, as, b.p, bs, out.p, shape);
  return info.Env().Undefined();
}

Napi::Value Reduce(const Napi::CallbackInfo& info) {
  Args A(info, "reduce", 6);
  const std::string op = A.str(0, "op");
  if (op != "sum" && op != "max") A.fail("unknown reduce op '" + op + "'");
  auto x = A.f32(1, "x");
  auto out = A.f32(2, "out");
  const int64_t outer = A.size(3, "outer"), dim = A.size(4, "dim"), inner = A.size(5, "inner");
  A.need(x, "x", prod({outer, dim, inner}));
  A.need(out, "out", prod({outer, inner}));
  if (op == "sum")
    mw::reduce_sum(x.p, out.p, outer, dim, inner);
  else
    mw::reduce_max(x.p, out.p, outer, dim, inner);
  return info.Env().Undefined();
}

Napi::Value ReduceMaxBackward(const Napi::CallbackInfo& info) {
  Args A(info, "reduceMaxBackward", 7);
  auto x = A.f32(0, "x");
  auto y = A.f32(1, "y");
  auto dy = A.f32(2, "dy");
  auto dx = A.f32(3, "dx");
  const int64_t outer = A.size(4, "outer"), dim = A.size(5, "dim"), inner = A.size(6, "inner");
  A.need(x, "x", prod({outer, dim, inner}));
  A.need(dx, "dx", prod({outer, dim, inner}));
  A.need(y, "y", prod({outer, inner}));
  A.need(dy, "dy", prod({outer, inner}));
  mw::reduce_max_backward(x.p, y.p, dy.p, dx.p, outer, dim, inner);
  return info.Env().Undefined();
}

Napi::Value Permute(const Napi::CallbackInfo& info) {
  Args A(info, "permute", 4);
  const Napi::Value xv = info[0], ov = info[1];
  const bool f32 = xv.IsTypedArray() &&
                   xv.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
  View<uint32_t> x, out;
  if (f32) {
    auto xf = A.f32(0, "x");
    auto of = A.f32(1, "out");
    x = {reinterpret_cast<uint32_t*>(xf.p), xf.len};
    out = {reinterpret_cast<uint32_t*>(of.p), of.len};
  } else {
    if (!xv.IsTypedArray() || xv.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      A.bad(info[0], "x", "a Float32Array or an Int32Array");
    if (!ov.IsTypedArray() || ov.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      A.bad(info[1], "out", "an Int32Array (as x)");
    auto xi = A.i32(0, "x");
    auto oi = A.i32(1, "out");
    x = {reinterpret_cast<uint32_t*>(xi.p), xi.len};
    out = {reinterpret_cast<uint32_t*>(oi.p), oi.len};
  }
  auto shape = A.ints(2, "shape", true);
  auto perm = A.ints(3, "perm", true);
  if (perm.size() != shape.size())
    A.fail("perm has " + std::to_string(perm.size()) + " entries for a shape of rank " +
           std::to_string(shape.size()));
  std::vector<bool> seen(shape.size(), false);
  for (int64_t p : perm) {
    if (p >= static_cast<int64_t>(shape.size()) || seen[p])
      A.fail("perm must be a permutation of 0.." + std::to_string(shape.size()) +
             " - 1, got an entry " + std::to_string(p));
    seen[p] = true;
  }
  i128 size = 1;
  for (int64_t s : shape) size = s == 0 ? 0 : (size > (i128{1} << 80) ? size : size * s);
  A.need(x, "x", size);
  A.need(out, "out", size);
  if (size > 0) mw::permute(x.p, out.p, shape, perm);
  return info.Env().Undefined();
}

Napi::Value Adamw(const Napi::CallbackInfo& info) {
  Args A(info, "adamw", 11);
  auto p = A.f32(0, "p");
  auto g = A.f32(1, "g");
  auto m = A.f32(2, "m");
  auto v = A.f32(3, "v");
  const int64_t n = A.size(4, "n");
  const double lr = A.number(5, "lr"), b1 = A.number(6, "beta1"), b2 = A.number(7, "beta2");
  const double eps = A.number(8, "eps"), wd = A.number(9, "weightDecay");
  const double step = A.number(10, "step");
  A.need(p, "p", n);
  A.need(g, "g", n);
  A.need(m, "m", n);
  A.need(v, "v", n);
  mw::adamw(p.p, g.p, m.p, v.p, n, lr, b1, b2, eps, wd, step);
  return info.Env().Undefined();
}

Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  Args A(info, "dropoutMask", 5);
  auto out = A.f32(0, "out");
  const int64_t n = A.size(1, "n");
  const int64_t seed = A.size(2, "seed");
  const int64_t threshold = A.size(3, "threshold");
  const double keep = A.number(4, "keep");
  A.need(out, "out", n);
  if (seed > 0xffffffffLL) A.bad(info[2], "seed", "an unsigned 32-bit integer");
  if (threshold > 0x100000000LL) A.bad(info[3], "threshold", "an integer in [0, 2^32]");
  mw::dropout_mask(out.p, n, static_cast<uint32_t>(seed), static_cast<uint64_t>(threshold),
                   static_cast<float>(keep));
  return info.Env().Undefined();
}

// ---- softmax, layer norm ----

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  Args A(info, "softmax", 5);
  auto x = A.f32(0, "x");
  auto out = A.f32(1, "out");
  const int64_t rows = A.size(2, "rows"), cols = A.size(3, "cols");
  const bool log = A.boolean(4, "log");
  A.need(x, "x", prod({rows, cols}));
  A.need(out, "out", prod({rows, cols}));
  mw::softmax(x.p, out.p, rows, cols, log);
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  Args A(info, "softmaxBackward", 7);
  auto y = A.f32(0, "y");
  auto dy = A.f32(1, "dy");
  auto dx = A.f32(2, "dx");
  const int64_t rows = A.size(3, "rows"), cols = A.size(4, "cols");
  const bool log = A.boolean(5, "log"), acc = A.boolean(6, "accumulate");
  A.need(y, "y", prod({rows, cols}));
  A.need(dy, "dy", prod({rows, cols}));
  A.need(dx, "dx", prod({rows, cols}));
  mw::softmax_backward(y.p, dy.p, dx.p, rows, cols, log, acc);
  return info.Env().Undefined();
}

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  Args A(info, "layerNorm", 9);
  auto x = A.f32(0, "x");
  auto gamma = A.f32(1, "gamma");
  auto beta = A.f32(2, "beta");
  auto out = A.f32(3, "out");
  auto mean = A.f32(4, "mean");
  auto rstd = A.f32(5, "rstd");
  const int64_t rows = A.size(6, "rows"), cols = A.size(7, "cols");
  const double eps = A.number(8, "eps");
  A.need(x, "x", prod({rows, cols}));
  A.need(out, "out", prod({rows, cols}));
  if (rows > 0) {
    A.need(gamma, "gamma", cols);
    A.need(beta, "beta", cols);
  }
  A.need(mean, "mean", rows);
  A.need(rstd, "rstd", rows);
  mw::layer_norm(x.p, gamma.p, beta.p, out.p, mean.p, rstd.p, rows, cols, eps);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args A(info, "layerNormBackward", 11);
  auto x = A.f32(0, "x");
  auto gamma = A.f32(1, "gamma");
  auto mean = A.f32(2, "mean");
  auto rstd = A.f32(3, "rstd");
  auto dy = A.f32(4, "dy");
  auto dx = A.f32(5, "dx");
  auto dgamma = A.f32(6, "dgamma");
  auto dbeta = A.f32(7, "dbeta");
  const int64_t rows = A.size(8, "rows"), cols = A.size(9, "cols");
  const bool acc = A.boolean(10, "accumulate");
  A.need(x, "x", prod({rows, cols}));
  A.need(dy, "dy", prod({rows, cols}));
  A.need(dx, "dx", prod({rows, cols}));
  if (rows > 0) {
    A.need(gamma, "gamma", cols);
    A.need(dgamma, "dgamma", cols);
    A.need(dbeta, "dbeta", cols);
  }
  A.need(mean, "mean", rows);
  A.need(rstd, "rstd", rows);
  mw::layer_norm_backward(x.p, gamma.p, mean.p, rstd.p, dy.p, dx.p, dgamma.p, dbeta.p, rows,
                          cols, acc);
  return info.Env().Undefined();
}

// ---- losses and embeddings ----

void check_targets(const Args& A, const View<int32_t>& t, int64_t rows, int64_t V,
                   int64_t ignore) {
  for (int64_t r = 0; r < rows; r++) {
    const int64_t v = t.p[r];
    if (v != ignore && (v < 0 || v >= V))
      A.fail("target " + std::to_string(v) + " at row " + std::to_string(r) + " is outside [0, " +
                 std::to_string(V) + ")",
             "E_INDEX");
  }
}

void check_ids(const Args& A, const View<int32_t>& ids, int64_t rows, int64_t numRows) {
  for (int64_t r = 0; r < rows; r++) {
    const int64_t v = ids.p[r];
    if (v < 0 || v >= numRows)
      A.fail("index " + std::to_string(v) + " at position " + std::to_string(r) +
                 " is outside [0, " + std::to_string(numRows) + ")",
             "E_INDEX");
  }
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  Args A(info, "crossEntropy", 8);
  auto logits = A.f32(0, "logits");
  auto targets = A.i32(1, "targets");
  auto loss = A.f32(2, "loss");
  auto lse = A.f32(3, "lse");
  const int64_t rows = A.size(4, "rows"), V = A.size(5, "V");
  const int64_t ignore = A.integer(6, "ignoreIndex");
  const double smoothing = A.number(7, "smoothing");
  A.need(logits, "logits", prod({rows, V}));
  A.need(targets, "targets", rows);
  A.need(loss, "loss", rows);
  A.need(lse, "lse", rows);
  check_targets(A, targets, rows, V, ignore);
  mw::cross_entropy(logits.p, targets.p, loss.p, lse.p, rows, V, ignore, smoothing);
  return info.Env().Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  Args A(info, "crossEntropyBackward", 10);
  auto logits = A.f32(0, "logits");
  auto targets = A.i32(1, "targets");
  auto lse = A.f32(2, "lse");
  auto dloss = A.f32(3, "dloss");
  auto dlogits = A.f32(4, "dlogits");
  const int64_t rows = A.size(5, "rows"), V = A.size(6, "V");
  const int64_t ignore = A.integer(7, "ignoreIndex");
  const double smoothing = A.number(8, "smoothing");
  const bool acc = A.boolean(9, "accumulate");
  A.need(logits, "logits", prod({rows, V}));
  A.need(dlogits, "dlogits", prod({rows, V}));
  A.need(targets, "targets", rows);
  A.need(lse, "lse", rows);
  A.need(dloss, "dloss", rows);
  check_targets(A, targets, rows, V, ignore);
  mw::cross_entropy_backward(logits.p, targets.p, lse.p, dloss.p, dlogits.p, rows, V, ignore,
                             smoothing, acc);
  return info.Env().Undefined();
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  Args A(info, "gather", 6);
  auto table = A.f32(0, "table");
  auto ids = A.i32(1, "ids");
  auto out = A.f32(2, "out");
  const int64_t rows = A.size(3, "rows"), cols = A.size(4, "cols");
  const int64_t numRows = A.size(5, "numRows");
  A.need(ids, "ids", rows);
  A.need(out, "out", prod({rows, cols}));
  A.need(table, "table", prod({numRows, cols}));
  check_ids(A, ids, rows, numRows);
  mw::gather(table.p, ids.p, out.p, rows, cols);
  return info.Env().Undefined();
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  Args A(info, "scatterAdd", 6);
  auto dout = A.f32(0, "dout");
  auto ids = A.i32(1, "ids");
  auto dtable = A.f32(2, "dtable");
  const int64_t rows = A.size(3, "rows"), cols = A.size(4, "cols");
  const int64_t numRows = A.size(5, "numRows");
  A.need(ids, "ids", rows);
  A.need(dout, "dout", prod({rows, cols}));
  A.need(dtable, "dtable", prod({numRows, cols}));
  check_ids(A, ids, rows, numRows);
  mw::scatter_add(dout.p, ids.p, dtable.p, rows, cols);
  return info.Env().Undefined();
}

// ---- threads, ISA, peak ----

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  Args A(info, "setThreads", 1);
  const int64_t n = A.size(0, "n");
  if (n < 1 || n > 1024) A.fail("argument 'n' must be an integer in [1, 1024], got " +
                                std::to_string(n));
  mw::ThreadPool::instance().set_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value Threads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), mw::ThreadPool::instance().threads());
}

Napi::Value GemmIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), mw::isa_name(mw::gemm_isa()));
}

Napi::Value CpuIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), mw::isa_name(mw::cpu_isa()));
}

Napi::Value SetGemmIsa(const Napi::CallbackInfo& info) {
  Args A(info, "setGemmIsa", 1);
  const std::string s = A.str(0, "isa");
  mw::Isa isa;
  if (s == "avx512") isa = mw::Isa::avx512;
  else if (s == "avx2") isa = mw::Isa::avx2;
  else if (s == "portable") isa = mw::Isa::portable;
  else A.fail("unknown ISA '" + s + "' (avx512, avx2 or portable)");
  if (!mw::set_gemm_isa(isa))
    A.fail(std::string("this CPU lacks ") + s + " (best: " + mw::isa_name(mw::cpu_isa()) + ")");
  return info.Env().Undefined();
}

Napi::Value SetGemmBf16Dot(const Napi::CallbackInfo& info) {
  Args A(info, "setGemmBf16Dot", 1);
  if (!info[0].IsBoolean()) A.fail("argument 'on' must be a boolean");
  return Napi::Boolean::New(info.Env(), mw::set_gemm_bf16_dot(info[0].As<Napi::Boolean>()));
}

Napi::Value PeakGflops(const Napi::CallbackInfo& info) {
  Args A(info, "peakGflops", 1);
  const double s = A.number(0, "seconds");
  if (!(s > 0 && s <= 60)) A.fail("argument 'seconds' must be in (0, 60], got " + num_text(s));
  const bool bf16 = info.Length() > 1 && !info[1].IsUndefined() && A.boolean(1, "bf16");
  return Napi::Number::New(info.Env(), mw::fma_peak_gflops(s, bf16));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto fn = [&](const char* name, Napi::Value (*f)(const Napi::CallbackInfo&)) {
    exports.Set(name, Napi::Function::New(env, f, name));
  };
  fn("gemm", Gemm);
  fn("unary", Unary);
  fn("unaryBackward", UnaryBackward);
  fn("binary", Binary);
  fn("reduce", Reduce);
  fn("reduceMaxBackward", ReduceMaxBackward);
  fn("permute", Permute);
  fn("softmax", Softmax);
  fn("softmaxBackward", SoftmaxBackward);
  fn("layerNorm", LayerNorm);
  fn("layerNormBackward", LayerNormBackward);
  fn("crossEntropy", CrossEntropy);
  fn("crossEntropyBackward", CrossEntropyBackward);
  fn("gather", Gather);
  fn("scatterAdd", ScatterAdd);
  fn("adamw", Adamw);
  fn("dropoutMask", DropoutMask);
  fn("setThreads", SetThreads);
  fn("threads", Threads);
  fn("gemmIsa", GemmIsa);
  fn("cpuIsa", CpuIsa);
  fn("setGemmIsa", SetGemmIsa);
  fn("setGemmBf16Dot", SetGemmBf16Dot);
  fn("peakGflops", PeakGflops);
  fn("elementwiseOps", ElementwiseOps);
  fn("fieldOrder", mw::SetFieldOrder);
  mw::register_attention(env, exports);
  mw::register_decode(env, exports);
  mw::register_int8(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(maskwise_native, Init)
