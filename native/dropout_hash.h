// The hash behind every dropout decision (element-wise masks and attention weights): murmur3's
// 32-bit finaliser of (index * golden ratio + seed). dropoutHash in src/tensor/backend.ts is the
// same function; an element is dropped when the hash is below ceil(p * 2^32).
#pragma once

#include <cstdint>

namespace mw {

inline uint32_t dropout_hash(uint32_t seed, uint32_t index) {
  uint32_t h = index * 0x9e3779b1u + seed;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

}  // namespace mw
