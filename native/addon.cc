// N-API bindings of GEMM and the small kernels: each receives the fields of its interface of
// src/tensor/backend.ts in the order src/backend/native.ts declares and reads them by name
// (native/args.h, native/fields.h), then dispatches to the kernel. Every argument is checked (type, integer range, and that each array covers the largest index the
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
// Products with a weight held as bfloat16 (frozen_bf16.cc).
void register_frozen_bf16(Napi::Env env, Napi::Object exports);
// The int8 decoding product (gemm_int8.cc).
void register_int8(Napi::Env env, Napi::Object exports);
}  // namespace mw

namespace {

using mw::Args;
using mw::Fields;
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

// One product's fields (and the packWeight handle after them, when it is one) into g, every
// array checked against the largest index the product touches. False when the product is
// empty (nothing to compute).
bool read_gemm(const Args& A, const Fields& f, mw::GemmParams& g) {
  g.batch = f.size("batch");
  g.m = f.size("m");
  g.n = f.size("n");
  g.k = f.size("k");
  g.transA = f.boolean("transA");
  g.transB = f.boolean("transB");
  g.alpha = static_cast<float>(f.number("alpha"));
  g.beta = static_cast<float>(f.number("beta"));
  auto a = f.f32("a");
  const int64_t aOff = f.size("aOffset");
  g.lda = f.size("lda");
  g.strideA = f.size("strideA");
  auto b = f.f32("b");
  const int64_t bOff = f.size("bOffset");
  g.ldb = f.size("ldb");
  g.strideB = f.size("strideB");
  auto c = f.f32("c");
  const int64_t cOff = f.size("cOffset");
  g.ldc = f.size("ldc");
  g.strideC = f.size("strideC");
  g.bf16 = f.boolean("bf16");
  // The epilogue (optional): a bias of n floats and a ReLU, applied to C after the product.
  g.bias = A.typed_or_null<float>(f["bias"], "bias", g.n).p;
  const Napi::Value relu = f["relu"];
  g.relu = !relu.IsUndefined() && f.boolean("relu");
  // The sums of op(A)'s rows (optional): m floats, for a product of one matrix.
  g.row_sums = A.typed_or_null<float>(f["rowSums"], "rowSums", g.m).p;
  if (g.row_sums != nullptr && g.batch != 1) A.fail("rowSums needs batch 1");
  // After the fields, optionally a packWeight handle (or undefined); gemm uses it only when it
  // is b's, packed for this kernel (native/gemm.h PackedB).
  const Napi::CallbackInfo& info = A.info();
  if (info.Length() > f.end() && info[f.end()].IsExternal())
    g.packed = info[f.end()].As<Napi::External<mw::PackedB>>().Data();
  // No columns still has row sums to give.
  if (g.batch == 0 || g.m == 0 || (g.n == 0 && g.row_sums == nullptr)) return false;
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
  return true;
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  const Args A(info, "gemm", 0);
  const Fields f(A, "gemm", 0, 1);
  mw::GemmParams g;
  if (read_gemm(A, f, g)) mw::gemm(g);
  return info.Env().Undefined();
}

// gemmPair(...fields of the first product, its packed weight or undefined, ...fields of the
// second, its packed weight or undefined): both checked before either runs.
Napi::Value GemmPair(const Napi::CallbackInfo& info) {
  const Args A(info, "gemmPair", 0);
  const Fields f2(A, "gemm", 1, 0, info.Length() / 2);
  const Fields f1(A, "gemm", f2.end() - info.Length() / 2 + 2, 0, 0);
  mw::GemmParams g1, g2;
  const bool run1 = read_gemm(A, f1, g1);
  const bool run2 = read_gemm(A, f2, g2);
  if (run1 && run2) {
    mw::gemm_pair(g1, g2);
  } else if (run1) {
    mw::gemm(g1);
  } else if (run2) {
    mw::gemm(g2);
  }
  return info.Env().Undefined();
}

// ---- element-wise ----

Napi::Value Unary(const Napi::CallbackInfo& info) {
  const Args A(info, "unary", 0);
  const Fields f(A, "unary");
  const auto op = unary_op(A, f.str("op"));
  auto x = f.f32("x");
  auto out = f.f32("out");
  const int64_t n = f.size("n");
  A.need(x, "x", n);
  A.need(out, "out", n);
  mw::unary(op, x.p, out.p, n);
  return info.Env().Undefined();
}

Napi::Value UnaryBackward(const Napi::CallbackInfo& info) {
  const Args A(info, "unaryBackward", 0);
  const Fields f(A, "unaryBackward");
  const auto op = unary_op(A, f.str("op"));
  auto x = f.f32("x");
  auto y = f.f32("y");
  auto dy = f.f32("dy");
  auto dx = f.f32("dx");
  const int64_t n = f.size("n");
  const bool acc = f.boolean("accumulate");
  A.need(x, "x", n);
  A.need(y, "y", n);
  A.need(dy, "dy", n);
  A.need(dx, "dx", n);
  mw::unary_backward(op, x.p, y.p, dy.p, dx.p, n, acc);
  return info.Env().Undefined();
}

Napi::Value Swiglu(const Napi::CallbackInfo& info) {
  const Args A(info, "swiglu", 0);
  const Fields f(A, "swiglu");
  auto gate = f.f32("gate");
  auto up = f.f32("up");
  auto out = f.f32("out");
  const int64_t n = f.size("n");
  A.need(gate, "gate", n);
  A.need(up, "up", n);
  A.need(out, "out", n);
  mw::swiglu(gate.p, up.p, out.p, n);
  return info.Env().Undefined();
}

Napi::Value SwigluBackward(const Napi::CallbackInfo& info) {
  const Args A(info, "swigluBackward", 0);
  const Fields f(A, "swigluBackward");
  auto gate = f.f32("gate");
  auto up = f.f32("up");
  auto dy = f.f32("dy");
  const int64_t n = f.size("n");
  float* dgate = f.typed_or_null<float>("dgate", n).p;
  float* dup = f.typed_or_null<float>("dup", n).p;
  const bool acc_gate = f.boolean("accumulateGate");
  const bool acc_up = f.boolean("accumulateUp");
  A.need(gate, "gate", n);
  A.need(up, "up", n);
  A.need(dy, "dy", n);
  mw::swiglu_backward(gate.p, up.p, dy.p, dgate, dup, n, acc_gate, acc_up);
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
  const Args A(info, "binary", 0);
  const Fields f(A, "binary");
  const auto op = binary_op(A, f.str("op"));
  auto a = f.f32("a");
  auto as = f.ints("aStrides", false);
  auto b = f.f32("b");
  auto bs = f.ints("bStrides", false);
  auto out = f.f32("out");
  auto shape = f.ints("shape", true);
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
  const Args A(info, "reduce", 0);
  const Fields f(A, "reduce");
  const std::string op = f.str("op");
  if (op != "sum" && op != "max") A.fail("unknown reduce op '" + op + "'");
  auto x = f.f32("x");
  auto out = f.f32("out");
  const int64_t outer = f.size("outer"), dim = f.size("dim"), inner = f.size("inner");
  A.need(x, "x", prod({outer, dim, inner}));
  A.need(out, "out", prod({outer, inner}));
  if (op == "sum")
    mw::reduce_sum(x.p, out.p, outer, dim, inner);
  else
    mw::reduce_max(x.p, out.p, outer, dim, inner);
  return info.Env().Undefined();
}

Napi::Value ReduceMaxBackward(const Napi::CallbackInfo& info) {
  const Args A(info, "reduceMaxBackward", 0);
  const Fields f(A, "reduceMaxBackward");
  auto x = f.f32("x");
  auto y = f.f32("y");
  auto dy = f.f32("dy");
  auto dx = f.f32("dx");
  const int64_t outer = f.size("outer"), dim = f.size("dim"), inner = f.size("inner");
  A.need(x, "x", prod({outer, dim, inner}));
  A.need(dx, "dx", prod({outer, dim, inner}));
  A.need(y, "y", prod({outer, inner}));
  A.need(dy, "dy", prod({outer, inner}));
  mw::reduce_max_backward(x.p, y.p, dy.p, dx.p, outer, dim, inner);
  return info.Env().Undefined();
}

Napi::Value Permute(const Napi::CallbackInfo& info) {
  const Args A(info, "permute", 0);
  const Fields f(A, "permute");
  const Napi::Value xv = f["x"], ov = f["out"];
  const bool f32 = xv.IsTypedArray() &&
                   xv.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
  View<uint32_t> x, out;
  if (f32) {
    auto xf = f.f32("x");
    auto of = f.f32("out");
    x = {reinterpret_cast<uint32_t*>(xf.p), xf.len};
    out = {reinterpret_cast<uint32_t*>(of.p), of.len};
  } else {
    if (!xv.IsTypedArray() || xv.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      A.bad(xv, "x", "a Float32Array or an Int32Array");
    if (!ov.IsTypedArray() || ov.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      A.bad(ov, "out", "an Int32Array (as x)");
    auto xi = f.i32("x");
    auto oi = f.i32("out");
    x = {reinterpret_cast<uint32_t*>(xi.p), xi.len};
    out = {reinterpret_cast<uint32_t*>(oi.p), oi.len};
  }
  auto shape = f.ints("shape", true);
  auto perm = f.ints("perm", true);
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
  const Args A(info, "adamw", 0);
  const Fields f(A, "adamw");
  auto p = f.f32("p");
  auto g = f.f32("g");
  auto m = f.f32("m");
  auto v = f.f32("v");
  const int64_t n = f.size("n");
  const double lr = f.number("lr"), b1 = f.number("beta1"), b2 = f.number("beta2");
  const double eps = f.number("eps"), wd = f.number("weightDecay");
  const double step = f.number("step");
  A.need(p, "p", n);
  A.need(g, "g", n);
  A.need(m, "m", n);
  A.need(v, "v", n);
  mw::adamw(p.p, g.p, m.p, v.p, n, lr, b1, b2, eps, wd, step);
  return info.Env().Undefined();
}

Napi::Value DropoutMask(const Napi::CallbackInfo& info) {
  const Args A(info, "dropoutMask", 0);
  const Fields f(A, "dropoutMask");
  auto out = f.f32("out");
  const int64_t n = f.size("n");
  const int64_t seed = f.size("seed");
  const int64_t threshold = f.size("threshold");
  const double keep = f.number("keep");
  A.need(out, "out", n);
  if (seed > 0xffffffffLL) A.bad(f["seed"], "seed", "an unsigned 32-bit integer");
  if (threshold > 0x100000000LL) A.bad(f["threshold"], "threshold", "an integer in [0, 2^32]");
  mw::dropout_mask(out.p, n, static_cast<uint32_t>(seed), static_cast<uint64_t>(threshold),
                   static_cast<float>(keep));
  return info.Env().Undefined();
}

// ---- softmax, layer norm ----

Napi::Value Softmax(const Napi::CallbackInfo& info) {
  const Args A(info, "softmax", 0);
  const Fields f(A, "softmax");
  auto x = f.f32("x");
  auto out = f.f32("out");
  const int64_t rows = f.size("rows"), cols = f.size("cols");
  const bool log = f.boolean("log");
  A.need(x, "x", prod({rows, cols}));
  A.need(out, "out", prod({rows, cols}));
  mw::softmax(x.p, out.p, rows, cols, log);
  return info.Env().Undefined();
}

Napi::Value SoftmaxBackward(const Napi::CallbackInfo& info) {
  const Args A(info, "softmaxBackward", 0);
  const Fields f(A, "softmaxBackward");
  auto y = f.f32("y");
  auto dy = f.f32("dy");
  auto dx = f.f32("dx");
  const int64_t rows = f.size("rows"), cols = f.size("cols");
  const bool log = f.boolean("log"), acc = f.boolean("accumulate");
  A.need(y, "y", prod({rows, cols}));
  A.need(dy, "dy", prod({rows, cols}));
  A.need(dx, "dx", prod({rows, cols}));
  mw::softmax_backward(y.p, dy.p, dx.p, rows, cols, log, acc);
  return info.Env().Undefined();
}

Napi::Value LayerNorm(const Napi::CallbackInfo& info) {
  const Args A(info, "layerNorm", 0);
  const Fields f(A, "layerNorm");
  auto x = f.f32("x");
  auto gamma = f.f32("gamma");
  auto beta = f.f32("beta");
  auto out = f.f32("out");
  auto mean = f.f32("mean");
  auto rstd = f.f32("rstd");
  const int64_t rows = f.size("rows"), cols = f.size("cols");
  const double eps = f.number("eps");
  const bool rms = f.boolean("rms");
  A.need(x, "x", prod({rows, cols}));
  A.need(out, "out", prod({rows, cols}));
  if (rows > 0) {
    A.need(gamma, "gamma", cols);
    if (!rms) A.need(beta, "beta", cols);
  }
  A.need(mean, "mean", rows);
  A.need(rstd, "rstd", rows);
  mw::layer_norm(x.p, gamma.p, rms ? nullptr : beta.p, out.p, mean.p, rstd.p, rows, cols, eps,
                 rms);
  return info.Env().Undefined();
}

Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  const Args A(info, "layerNormBackward", 0);
  const Fields f(A, "layerNormBackward");
  auto x = f.f32("x");
  auto gamma = f.f32("gamma");
  auto mean = f.f32("mean");
  auto rstd = f.f32("rstd");
  auto dy = f.f32("dy");
  auto dx = f.f32("dx");
  auto dgamma = f.f32("dgamma");
  auto dbeta = f.f32("dbeta");
  const int64_t rows = f.size("rows"), cols = f.size("cols");
  const bool acc = f.boolean("accumulate");
  const bool rms = f.boolean("rms");
  A.need(x, "x", prod({rows, cols}));
  A.need(dy, "dy", prod({rows, cols}));
  A.need(dx, "dx", prod({rows, cols}));
  if (rows > 0) {
    A.need(gamma, "gamma", cols);
    A.need(dgamma, "dgamma", cols);
    if (!rms) A.need(dbeta, "dbeta", cols);
  }
  A.need(mean, "mean", rows);
  A.need(rstd, "rstd", rows);
  mw::layer_norm_backward(x.p, gamma.p, mean.p, rstd.p, dy.p, dx.p, dgamma.p,
                          rms ? nullptr : dbeta.p, rows, cols, acc, rms);
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

// Every id a row of the table: in [0, numRows), or -1 too where `missing` allows it.
void check_ids(const Args& A, const View<int32_t>& ids, int64_t rows, int64_t numRows,
               bool missing = false) {
  const int64_t least = missing ? -1 : 0;
  for (int64_t r = 0; r < rows; r++) {
    const int64_t v = ids.p[r];
    if (v < least || v >= numRows)
      A.fail("index " + std::to_string(v) + " at position " + std::to_string(r) +
                 " is outside [" + std::to_string(least) + ", " + std::to_string(numRows) + ")",
             "E_INDEX");
  }
}

Napi::Value CrossEntropy(const Napi::CallbackInfo& info) {
  const Args A(info, "crossEntropy", 0);
  const Fields f(A, "crossEntropy");
  auto logits = f.f32("logits");
  auto targets = f.i32("targets");
  auto loss = f.f32("loss");
  auto lse = f.f32("lse");
  const int64_t rows = f.size("rows"), V = f.size("V");
  const int64_t ignore = f.integer("ignoreIndex");
  const double smoothing = f.number("smoothing");
  A.need(logits, "logits", prod({rows, V}));
  A.need(targets, "targets", rows);
  A.need(loss, "loss", rows);
  A.need(lse, "lse", rows);
  check_targets(A, targets, rows, V, ignore);
  mw::cross_entropy(logits.p, targets.p, loss.p, lse.p, rows, V, ignore, smoothing);
  return info.Env().Undefined();
}

Napi::Value CrossEntropyBackward(const Napi::CallbackInfo& info) {
  const Args A(info, "crossEntropyBackward", 0);
  const Fields f(A, "crossEntropyBackward");
  auto logits = f.f32("logits");
  auto targets = f.i32("targets");
  auto lse = f.f32("lse");
  auto dloss = f.f32("dloss");
  auto dlogits = f.f32("dlogits");
  const int64_t rows = f.size("rows"), V = f.size("V");
  const int64_t ignore = f.integer("ignoreIndex");
  const double smoothing = f.number("smoothing");
  const bool acc = f.boolean("accumulate");
  // A block of the vocabulary: columns offset .. offset + V - 1 of `vocab` words.
  const int64_t offset = f.size_or("vocabOffset", 0);
  const int64_t vocab = f.size_or("vocab", V);
  if (offset + V > vocab)
    A.fail("argument 'vocabOffset' + V = " + std::to_string(offset + V) + " exceeds vocab = " +
           std::to_string(vocab));
  A.need(logits, "logits", prod({rows, V}));
  A.need(dlogits, "dlogits", prod({rows, V}));
  A.need(targets, "targets", rows);
  A.need(lse, "lse", rows);
  A.need(dloss, "dloss", rows);
  check_targets(A, targets, rows, vocab, ignore);
  mw::cross_entropy_backward(logits.p, targets.p, lse.p, dloss.p, dlogits.p, rows, V, ignore,
                             smoothing, acc, offset, vocab);
  return info.Env().Undefined();
}

Napi::Value Gather(const Napi::CallbackInfo& info) {
  const Args A(info, "gather", 0);
  const Fields f(A, "gather");
  auto table = f.f32("table");
  auto ids = f.i32("ids");
  auto out = f.f32("out");
  const int64_t rows = f.size("rows"), cols = f.size("cols");
  const int64_t numRows = f.size("numRows");
  A.need(ids, "ids", rows);
  A.need(out, "out", prod({rows, cols}));
  A.need(table, "table", prod({numRows, cols}));
  const Napi::Value zm = f["zeroMissing"];
  const bool zeroMissing = !zm.IsUndefined() && f.boolean("zeroMissing");
  check_ids(A, ids, rows, numRows, zeroMissing);
  mw::gather(table.p, ids.p, out.p, rows, cols);
  return info.Env().Undefined();
}

Napi::Value ScatterAdd(const Napi::CallbackInfo& info) {
  const Args A(info, "scatterAdd", 0);
  const Fields f(A, "scatterAdd");
  auto dout = f.f32("dout");
  auto ids = f.i32("ids");
  auto dtable = f.f32("dtable");
  const int64_t rows = f.size("rows"), cols = f.size("cols");
  const int64_t numRows = f.size("numRows");
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

// packWeight(w, n, k): a handle holding W [n, k] packed for the GEMM's kernel now in use (freed
// with the handle). The handle refers to w's memory: gemm uses it only with that same w.
Napi::Value PackWeight(const Napi::CallbackInfo& info) {
  Args A(info, "packWeight", 3);
  auto w = A.f32(0, "w");
  const int64_t n = A.size(1, "n", 1);
  const int64_t k = A.size(2, "k", 1);
  A.need(w, "w", i128{n} * k);
  mw::PackedB* p = mw::pack_weight(w.p, n, k).release();
  return Napi::External<mw::PackedB>::New(info.Env(), p,
                                          [](Napi::Env, mw::PackedB* q) { delete q; });
}

Napi::Value GemmIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), mw::isa_name(mw::gemm_isa()));
}

// { float32: { isa, mr, nr, kc, mc, nc }, bfloat16: { isa, mr, nr } or null }: the products'
// kernels as chosen for this CPU (bfloat16 "avx512-bf16", "amx-bf16" where opted in, or null
// where products given bfloat16 inputs run on the float32 kernel: no VDPBF16PS, or
// setGemmBf16Dot(false)).
Napi::Value GemmKernels(const Napi::CallbackInfo& info) {
  const Napi::Env env = info.Env();
  const mw::MicroKernel k = mw::gemm_kernel_in_use();
  Napi::Object f32 = Napi::Object::New(env);
  f32.Set("isa", mw::isa_name(mw::gemm_isa()));
  f32.Set("mr", k.mr);
  f32.Set("nr", k.nr);
  f32.Set("kc", k.kc);
  f32.Set("mc", k.mc);
  f32.Set("nc", k.nc);
  Napi::Object out = Napi::Object::New(env);
  out.Set("float32", f32);
#ifdef MW_EMULATE_AVX512
  out.Set("emulatedAvx512", true);  // native/simd.h: the test build, AVX-512 over AVX2
#else
  out.Set("emulatedAvx512", false);
#endif
  if (mw::bf16_dot_available()) {
    Napi::Object b = Napi::Object::New(env);
    b.Set("isa", mw::gemm_amx_in_use() ? "amx-bf16" : "avx512-bf16");
    b.Set("mr", mw::gemm_bf16_mr());
    b.Set("nr", mw::gemm_bf16_nr());
    out.Set("bfloat16", b);
  } else {
    out.Set("bfloat16", env.Null());
  }
  return out;
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

Napi::Value SetGemmAmx(const Napi::CallbackInfo& info) {
  Args A(info, "setGemmAmx", 1);
  if (!info[0].IsBoolean()) A.fail("argument 'on' must be a boolean");
  return Napi::Boolean::New(info.Env(), mw::set_gemm_amx(info[0].As<Napi::Boolean>()));
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
  fn("gemmPair", GemmPair);
  fn("packWeight", PackWeight);
  fn("unary", Unary);
  fn("unaryBackward", UnaryBackward);
  fn("swiglu", Swiglu);
  fn("swigluBackward", SwigluBackward);
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
  fn("gemmKernels", GemmKernels);
  fn("setGemmIsa", SetGemmIsa);
  fn("setGemmBf16Dot", SetGemmBf16Dot);
  fn("setGemmAmx", SetGemmAmx);
  fn("peakGflops", PeakGflops);
  fn("elementwiseOps", ElementwiseOps);
  fn("fieldOrder", mw::SetFieldOrder);
  fn("fieldNames", mw::FieldNames);
  mw::register_attention(env, exports);
  mw::register_decode(env, exports);
  mw::register_frozen_bf16(env, exports);
  mw::register_int8(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(maskwise_native, Init)
