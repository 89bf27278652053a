// N-API bindings of the fused attention kernels. The fields of an AttentionArgs
// (src/tensor/backend.ts) arrive in the order src/backend/native.ts declares and are read by name
// (native/args.h checks each: type, integer range, every array long enough for every index the
// kernel touches) before the kernel runs; a bad one throws an Error naming the kernel and field.
#include <napi.h>

#include <cmath>
#include <string>

#include "args.h"
#include "attention.h"

namespace {

using mw::Args;
using mw::Fields;

/** The fields of an AttentionArgs. */
mw::AttentionParams params(const Fields& f) {
  mw::AttentionParams p{};
  p.B = f.size("B");
  p.H = f.size("H");
  p.Tq = f.size("Tq");
  p.Tk = f.size("Tk");
  p.Dh = f.size("Dh");
  const mw::i128 bh = mw::prod({p.B, p.H});
  const Napi::Value qSlots = f["qSlots"];
  p.Hkv = f.size_or("kvHeads", p.H, 1);
  if (p.H % p.Hkv != 0)
    f.A.fail("argument 'kvHeads' = " + std::to_string(p.Hkv) + " does not divide H = " +
             std::to_string(p.H));
  if (qSlots.IsNull() || qSlots.IsUndefined()) {
    if (p.Hkv != p.H)
      f.A.fail("argument 'kvHeads' differs from H: the head layout needs kvHeads = H");
    p.q = f.typed<float>("q", bh * p.Tq * p.Dh).p;
    p.k = f.typed<float>("k", bh * p.Tk * p.Dh).p;
    p.v = f.typed<float>("v", bh * p.Tk * p.Dh).p;
  } else {
    // Row layout: as many rows as q (k) holds whole; every slot names one of them or is -1.
    const mw::i128 width = mw::prod({p.H, p.Dh});
    const mw::i128 kv_width = mw::prod({p.Hkv, p.Dh});
    const auto q = f.f32("q");
    const auto k = f.f32("k");
    p.qRows = width == 0 ? 0 : static_cast<int64_t>(q.len / width);
    p.kRows = kv_width == 0 ? 0 : static_cast<int64_t>(k.len / kv_width);
    p.q = q.p;
    p.k = k.p;
    p.v = f.typed<float>("v", p.kRows * kv_width).p;
    const auto slots = [&](const Napi::Value& v, const char* name, int64_t T, int64_t rows) {
      const int32_t* s = f.A.typed<int32_t>(v, name, mw::prod({p.B, T})).p;
      for (int64_t i = 0; i < p.B * T; i++)
        if (s[i] < -1 || s[i] >= rows)
          f.A.fail(std::string("argument '") + name + "' names row " + std::to_string(s[i]) +
                   " at " + std::to_string(i) + ", outside -1 .. " + std::to_string(rows - 1));
      return s;
    };
    p.qSlots = slots(qSlots, "qSlots", p.Tq, p.qRows);
    p.kSlots = slots(f["kSlots"], "kSlots", p.Tk, p.kRows);
  }
  p.maskBatch = f.size("maskBatch", 1);
  if (p.maskBatch != 1 && p.maskBatch != p.B) f.A.fail("argument 'maskBatch' must be 1 or B");
  p.attend = f.typed<uint8_t>("attend", mw::prod({p.maskBatch, p.Tq, p.Tk})).p;
  p.blockQ = f.size("blockQ", 1);
  p.blockK = f.size("blockK", 1);
  const int64_t nq = (p.Tq + p.blockQ - 1) / p.blockQ;
  const int64_t nk = (p.Tk + p.blockK - 1) / p.blockK;
  p.blocks = f.typed<uint8_t>("blocks", mw::prod({p.maskBatch, nq, nk})).p;
  p.scale = static_cast<float>(f.finite("scale"));
  p.skipBlocks = f.boolean("skipBlocks");
  const double dropout = f.number("dropout");
  if (!(dropout >= 0 && dropout < 1)) f.A.fail("argument 'dropout' must be in [0, 1)");
  p.dropout = dropout;
  // Any integer, taken modulo 2^32 as `seed >>> 0` takes it.
  p.seed = static_cast<uint32_t>(static_cast<uint64_t>(f.integer("seed")));
  p.bias = nullptr;
  p.biasBatch = 1;
  const Napi::Value bias = f["bias"];
  if (!bias.IsNull() && !bias.IsUndefined()) {
    p.biasBatch = f.size_or("biasBatch", 1, 1);
    if (p.biasBatch != 1 && p.biasBatch != p.B) f.A.fail("argument 'biasBatch' must be 1 or B");
    p.bias = f.A.typed<float>(bias, "bias", mw::prod({p.biasBatch, p.H, p.Tq, p.Tk})).p;
  }
  return p;
}

/** Elements of an array with q's layout (out, dout, dq) and with k's (dk, dv). */
mw::i128 q_side(const mw::AttentionParams& p) {
  return p.qSlots ? mw::prod({p.qRows, p.H, p.Dh}) : mw::prod({p.B, p.H, p.Tq, p.Dh});
}
mw::i128 k_side(const mw::AttentionParams& p) {
  return p.kSlots ? mw::prod({p.kRows, p.Hkv, p.Dh}) : mw::prod({p.B, p.H, p.Tk, p.Dh});
}

/** attentionForward(...AttentionArgs fields, out, lse) */
Napi::Value Forward(const Napi::CallbackInfo& info) {
  Args A(info, "attentionForward", 0);
  const Fields f(A, "attention", 2);
  const mw::AttentionParams p = params(f);
  const size_t o = f.end();
  const mw::i128 bh = mw::prod({p.B, p.H});
  float* out = A.typed<float>(A[o], "out", q_side(p)).p;
  float* lse = A.typed<float>(A[o + 1], "lse", bh * p.Tq).p;
  mw::attention_forward(p, out, lse);
  return info.Env().Undefined();
}

/**
 * attentionBackward(...AttentionArgs fields, out, lse, dout, dq, dk, dv, dbias or null,
 * accumulate)
 */
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Args A(info, "attentionBackward", 0);
  const Fields f(A, "attention", 8);
  const mw::AttentionParams p = params(f);
  const size_t o = f.end();
  const mw::i128 bh = mw::prod({p.B, p.H});
  const float* out = A.typed<float>(A[o], "out", q_side(p)).p;
  const float* lse = A.typed<float>(A[o + 1], "lse", bh * p.Tq).p;
  const float* dout = A.typed<float>(A[o + 2], "dout", q_side(p)).p;
  float* dq = A.typed<float>(A[o + 3], "dq", q_side(p)).p;
  float* dk = A.typed<float>(A[o + 4], "dk", k_side(p)).p;
  float* dv = A.typed<float>(A[o + 5], "dv", k_side(p)).p;
  float* dbias =
      A.typed_or_null<float>(A[o + 6], "dbias", mw::prod({p.biasBatch, p.H, p.Tq, p.Tk})).p;
  if (dbias != nullptr && p.bias == nullptr) A.fail("argument 'dbias' needs a bias");
  const bool accumulate = A.boolean(A[o + 7], "accumulate");
  mw::attention_backward(p, out, lse, dout, dq, dk, dv, dbias, accumulate);
  return info.Env().Undefined();
}

}  // namespace

namespace mw {

void register_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attentionForward", Napi::Function::New(env, Forward, "attentionForward"));
  exports.Set("attentionBackward", Napi::Function::New(env, Backward, "attentionBackward"));
}

}  // namespace mw
