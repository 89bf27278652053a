// Per-thread packing space for the GEMM drivers: 64-byte aligned, grown on demand, kept for reuse.
#pragma once

#include <cstdlib>
#include <new>

namespace mw {

struct Scratch {
  void* p = nullptr;
  size_t cap = 0;  // bytes
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(p); }
  /** Room for n elements of T (the previous contents are not kept). */
  template <typename T>
  T* get(size_t n) {
    const size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    if (bytes > cap) {
      std::free(p);
      p = std::aligned_alloc(64, bytes);
      if (p == nullptr) {
        cap = 0;
        throw std::bad_alloc();
      }
      cap = bytes;
    }
    return static_cast<T*>(p);
  }
};

}  // namespace mw
