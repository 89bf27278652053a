// N-API bindings of the decoding kernels, with the rule of native/args.h: every argument is
// checked (type, integer range, each array long enough for every index the kernel touches, every
// row of the row map inside the cache) before the kernel runs; a bad one throws an Error naming
// the kernel and the argument. Each kernel receives the fields of its interface of
// src/tensor/backend.ts (DecodeAttentionArgs, GemmBf16Args, ...) in the order
// src/backend/native.ts declares, and reads them by name.
#include <napi.h>

#include <cmath>
#include <string>

#include "args.h"
#include "decode.h"
#include "gemm.h"

namespace {

using mw::Args;
using mw::Fields;
using mw::i128;
using mw::kMaxSafe;

/** decodeAttention(...DecodeAttentionArgs fields); keep, slots and bias may be null. */
Napi::Value DecodeAttention(const Napi::CallbackInfo& info) {
  const Args A(info, "decodeAttention", 0);
  const Fields f(A, "decodeAttention");
  mw::DecodeAttentionParams p{};
  p.R = f.size("R");
  p.H = f.size("H");
  p.Dh = f.size("Dh");
  p.P = f.size("P");
  p.capacity = f.size("capacity");
  p.length = f.size("length");
  if (p.length > p.capacity) A.fail("argument 'length' exceeds 'capacity'");
  p.Hkv = f.size_or("kvHeads", p.H);
  if (p.H > 0 && (p.Hkv < 1 || p.H % p.Hkv != 0))
    A.fail("argument 'kvHeads' = " + std::to_string(p.Hkv) + " does not divide H = " +
           std::to_string(p.H));
  if (p.H == 0) p.Hkv = 0;
  const i128 rhd = mw::prod({p.R, p.H, p.Dh});
  const i128 cache = mw::prod({p.P, p.Hkv, p.capacity, p.Dh});
  if (rhd > kMaxSafe || cache > kMaxSafe) A.fail("the sizes are too large");
  p.q = f.typed<float>("q", rhd).p;
  p.k = f.typed<float>("k", cache).p;
  p.v = f.typed<float>("v", cache).p;
  const mw::View<int32_t> rows = f.typed<int32_t>("rows", p.R);
  for (int64_t r = 0; r < p.R; r++)
    if (rows.p[r] < 0 || rows.p[r] >= p.P)
      A.fail("rows[" + std::to_string(r) + "] = " + std::to_string(rows.p[r]) +
             " is outside the cache's " + std::to_string(p.P) + " rows");
  p.rows = rows.p;
  p.slotStride = f.size("slotStride");
  if (f["slots"].IsNull()) {
    p.slots = nullptr;
  } else {
    if (p.slotStride < p.length) A.fail("argument 'slotStride' is shorter than 'length'");
    if (static_cast<double>(p.R) * p.slotStride > kMaxSafe) A.fail("the sizes are too large");
    const mw::View<int32_t> slots =
        f.typed_or_null<int32_t>("slots", mw::prod({p.R, p.slotStride}));
    // Every position the kernel reads: a bad row would read outside the cache.
    for (int64_t r = 0; r < p.R; r++)
      for (int64_t j = 0; j < p.length; j++) {
        const int32_t x = slots.p[r * p.slotStride + j];
        if (x < 0 || x >= p.P)
          A.fail("slots[" + std::to_string(r * p.slotStride + j) + "] = " + std::to_string(x) +
                 " is outside the cache's " + std::to_string(p.P) + " rows");
      }
    p.slots = slots.p;
  }
  p.keepStride = f.size("keepStride");
  if (f["keep"].IsNull()) {
    p.keep = nullptr;
  } else {
    if (p.keepStride < p.length) A.fail("argument 'keepStride' is shorter than 'length'");
    // Indexed by physical row, or with slots by query row.
    const int64_t keepRows = p.slots != nullptr ? p.R : p.P;
    p.keep = f.typed_or_null<uint8_t>("keep", mw::prod({keepRows, p.keepStride})).p;
  }
  p.scale = static_cast<float>(f.finite("scale"));
  p.out = f.typed<float>("out", rhd).p;
  // Without a bias its offsets are not read (a decoding step without one pays nothing).
  p.bias = nullptr;
  const Napi::Value bias = f["bias"];
  if (!bias.IsNull() && !bias.IsUndefined()) {
    p.biasOffset = f.size_or("biasOffset", 0);
    p.biasHeadStride = f.size_or("biasHeadStride", 0);
    // The last element read: head H - 1, position length - 1.
    const i128 need = p.H > 0 && p.length > 0
                          ? i128{p.biasOffset} + i128{p.H - 1} * p.biasHeadStride + p.length
                          : 0;
    p.bias = A.typed<float>(bias, "bias", need).p;
  }
  // Nothing to compute; and with H or Dh = 0 the cache arrays bound nothing, so `length` must
  // not size a scratch array or a loop.
  if (p.R == 0 || p.H == 0 || p.Dh == 0) return info.Env().Undefined();
  mw::decode_attention(p);
  return info.Env().Undefined();
}

/** decodeLogSoftmax(...DecodeLogSoftmaxArgs fields): in place. */
Napi::Value DecodeLogSoftmax(const Napi::CallbackInfo& info) {
  const Args A(info, "decodeLogSoftmax", 0);
  const Fields f(A, "decodeLogSoftmax");
  const int64_t rows = f.size("rows");
  const int64_t cols = f.size("cols");
  float* x = f.typed<float>("x", mw::prod({rows, cols})).p;
  if (cols == 0) return info.Env().Undefined();  // rows of nothing: no loop over `rows`
  mw::decode_log_softmax(x, rows, cols);
  return info.Env().Undefined();
}

/**
 * decodeTopKGroups(...DecodeTopKGroupsArgs fields): offsets [G + 1] rising from 0 to the rows'
 * count; hyp, token, score [G * M], counts [G].
 */
Napi::Value DecodeTopKGroups(const Napi::CallbackInfo& info) {
  const Args A(info, "decodeTopKGroups", 0);
  const Fields f(A, "decodeTopKGroups");
  const int64_t V = f.size("V");
  const int64_t M = f.size("M");
  const mw::View<float> lp = f.f32("lp");
  const int64_t lpRows = V > 0 ? lp.len / V : 0;
  const mw::View<int32_t> rows = f.i32("rows");
  const int64_t n = rows.len;
  for (int64_t h = 0; h < n; h++)
    if (rows.p[h] < 0 || rows.p[h] >= lpRows)
      A.fail("rows[" + std::to_string(h) + "] = " + std::to_string(rows.p[h]) +
             " is outside the " + std::to_string(lpRows) + " rows of lp");
  const double* base = f.typed<double>("base", n).p;
  if (V > 2147483647) A.fail("argument 'V' is too large");
  const mw::View<int32_t> offsets = f.i32("offsets");
  if (offsets.len < 1) A.fail("argument 'offsets' needs at least one element (0)");
  const int64_t G = offsets.len - 1;
  if (offsets.p[0] != 0) A.fail("argument 'offsets' must start at 0");
  for (int64_t g = 0; g < G; g++)
    if (offsets.p[g + 1] < offsets.p[g])
      A.fail("offsets[" + std::to_string(g + 1) + "] is below offsets[" + std::to_string(g) + "]");
  if (offsets.p[G] != n)
    A.fail("offsets[" + std::to_string(G) + "] = " + std::to_string(offsets.p[G]) +
           " is not the " + std::to_string(n) + " rows given");
  const i128 out = mw::prod({G, M});
  int32_t* hyp = f.typed<int32_t>("hyp", out).p;
  int32_t* token = f.typed<int32_t>("token", out).p;
  double* score = f.typed<double>("score", out).p;
  int32_t* counts = f.typed<int32_t>("counts", G).p;
  mw::decode_top_k_groups(lp.p, V, rows.p, base, offsets.p, G, M, hyp, token, score, counts);
  return info.Env().Undefined();
}

/** gemmBf16(...GemmBf16Args fields): c [m, n] += a [m, k] w^T, w [n, k] bfloat16 bits. */
Napi::Value GemmBf16(const Napi::CallbackInfo& info) {
  const Args A(info, "gemmBf16", 0);
  const Fields f(A, "gemmBf16");
  const int64_t m = f.size("m");
  const int64_t n = f.size("n");
  const int64_t k = f.size("k");
  const i128 mk = mw::prod({m, k}), nk = mw::prod({n, k}), mn = mw::prod({m, n});
  if (mk > kMaxSafe || nk > kMaxSafe || mn > kMaxSafe) A.fail("the sizes are too large");
  const float* a = f.typed<float>("a", mk).p;
  const uint16_t* w = f.typed<uint16_t>("w", nk).p;
  float* out = f.typed<float>("c", mn).p;
  mw::gemm_skinny_bf16(m, n, k, a, w, out);
  return info.Env().Undefined();
}

/** The byte range [from, to) of `count` floats at p (empty when count is 0). */
struct Span {
  const char* from;
  const char* to;
  bool overlaps(const Span& o) const {
    return from < to && o.from < o.to && from < o.to && o.from < to;
  }
};
Span span(const float* p, i128 count) {
  const char* from = reinterpret_cast<const char*>(p);
  return {from, from + static_cast<int64_t>(count) * static_cast<int64_t>(sizeof(float))};
}

/** cacheWrite(...CacheWriteArgs fields): v and vCache both null, or both given. */
Napi::Value CacheWrite(const Napi::CallbackInfo& info) {
  const Args A(info, "cacheWrite", 0);
  const Fields f(A, "cacheWrite");
  const int64_t B = f.size("B");
  const int64_t T = f.size("T");
  const int64_t H = f.size("H");
  const int64_t Dh = f.size("Dh");
  const int64_t kOffset = f.size("kOffset");
  const int64_t vOffset = f.size("vOffset");
  const int64_t srcStride = f.size("srcStride");
  const int64_t capacity = f.size("capacity");
  const int64_t t0 = f.size("t0");
  const i128 width = mw::prod({H, Dh});
  if (srcStride < width)
    A.fail("argument 'srcStride' = " + std::to_string(srcStride) + " is less than H * Dh = " +
           mw::num_text(static_cast<double>(width)));
  if (i128{t0} + T > capacity)
    A.fail("positions t0 " + std::to_string(t0) + " + T " + std::to_string(T) +
           " exceed the capacity " + std::to_string(capacity));
  const bool values = !f["v"].IsNull();
  if (values == f["vCache"].IsNull())
    A.fail("arguments 'v' and 'vCache' must both be given or both be null");
  const i128 n = mw::prod({B, T});
  const bool copies = n > 0 && width > 0;
  // The last source element read, past the first source row's start; the cache written.
  const i128 rows = copies ? (n - 1) * srcStride + width : 0;
  const i128 written = mw::prod({B, H, capacity, Dh});
  if (rows + kOffset > kMaxSafe || rows + vOffset > kMaxSafe || written > kMaxSafe)
    A.fail("the sizes are too large");
  // Nothing is read when nothing is copied: the offsets then bound nothing.
  const float* k = f.typed<float>("k", copies ? kOffset + rows : 0).p;
  const float* v = values ? f.typed<float>("v", copies ? vOffset + rows : 0).p : nullptr;
  float* kCache = f.typed<float>("kCache", written).p;
  float* vCache = values ? f.typed<float>("vCache", written).p : nullptr;
  if (!copies) return info.Env().Undefined();
  k += kOffset;
  if (values) v += vOffset;
  // A source overlapping a destination would read what the copy already overwrote.
  const Span reads[] = {span(k, rows), span(v, values ? rows : 0)};
  const Span writes[] = {span(kCache, written), span(vCache, values ? written : 0)};
  for (const Span& r : reads)
    for (const Span& w : writes)
      if (r.overlaps(w)) A.fail("a source overlaps a destination cache");
  mw::cache_write(k, srcStride, kCache, B, T, H, Dh, capacity, t0);
  if (values) mw::cache_write(v, srcStride, vCache, B, T, H, Dh, capacity, t0);
  return info.Env().Undefined();
}

}  // namespace

namespace mw {

void register_decode(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeAttention", Napi::Function::New(env, DecodeAttention, "decodeAttention"));
  exports.Set("decodeLogSoftmax", Napi::Function::New(env, DecodeLogSoftmax, "decodeLogSoftmax"));
  exports.Set("decodeTopKGroups", Napi::Function::New(env, DecodeTopKGroups, "decodeTopKGroups"));
  exports.Set("gemmBf16", Napi::Function::New(env, GemmBf16, "gemmBf16"));
  exports.Set("cacheWrite", Napi::Function::New(env, CacheWrite, "cacheWrite"));
}

}  // namespace mw
