// The AVX2 loops of decode.cc's attention, log-softmax and top-k selection (decode_avx2.cc),
// for CPUs without AVX-512; decode.cc keeps the AVX-512 ones beside the code that calls them.
#pragma once

#include <cstdint>

namespace mw {

struct DecodeAttentionParams;

/**
 * Query head h of query row r (decode_attention's contract) over the positions [lo, hi), outside
 * of which none is kept; s: scratch of hi + 8 floats. False, with nothing written to the output,
 * when a kept score is NaN or +Infinity: the caller then takes the exact path, which propagates
 * them as the reference does.
 */
bool decode_attention_head_avx2(const DecodeAttentionParams& p, int64_t r, int64_t h, int64_t lo,
                                int64_t hi, float* s);

/** The maximum of x [n], NaN never counting; nan: whether x holds a NaN. */
float row_max_avx2(const float* x, int64_t n, bool& nan);
/** The sum in double of e^(x[j] - m) (float e, 0 for x[j] - m <= -87) for finite m >= max x. */
double sum_exp_avx2(const float* x, int64_t n, float m);
/** x[j] = float(x[j] - lse), the difference taken in double. */
void subtract_avx2(float* x, int64_t n, double lse);
/**
 * The first block start j0 >= from (from and j0 multiples of 8) whose block x[j0, min(j0 + 8, n))
 * holds an x[j] >= floor (NaN never does); n when none does.
 */
int64_t next_reaching_avx2(const float* x, int64_t from, int64_t n, float floor);

}  // namespace mw
