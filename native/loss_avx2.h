// The AVX2 row loops of cross-entropy (loss_avx2.cc); loss.cc calls them where the CPU has AVX2.
#pragma once

#include <cstdint>

namespace mw {

/** loss.cc's row_lse_fast: log-sum-exp and sum of a finite row, false when it is not finite. */
bool row_lse_avx2(const float* z, int64_t V, double& lse, double& zsum);
/** loss.cc's row_grad_fast: d[j] (+)= dl * (exp(z[j] - l) - off). */
void row_grad_avx2(const float* z, float l, float dl, float off, float* d, int64_t V, bool acc);

}  // namespace mw
