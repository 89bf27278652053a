// The scalar ends of cross-entropy's row passes in 16 lanes, shared by loss.cc's loops and
// loss_avx2.cc's intrinsics so that both reduce their lanes in the same order (the same bits).
#pragma once

#include <cmath>
#include <cstdint>

namespace mw {

constexpr int kLossLanes = 16;

/**
 * The first pass's end: elements [body, V) into lane 0, then the lanes' maximum m, finiteness
 * check and sum zt (in double). False when the row holds a NaN or an infinity (or is empty).
 */
inline bool finish_first_pass(const float* z, int64_t body, int64_t V, float* mx, float* chk,
                              float* zs, float& m, double& zt) {
  for (int64_t j = body; j < V; j++) {
    mx[0] = z[j] > mx[0] ? z[j] : mx[0];
    chk[0] += z[j] * 0.0f;
    zs[0] += z[j];
  }
  m = -INFINITY;
  float c = 0.0f;
  zt = 0;
  for (int k = 0; k < kLossLanes; k++) {
    m = mx[k] > m ? mx[k] : m;
    c += chk[k];
    zt += zs[k];
  }
  return c == 0.0f && V > 0;
}

/** The second pass's end: log-sum-exp from the lanes' sums of exp(z - m) (tail included). */
inline double lanes_lse(const float* s, float m) {
  double sum = 0;
  for (int k = 0; k < kLossLanes; k++) sum += s[k];
  return m + std::log(sum);
}

}  // namespace mw
