// The one argument checker of the N-API bindings (addon.cc, attention_binding.cc,
// decode_binding.cc). Every argument is checked (type, integer range, and that each array
// covers the largest index the kernel will touch) before any kernel runs, so no call from
// JavaScript, however wrong, can read or write outside its arrays or crash the process: it
// throws an Error whose message names the kernel and the argument, with code E_NATIVE_ARG (or
// E_INDEX for an id out of range, which src/backend/native.ts turns into a MaskwiseError).
//
// The kernels' arguments are read by name (`Fields`): each kernel's arguments are a TypeScript
// interface of src/tensor/backend.ts whose fields arrive as positions in the order
// src/backend/native.ts declares once, and are read here by their names (native/fields.h lists
// the names each group accepts). `Args` reads the few arguments of the settings functions
// (threads, ISA) by position and holds the checks both use.
#pragma once

#include <napi.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "fields.h"

namespace mw {

using i128 = __int128;
#define MW_INLINE __attribute__((always_inline)) inline
constexpr double kMaxSafe = 9007199254740991.0;  // Number.MAX_SAFE_INTEGER

/** A typed array's data and element count. */
template <class T>
struct View {
  T* p;
  int64_t len;
};

inline std::string num_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  return std::to_string(v);
}

inline std::string type_text(const Napi::Value& v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_float32_array: return "a Float32Array";
      case napi_int32_array: return "an Int32Array";
      case napi_float64_array: return "a Float64Array";
      case napi_uint8_array: return "a Uint8Array";
      case napi_uint16_array: return "a Uint16Array";
      default: return "another typed array";
    }
  }
  if (v.IsArray()) return "an array";
  if (v.IsNumber()) return num_text(v.As<Napi::Number>().DoubleValue());
  if (v.IsString()) return "a string";
  if (v.IsBoolean()) return "a boolean";
  if (v.IsBigInt()) return "a bigint";
  if (v.IsFunction()) return "a function";
  return "an object";
}

/** The product of sizes, saturated far beyond any array so that it cannot overflow. */
inline i128 prod(std::initializer_list<int64_t> xs) {
  i128 p = 1;
  for (int64_t x : xs) {
    p *= x;
    if (p > (i128{1} << 80)) p = i128{1} << 80;
  }
  return p;
}

template <class T>
struct TypedKind;
template <>
struct TypedKind<float> {
  static constexpr napi_typedarray_type kind = napi_float32_array;
  static constexpr const char* name = "a Float32Array";
};
template <>
struct TypedKind<int32_t> {
  static constexpr napi_typedarray_type kind = napi_int32_array;
  static constexpr const char* name = "an Int32Array";
};
template <>
struct TypedKind<uint8_t> {
  static constexpr napi_typedarray_type kind = napi_uint8_array;
  static constexpr const char* name = "a Uint8Array";
};
template <>
struct TypedKind<uint16_t> {
  static constexpr napi_typedarray_type kind = napi_uint16_array;
  static constexpr const char* name = "a Uint16Array";
};
template <>
struct TypedKind<double> {
  static constexpr napi_typedarray_type kind = napi_float64_array;
  static constexpr const char* name = "a Float64Array";
};

class Args {
 public:
  /** A call of `kernel` that must have at least `count` arguments. */
  Args(const Napi::CallbackInfo& info, const char* kernel, size_t count)
      : info_(info), kernel_(kernel) {
    if (info.Length() < count)
      fail("expects " + std::to_string(count) + " arguments, got " +
           std::to_string(info.Length()));
  }

  [[noreturn]] void fail(const std::string& msg, const char* code = "E_NATIVE_ARG") const {
    Napi::Error e = Napi::Error::New(info_.Env(), std::string("native ") + kernel_ + ": " + msg);
    e.Set("code", Napi::String::New(info_.Env(), code));
    throw e;
  }
  [[noreturn]] void bad(const Napi::Value& v, const char* name, const std::string& want) const {
    fail(std::string("argument '") + name + "' must be " + want + ", got " + type_text(v));
  }

  // ---- one value, named in messages ----
  // Each reads its value with one N-API call, whose status tells a value of the wrong type
  // (no separate type test): GEMM and the small kernels run thousands of times per step.

  /** The value as a double, or an error wanting `want`. */
  double as_double(const Napi::Value& v, const char* name, const char* want) const {
    double d;
    if (napi_get_value_double(info_.Env(), v, &d) != napi_ok) bad(v, name, want);
    return d;
  }
  /** An integer >= min (a size, offset, leading dimension or stride). */
  int64_t size(const Napi::Value& v, const char* name, int64_t min = 0) const {
    double d;
    if (napi_get_value_double(info_.Env(), v, &d) != napi_ok ||
        !(d >= static_cast<double>(min)) || d != std::floor(d) || d > kMaxSafe)
      bad(v, name, "an integer >= " + std::to_string(min));
    return static_cast<int64_t>(d);
  }
  /** Any safe integer. */
  int64_t integer(const Napi::Value& v, const char* name) const {
    const double d = as_double(v, name, "an integer");
    if (!(std::fabs(d) <= kMaxSafe) || d != std::floor(d)) bad(v, name, "an integer");
    return static_cast<int64_t>(d);
  }
  double number(const Napi::Value& v, const char* name) const {
    return as_double(v, name, "a number");
  }
  double finite(const Napi::Value& v, const char* name) const {
    const double d = number(v, name);
    if (!std::isfinite(d)) fail(std::string("argument '") + name + "' must be finite");
    return d;
  }
  bool boolean(const Napi::Value& v, const char* name) const {
    bool b;
    if (napi_get_value_bool(info_.Env(), v, &b) != napi_ok) bad(v, name, "a boolean");
    return b;
  }
  std::string str(const Napi::Value& v, const char* name) const {
    // Names of ops fit the buffer; a longer string is read again whole.
    char buf[32];
    size_t len;
    if (napi_get_value_string_utf8(info_.Env(), v, buf, sizeof buf, &len) != napi_ok)
      bad(v, name, "a string");
    if (len + 1 < sizeof buf) return std::string(buf, len);
    return v.As<Napi::String>().Utf8Value();
  }
  /** A typed array of element type T. */
  template <class T>
  View<T> typed(const Napi::Value& v, const char* name) const {
    napi_typedarray_type type;
    size_t length;
    void* data;
    if (napi_get_typedarray_info(info_.Env(), v, &type, &length, &data, nullptr, nullptr) !=
            napi_ok ||
        type != TypedKind<T>::kind)
      bad(v, name, TypedKind<T>::name);
    return {static_cast<T*>(data), static_cast<int64_t>(length)};
  }
  /** A typed array of element type T holding at least `count` elements. */
  template <class T>
  View<T> typed(const Napi::Value& v, const char* name, i128 count) const {
    View<T> a = typed<T>(v, name);
    need(a, name, count);
    return a;
  }
  /** As typed, or {nullptr, 0} for null or undefined (an optional array). */
  template <class T>
  View<T> typed_or_null(const Napi::Value& v, const char* name, i128 count) const {
    if (v.IsNull() || v.IsUndefined()) return {nullptr, 0};
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != TypedKind<T>::kind)
      bad(v, name, std::string(TypedKind<T>::name) + " or null");
    return typed<T>(v, name, count);
  }
  /** An array of integers; non-negative ones when `sizes`. */
  std::vector<int64_t> ints(const Napi::Value& v, const char* name, bool sizes) const {
    const char* want = sizes ? "an array of non-negative integers" : "an array of integers";
    if (!v.IsArray()) bad(v, name, want);
    auto arr = v.As<Napi::Array>();
    const uint32_t n = arr.Length();
    if (n > 64) fail(std::string("argument '") + name + "' has " + std::to_string(n) +
                     " entries; at most 64 axes are supported");
    std::vector<int64_t> out(n);
    for (uint32_t j = 0; j < n; j++) {
      const Napi::Value e = arr.Get(j);
      const std::string at = std::string("argument '") + name + "'[" + std::to_string(j) + "]";
      const char* one = sizes ? "a non-negative integer" : "an integer";
      if (!e.IsNumber()) fail(at + " must be " + one + ", got " + type_text(e));
      const double d = e.As<Napi::Number>().DoubleValue();
      if (!(std::fabs(d) <= kMaxSafe) || d != std::floor(d) || (sizes && d < 0))
        fail(at + " must be " + one + ", got " + num_text(d));
      out[j] = static_cast<int64_t>(d);
    }
    return out;
  }

  /** The array must hold at least `count` elements. */
  template <class T>
  void need(const View<T>& a, const char* name, i128 count) const {
    if (count > a.len)
      fail(std::string("array '") + name + "' is too short: the sizes need " +
           num_text(static_cast<double>(count)) + " elements, it has " + std::to_string(a.len));
  }

  // ---- by position ----

  const Napi::Value operator[](size_t i) const { return info_[i]; }
  int64_t size(size_t i, const char* name, int64_t min = 0) const {
    return size(info_[i], name, min);
  }
  int64_t integer(size_t i, const char* name) const { return integer(info_[i], name); }
  double number(size_t i, const char* name) const { return number(info_[i], name); }
  bool boolean(size_t i, const char* name) const { return boolean(info_[i], name); }
  std::string str(size_t i, const char* name) const { return str(info_[i], name); }
  View<float> f32(size_t i, const char* name) const { return typed<float>(info_[i], name); }
  View<int32_t> i32(size_t i, const char* name) const { return typed<int32_t>(info_[i], name); }
  std::vector<int64_t> ints(size_t i, const char* name, bool sizes) const {
    return ints(info_[i], name, sizes);
  }

  Napi::Env env() const { return info_.Env(); }
  const Napi::CallbackInfo& info() const { return info_; }

 private:
  const Napi::CallbackInfo& info_;
  const char* kernel_;
};

/**
 * The order in which each field-order group (native/fields.h) receives its fields, as
 * src/backend/native.ts gives it once (`fieldOrder`): the TypeScript list is the one
 * declaration, positional arguments are the cheapest to read, and the code here reads each
 * field by its TypeScript name. Kept per environment.
 */
class FieldOrders {
 public:
  struct Order {
    const char* group = nullptr;  // empty until given
    std::vector<std::string> names;
    // Lookups by the address of a name literal, remembered after the first by string.
    mutable std::vector<std::pair<const char*, size_t>> seen;
  };

  static FieldOrders& of(Napi::Env env) {
    FieldOrders* orders = env.GetInstanceData<FieldOrders>();
    if (orders == nullptr) {
      orders = new FieldOrders();
      env.SetInstanceData(orders);
    }
    return *orders;
  }
  /** Sets the order of `group`; it must name each of the group's fields exactly once. */
  void set(const Args& A, const std::string& group, std::vector<std::string> names) {
    const auto& groups = field_groups();
    size_t g = 0;
    while (g < groups.size() && group != groups[g].group) g++;
    if (g == groups.size()) A.fail("unknown field group '" + group + "'");
    const auto& accepted = groups[g].names;
    for (size_t i = 0; i < names.size(); i++) {
      bool known = false;
      for (const char* a : accepted) known = known || names[i] == a;
      if (!known) A.fail("'" + group + "' has no field '" + names[i] + "' (native/fields.h)");
      for (size_t j = 0; j < i; j++)
        if (names[j] == names[i]) A.fail("field '" + names[i] + "' is named twice");
    }
    for (const char* a : accepted) {
      bool given = false;
      for (const std::string& n : names) given = given || n == a;
      if (!given)
        A.fail(std::string("field '") + a + "' is missing from the order given for '" + group +
               "'");
    }
    orders_.resize(groups.size());
    orders_[g] = {groups[g].group, std::move(names), {}};
  }
  const Order* find(const char* group) const {
    // Bindings name their group with a literal: compare its address first.
    for (const auto& [p, g] : seen_)
      if (p == group) return orders_[g].group != nullptr ? &orders_[g] : nullptr;
    for (size_t g = 0; g < orders_.size(); g++)
      if (orders_[g].group != nullptr && std::string(orders_[g].group) == group) {
        seen_.emplace_back(group, g);
        return &orders_[g];
      }
    return nullptr;
  }

 private:
  std::vector<Order> orders_;  // by index in field_groups()
  mutable std::vector<std::pair<const char*, size_t>> seen_;
};

/**
 * Named arguments: the fields of an interface of src/tensor/backend.ts, passed in the order
 * src/backend/native.ts declared for `group`, each read here by its TypeScript name, which is
 * also the name an error gives. `after` more arguments (outputs) may follow, from end().
 */
class Fields {
 public:
  /**
   * The fields start at argument `base` (0, or past the arguments of a first product in
   * gemmPair); `after` arguments follow them, then up to `optional` more (gemm's packed weight).
   */
  Fields(const Args& a, const char* group, size_t after = 0, size_t optional = 0,
         size_t base = 0)
      : A(a), base_(base) {
    order_ = FieldOrders::of(a.env()).find(group);
    if (order_ == nullptr)
      a.fail(std::string("the field order of '") + group +
             "' was not given (src/backend/native.ts gives it when the backend is made)");
    const size_t n = a.info().Length(), least = base + order_->names.size() + after;
    if (n < least || n > least + optional)
      a.fail("expects " + std::to_string(order_->names.size() + after) +
             " arguments (the fields of '" + group + "'" + (after > 0 ? ", then outputs" : "") +
             "), got " + std::to_string(a.info().Length()));
  }
  /** The index of the first argument after the fields. */
  size_t end() const { return base_ + order_->names.size(); }

  // The accessors are forced inline: GEMM and the small kernels read up to 21 fields per call,
  // thousands of calls per step, and a call per read cost them measurably
  // (bench/binding-calls.ts).
  MW_INLINE Napi::Value operator[](const char* name) const { return get(name); }
  MW_INLINE int64_t size(const char* name, int64_t min = 0) const {
    return A.size(get(name), name, min);
  }
  MW_INLINE int64_t integer(const char* name) const { return A.integer(get(name), name); }
  MW_INLINE double finite(const char* name) const { return A.finite(get(name), name); }
  MW_INLINE double number(const char* name) const { return A.number(get(name), name); }
  MW_INLINE bool boolean(const char* name) const { return A.boolean(get(name), name); }
  std::string str(const char* name) const { return A.str(get(name), name); }
  std::vector<int64_t> ints(const char* name, bool sizes) const {
    return A.ints(get(name), name, sizes);
  }
  MW_INLINE View<float> f32(const char* name) const { return A.typed<float>(get(name), name); }
  MW_INLINE View<int32_t> i32(const char* name) const {
    return A.typed<int32_t>(get(name), name);
  }
  /** An optional integer field: `fallback` when absent (undefined). */
  int64_t size_or(const char* name, int64_t fallback, int64_t min = 0) const {
    const Napi::Value v = get(name);
    return v.IsUndefined() ? fallback : A.size(v, name, min);
  }
  template <class T>
  MW_INLINE View<T> typed(const char* name, i128 count) const {
    return A.typed<T>(get(name), name, count);
  }
  template <class T>
  View<T> typed_or_null(const char* name, i128 count) const {
    return A.typed_or_null<T>(get(name), name, count);
  }

  const Args& A;

 private:
  MW_INLINE Napi::Value get(const char* name) const {
    // A kernel reads its fields in the same sequence on every call: the next remembered read
    // is almost always this one (the same literal, so the same address).
    const auto& seen = order_->seen;
    if (__builtin_expect(cursor_ < seen.size() && seen[cursor_].first == name, 1))
      return A.info()[base_ + seen[cursor_++].second];
    return A.info()[base_ + lookup(name)];
  }
  __attribute__((noinline)) size_t lookup(const char* name) const {
    auto& seen = order_->seen;
    for (size_t k = 0; k < seen.size(); k++)
      if (seen[k].first == name) {
        cursor_ = k + 1;
        return seen[k].second;
      }
    for (size_t i = 0; i < order_->names.size(); i++)
      if (order_->names[i] == name) {
        seen.emplace_back(name, i);
        cursor_ = seen.size();
        return i;
      }
    A.fail(std::string("field '") + name + "' is not a field of '" + order_->group +
           "' (native/fields.h)");
  }
  const FieldOrders::Order* order_;
  size_t base_;
  mutable size_t cursor_ = 0;
};

/** fieldOrder(group, names): the order of a group's fields (src/backend/native.ts). */
inline Napi::Value SetFieldOrder(const Napi::CallbackInfo& info) {
  Args A(info, "fieldOrder", 2);
  const std::string group = A.str(0, "group");
  if (!info[1].IsArray()) A.bad(info[1], "names", "an array of strings");
  const Napi::Array arr = info[1].As<Napi::Array>();
  std::vector<std::string> names;
  for (uint32_t i = 0; i < arr.Length(); i++) names.push_back(A.str(arr.Get(i), "names"));
  FieldOrders::of(info.Env()).set(A, group, std::move(names));
  return info.Env().Undefined();
}

/** fieldNames(): {group: [names]}, the fields each group accepts (native/fields.h). */
inline Napi::Value FieldNames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  for (const FieldGroup& g : field_groups()) {
    Napi::Array names = Napi::Array::New(env, g.names.size());
    for (uint32_t i = 0; i < g.names.size(); i++) names.Set(i, Napi::String::New(env, g.names[i]));
    out.Set(g.group, names);
  }
  return out;
}

}  // namespace mw
