// N-API bindings of the fused attention kernels, with the same rule as addon.cc: every argument
// is checked (type, integer range, every array long enough for every index the kernel touches)
// before the kernel runs, and a bad one throws an Error naming the kernel and the argument.
#include <napi.h>

#include <cmath>
#include <string>

#include "attention.h"

namespace {

constexpr double kMaxSafe = 9007199254740991.0;

struct Checker {
  const Napi::CallbackInfo& info;
  const char* kernel;

  [[noreturn]] void fail(const std::string& msg) const {
    Napi::Error e = Napi::Error::New(info.Env(), std::string("native ") + kernel + ": " + msg);
    e.Set("code", Napi::String::New(info.Env(), "E_NATIVE_ARG"));
    throw e;
  }
  int64_t size(size_t i, const char* name, int64_t min = 0) const {
    const Napi::Value v = info[i];
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1.0;
    if (!v.IsNumber() || !(d >= static_cast<double>(min)) || d != std::floor(d) || d > kMaxSafe)
      fail(std::string("argument '") + name + "' must be an integer >= " + std::to_string(min));
    return static_cast<int64_t>(d);
  }
  double number(size_t i, const char* name) const {
    if (!info[i].IsNumber()) fail(std::string("argument '") + name + "' must be a number");
    return info[i].As<Napi::Number>().DoubleValue();
  }
  bool boolean(size_t i, const char* name) const {
    if (!info[i].IsBoolean()) fail(std::string("argument '") + name + "' must be a boolean");
    return info[i].As<Napi::Boolean>().Value();
  }
  template <class T, napi_typedarray_type kind>
  T* array(size_t i, const char* name, const char* type, double need) const {
    const Napi::Value v = info[i];
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != kind)
      fail(std::string("argument '") + name + "' must be " + type);
    auto a = v.As<Napi::TypedArrayOf<T>>();
    if (need > static_cast<double>(a.ElementLength()))
      fail(std::string("array '") + name + "' is too short: the sizes need " +
           std::to_string(static_cast<long long>(need)) + " elements, it has " +
           std::to_string(a.ElementLength()));
    return a.Data();
  }
  float* f32(size_t i, const char* name, double need) const {
    return array<float, napi_float32_array>(i, name, "a Float32Array", need);
  }
  /** A Float32Array, or null (returned as nullptr). */
  float* f32_or_null(size_t i, const char* name, double need) const {
    if (info[i].IsNull()) return nullptr;
    return array<float, napi_float32_array>(i, name, "a Float32Array or null", need);
  }
  uint8_t* u8(size_t i, const char* name, double need) const {
    return array<uint8_t, napi_uint8_array>(i, name, "a Uint8Array", need);
  }
};

/**
 * Arguments 0..18, as src/backend/native.ts passes them: B, H, Tq, Tk, Dh, q, k, v, attend,
 * maskBatch, blocks, blockQ, blockK, scale, skipBlocks, dropout, seed, bias (or null),
 * biasBatch.
 */
mw::AttentionParams params(const Checker& c) {
  if (c.info.Length() < 19) c.fail("expects at least 19 arguments");
  mw::AttentionParams p{};
  p.B = c.size(0, "B");
  p.H = c.size(1, "H");
  p.Tq = c.size(2, "Tq");
  p.Tk = c.size(3, "Tk");
  p.Dh = c.size(4, "Dh");
  const double bh = static_cast<double>(p.B) * static_cast<double>(p.H);
  p.q = c.f32(5, "q", bh * p.Tq * p.Dh);
  p.k = c.f32(6, "k", bh * p.Tk * p.Dh);
  p.v = c.f32(7, "v", bh * p.Tk * p.Dh);
  p.maskBatch = c.size(9, "maskBatch", 1);
  if (p.maskBatch != 1 && p.maskBatch != p.B) c.fail("argument 'maskBatch' must be 1 or B");
  p.attend = c.u8(8, "attend", static_cast<double>(p.maskBatch) * p.Tq * p.Tk);
  p.blockQ = c.size(11, "blockQ", 1);
  p.blockK = c.size(12, "blockK", 1);
  const double nq = std::ceil(static_cast<double>(p.Tq) / p.blockQ);
  const double nk = std::ceil(static_cast<double>(p.Tk) / p.blockK);
  p.blocks = c.u8(10, "blocks", p.maskBatch * nq * nk);
  const double scale = c.number(13, "scale");
  if (!std::isfinite(scale)) c.fail("argument 'scale' must be finite");
  p.scale = static_cast<float>(scale);
  p.skipBlocks = c.boolean(14, "skipBlocks");
  const double dropout = c.number(15, "dropout");
  if (!(dropout >= 0 && dropout < 1)) c.fail("argument 'dropout' must be in [0, 1)");
  p.dropout = dropout;
  p.seed = static_cast<uint32_t>(c.size(16, "seed") & 0xffffffffu);
  p.biasBatch = c.size(18, "biasBatch", 1);
  if (p.biasBatch != 1 && p.biasBatch != p.B) c.fail("argument 'biasBatch' must be 1 or B");
  p.bias = c.f32_or_null(17, "bias", static_cast<double>(p.biasBatch) * p.H * p.Tq * p.Tk);
  return p;
}

/** attentionForward(…params, out, lse) */
Napi::Value Forward(const Napi::CallbackInfo& info) {
  Checker c{info, "attentionForward"};
  if (info.Length() != 21) c.fail("expects 21 arguments");
  const mw::AttentionParams p = params(c);
  const double bh = static_cast<double>(p.B) * p.H;
  float* out = c.f32(19, "out", bh * p.Tq * p.Dh);
  float* lse = c.f32(20, "lse", bh * p.Tq);
  mw::attention_forward(p, out, lse);
  return info.Env().Undefined();
}

/** attentionBackward(…params, out, lse, dout, dq, dk, dv, dbias or null) */
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Checker c{info, "attentionBackward"};
  if (info.Length() != 26) c.fail("expects 26 arguments");
  const mw::AttentionParams p = params(c);
  const double bh = static_cast<double>(p.B) * p.H;
  const float* out = c.f32(19, "out", bh * p.Tq * p.Dh);
  const float* lse = c.f32(20, "lse", bh * p.Tq);
  const float* dout = c.f32(21, "dout", bh * p.Tq * p.Dh);
  float* dq = c.f32(22, "dq", bh * p.Tq * p.Dh);
  float* dk = c.f32(23, "dk", bh * p.Tk * p.Dh);
  float* dv = c.f32(24, "dv", bh * p.Tk * p.Dh);
  float* dbias = c.f32_or_null(25, "dbias", static_cast<double>(p.biasBatch) * p.H * p.Tq * p.Tk);
  if (dbias != nullptr && p.bias == nullptr) c.fail("argument 'dbias' needs a bias");
  mw::attention_backward(p, out, lse, dout, dq, dk, dv, dbias);
  return info.Env().Undefined();
}

}  // namespace

namespace mw {

void register_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, Forward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, Backward, "attentionBackward"));
}

}  // namespace mw
