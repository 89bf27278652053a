// N-API binding of the decoding kernels, with the rule of addon.cc: every argument is checked
// (type, integer range, each array long enough for every index the kernel touches, every row of
// the row map inside the cache) before the kernel runs; a bad one throws an Error naming the
// kernel and the argument.
#include <napi.h>

#include <cmath>
#include <string>

#include "decode.h"
#include "gemm.h"

namespace {

constexpr double kMaxSafe = 9007199254740991.0;

struct Check {
  const Napi::CallbackInfo& info;
  const char* kernel;

  [[noreturn]] void fail(const std::string& msg) const {
    Napi::Error e = Napi::Error::New(info.Env(), std::string("native ") + kernel + ": " + msg);
    e.Set("code", Napi::String::New(info.Env(), "E_NATIVE_ARG"));
    throw e;
  }
  int64_t size(size_t i, const char* name) const {
    const Napi::Value v = info[i];
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.0;
    if (!v.IsNumber() || !(d >= 0) || d != std::floor(d) || d > kMaxSafe)
      fail(std::string("argument '") + name + "' must be a non-negative integer");
    return static_cast<int64_t>(d);
  }
  template <class T, napi_typedarray_type kind>
  Napi::TypedArrayOf<T> array(size_t i, const char* name, const char* type, double need) const {
    const Napi::Value v = info[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kind)
      fail(std::string("argument '") + name + "' must be " + type);
    auto a = v.As<Napi::TypedArrayOf<T>>();
    if (need > static_cast<double>(a.ElementLength()))
      fail(std::string("array '") + name + "' is too short: the sizes need " +
           std::to_string(static_cast<long long>(need)) + " elements, it has " +
           std::to_string(a.ElementLength()));
    return a;
  }
};

/**
 * decodeAttention(R, H, Dh, q, k, v, P, capacity, length, rows, keep, keepStride, scale, out,
 * slots, slotStride[, bias, biasOffset, biasHeadStride]), as src/backend/native.ts passes
 * DecodeAttentionArgs; keep, slots and bias may be null.
 */
Napi::Value DecodeAttention(const Napi::CallbackInfo& info) {
  Check c{info, "decodeAttention"};
  if (info.Length() != 16 && info.Length() != 19)
    c.fail("expects 16 arguments, or 19 with a bias");
  mw::DecodeAttentionParams p{};
  p.R = c.size(0, "R");
  p.H = c.size(1, "H");
  p.Dh = c.size(2, "Dh");
  p.P = c.size(6, "P");
  p.capacity = c.size(7, "capacity");
  p.length = c.size(8, "length");
  if (p.length > p.capacity) c.fail("argument 'length' exceeds 'capacity'");
  const double rhd = static_cast<double>(p.R) * p.H * p.Dh;
  const double cache = static_cast<double>(p.P) * p.H * p.capacity * p.Dh;
  if (rhd > kMaxSafe || cache > kMaxSafe) c.fail("the sizes are too large");
  p.q = c.array<float, napi_float32_array>(3, "q", "a Float32Array", rhd).Data();
  p.k = c.array<float, napi_float32_array>(4, "k", "a Float32Array", cache).Data();
  p.v = c.array<float, napi_float32_array>(5, "v", "a Float32Array", cache).Data();
  auto rows = c.array<int32_t, napi_int32_array>(9, "rows", "an Int32Array", p.R);
  for (int64_t r = 0; r < p.R; r++)
    if (rows[r] < 0 || rows[r] >= p.P)
      c.fail("rows[" + std::to_string(r) + "] = " + std::to_string(rows[r]) +
             " is outside the cache's " + std::to_string(p.P) + " rows");
  p.rows = rows.Data();
  p.slotStride = c.size(15, "slotStride");
  if (info[14].IsNull()) {
    p.slots = nullptr;
  } else {
    if (p.slotStride < p.length) c.fail("argument 'slotStride' is shorter than 'length'");
    if (static_cast<double>(p.R) * p.slotStride > kMaxSafe) c.fail("the sizes are too large");
    auto slots = c.array<int32_t, napi_int32_array>(14, "slots", "an Int32Array or null",
                                                    static_cast<double>(p.R) * p.slotStride);
    // Every position the kernel reads: a bad row would read outside the cache.
    for (int64_t r = 0; r < p.R; r++)
      for (int64_t j = 0; j < p.length; j++) {
        const int32_t x = slots[r * p.slotStride + j];
        if (x < 0 || x >= p.P)
          c.fail("slots[" + std::to_string(r * p.slotStride + j) + "] = " + std::to_string(x) +
                 " is outside the cache's " + std::to_string(p.P) + " rows");
      }
    p.slots = slots.Data();
  }
  p.keepStride = c.size(11, "keepStride");
  if (info[10].IsNull()) {
    p.keep = nullptr;
  } else {
    if (p.keepStride < p.length) c.fail("argument 'keepStride' is shorter than 'length'");
    // Indexed by physical row, or with slots by query row.
    const double keepRows = static_cast<double>(p.slots != nullptr ? p.R : p.P);
    p.keep = c.array<uint8_t, napi_uint8_array>(10, "keep", "a Uint8Array or null",
                                                keepRows * p.keepStride)
                 .Data();
  }
  if (!info[12].IsNumber()) c.fail("argument 'scale' must be a number");
  const double scale = info[12].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(scale)) c.fail("argument 'scale' must be finite");
  p.scale = static_cast<float>(scale);
  p.out = c.array<float, napi_float32_array>(13, "out", "a Float32Array", rhd).Data();
  p.bias = nullptr;
  if (info.Length() == 19 && !info[16].IsNull()) {
    p.biasOffset = c.size(17, "biasOffset");
    p.biasHeadStride = c.size(18, "biasHeadStride");
    // The last element read: head H - 1, position length - 1.
    const double need = p.H > 0 && p.length > 0
                            ? static_cast<double>(p.biasOffset) +
                                  static_cast<double>(p.H - 1) * p.biasHeadStride + p.length
                            : 0.0;
    p.bias = c.array<float, napi_float32_array>(16, "bias", "a Float32Array or null", need).Data();
  }
  // Nothing to compute; and with H or Dh = 0 the cache arrays bound nothing, so `length` must
  // not size a scratch array or a loop.
  if (p.R == 0 || p.H == 0 || p.Dh == 0) return info.Env().Undefined();
  mw::decode_attention(p);
  return info.Env().Undefined();
}

/** decodeLogSoftmax(x, rows, cols): in place. */
Napi::Value DecodeLogSoftmax(const Napi::CallbackInfo& info) {
  Check c{info, "decodeLogSoftmax"};
  if (info.Length() != 3) c.fail("expects 3 arguments");
  const int64_t rows = c.size(1, "rows");
  const int64_t cols = c.size(2, "cols");
  const double n = static_cast<double>(rows) * static_cast<double>(cols);
  float* x = c.array<float, napi_float32_array>(0, "x", "a Float32Array", n).Data();
  if (cols == 0) return info.Env().Undefined();  // rows of nothing: no loop over `rows`
  mw::decode_log_softmax(x, rows, cols);
  return info.Env().Undefined();
}

/** decodeTopK(lp, rowsOfLp, V, rows, base, n, M, hyp, token, score) -> count */
Napi::Value DecodeTopK(const Napi::CallbackInfo& info) {
  Check c{info, "decodeTopK"};
  if (info.Length() != 10) c.fail("expects 10 arguments");
  const int64_t lpRows = c.size(1, "lpRows");
  const int64_t V = c.size(2, "V");
  const int64_t n = c.size(5, "n");
  const int64_t M = c.size(6, "M");
  const double size = static_cast<double>(lpRows) * static_cast<double>(V);
  const float* lp = c.array<float, napi_float32_array>(0, "lp", "a Float32Array", size).Data();
  auto rows = c.array<int32_t, napi_int32_array>(3, "rows", "an Int32Array", n);
  for (int64_t h = 0; h < n; h++)
    if (rows[h] < 0 || rows[h] >= lpRows)
      c.fail("rows[" + std::to_string(h) + "] = " + std::to_string(rows[h]) + " is outside the " +
             std::to_string(lpRows) + " rows of lp");
  const double* base = c.array<double, napi_float64_array>(4, "base", "a Float64Array", n).Data();
  if (V > 2147483647) c.fail("argument 'V' is too large");
  int32_t* hyp = c.array<int32_t, napi_int32_array>(7, "hyp", "an Int32Array", M).Data();
  int32_t* token = c.array<int32_t, napi_int32_array>(8, "token", "an Int32Array", M).Data();
  double* score = c.array<double, napi_float64_array>(9, "score", "a Float64Array", M).Data();
  const int64_t count = mw::decode_top_k(lp, V, rows.Data(), base, n, M, hyp, token, score);
  return Napi::Number::New(info.Env(), static_cast<double>(count));
}

/** gemmBf16(m, n, k, a, w, c): c [m, n] += a [m, k] w^T, w [n, k] bfloat16 bits. */
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  Check c{info, "gemmBf16"};
  if (info.Length() != 6) c.fail("expects 6 arguments");
  const int64_t m = c.size(0, "m");
  const int64_t n = c.size(1, "n");
  const int64_t k = c.size(2, "k");
  const double mk = static_cast<double>(m) * static_cast<double>(k);
  const double nk = static_cast<double>(n) * static_cast<double>(k);
  const double mn = static_cast<double>(m) * static_cast<double>(n);
  if (mk > kMaxSafe || nk > kMaxSafe || mn > kMaxSafe) c.fail("the sizes are too large");
  const float* a = c.array<float, napi_float32_array>(3, "a", "a Float32Array", mk).Data();
  const uint16_t* w = c.array<uint16_t, napi_uint16_array>(4, "w", "a Uint16Array", nk).Data();
  float* out = c.array<float, napi_float32_array>(5, "c", "a Float32Array", mn).Data();
  mw::gemm_skinny_bf16(m, n, k, a, w, out);
  return info.Env().Undefined();
}

}  // namespace

namespace mw {

void register_decode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeAttention", Napi::Function::New(env, DecodeAttention, "decodeAttention"));
  exports.Set("decodeLogSoftmax", Napi::Function::New(env, DecodeLogSoftmax, "decodeLogSoftmax"));
  exports.Set("decodeTopK", Napi::Function::New(env, DecodeTopK, "decodeTopK"));
  exports.Set("gemmBf16", Napi::Function::New(env, GemmBf16, "gemmBf16"));
}

}  // namespace mw
