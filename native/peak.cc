// The FMA peak probe the matmul benchmark divides by: independent FMA chains on registers with
// the selected GEMM ISA (or VDPBF16PS chains, for the bfloat16 GEMM), run on every pool thread at once, so "ratio to peak" compares GEMM
// with what these cores deliver right now (clock, sharing) rather than with a datasheet.
#include "simd.h"

#include <atomic>
#include <chrono>

#include "gemm.h"
#include "threadpool.h"

namespace mw {
namespace {

// 16 accumulators: at a 4-cycle latency and 2 FMA pipes, 8 chains keep the pipes full; twice
// that leaves margin for any core with longer latency. AVX2 has only 16 ymm registers, two of
// them the operands: 12 chains there (16 would spill to the stack and read low).
constexpr int kChains = 16;
constexpr int kChainsAvx2 = 12;

MW_TARGET("avx512f,fma") double chains_avx512(int64_t iters) {
  __m512 acc[kChains];
  const __m512 x = _mm512_set1_ps(0.999999f);
  const __m512 y = _mm512_set1_ps(1e-7f);
#pragma GCC unroll 16
  for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_fmadd_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) double chains_avx2(int64_t iters) {
  __m256 acc[kChainsAvx2];
  const __m256 x = _mm256_set1_ps(0.999999f);
  const __m256 y = _mm256_set1_ps(1e-7f);
#pragma GCC unroll 12
  for (int i = 0; i < kChainsAvx2; i++) acc[i] = _mm256_set1_ps(static_cast<float>(i));
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < kChainsAvx2; i++) acc[i] = _mm256_fmadd_ps(acc[i], x, y);
  }
  __m256 s = acc[0];
#pragma GCC unroll 12
  for (int i = 1; i < kChainsAvx2; i++) s = _mm256_add_ps(s, acc[i]);
  alignas(32) float t[8];
  _mm256_store_ps(t, s);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}

// The bfloat16 dot product: each VDPBF16PS multiplies 32 pairs and adds them into 16 float32
// lanes (4 flops a lane), on the same pipes as the FMA.
MW_TARGET("avx512f,avx512bf16") double chains_bf16(int64_t iters) {
  __m512 acc[kChains];
  const __m512i xi = _mm512_set1_epi32(0x3f7f3f7f);  // bfloat16 0.996 in both halves
  const __m512i yi = _mm512_set1_epi32(0x33d633d6);  // bfloat16 1e-7 in both halves
  const __m512bh x = reinterpret_cast<const __m512bh&>(xi);
  const __m512bh y = reinterpret_cast<const __m512bh&>(yi);
#pragma GCC unroll 16
  for (int i = 0; i < kChains; i++) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; i++) acc[i] = _mm512_dpbf16_ps(acc[i], x, y);
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int i = 1; i < kChains; i++) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

double chains_portable(int64_t iters) {
  float acc[kChains][4];
  for (int i = 0; i < kChains; i++)
    for (int l = 0; l < 4; l++) acc[i][l] = static_cast<float>(i + l);
  for (int64_t it = 0; it < iters; it++) {
    for (int i = 0; i < kChains; i++)
      for (int l = 0; l < 4; l++) acc[i][l] = acc[i][l] * 0.999999f + 1e-7f;
    __asm__ volatile("" ::: "memory");
  }
  double s = 0;
  for (int i = 0; i < kChains; i++)
    for (int l = 0; l < 4; l++) s += acc[i][l];
  return s;
}

// Floating-point operations per iteration of each probe (an FMA counts 2 per lane).
double flops_per_iter(Isa isa) {
  switch (isa) {
    case Isa::avx512: return 2.0 * 16 * kChains;
    case Isa::avx2: return 2.0 * 8 * kChainsAvx2;
    default: return 2.0 * 4 * kChains;
  }
}

double run_chains(Isa isa, int64_t iters) {
  switch (isa) {
    case Isa::avx512: return chains_avx512(iters);
    case Isa::avx2: return chains_avx2(iters);
    default: return chains_portable(iters);
  }
}

}  // namespace

double fma_peak_gflops(double seconds, bool bf16) {
  const Isa isa = gemm_isa();
  bf16 = bf16 && bf16_dot_available();
  ThreadPool& pool = ThreadPool::instance();
  const int T = pool.threads();
  std::atomic<double> sink{0};
  // Runs `iters` on all T threads at once and returns the wall time. Each task waits until all
  // have started, so T chains run on T threads together rather than one thread picking up two
  // tasks in a row (the wait is capped so a oversubscribed machine cannot hang it).
  auto timed = [&](int64_t iters) {
    std::atomic<int> started{0};
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_for(T, [&](int64_t, int) {
      started.fetch_add(1);
      const auto w0 = std::chrono::steady_clock::now();
      while (started.load() < T &&
             std::chrono::steady_clock::now() - w0 < std::chrono::milliseconds(500)) {
      }
      const double r = bf16 ? chains_bf16(iters) : run_chains(isa, iters);
      double cur = sink.load();
      while (!sink.compare_exchange_weak(cur, cur + r)) {
      }
    });
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  // Calibrate on all threads (which also wakes them), then time about `seconds`.
  int64_t iters = 1 << 12;
  for (;;) {
    const double dt = timed(iters);
    if (dt > seconds / 16 || iters > (int64_t{1} << 40)) {
      iters = static_cast<int64_t>(static_cast<double>(iters) * (seconds / (dt > 0 ? dt : 1e-9)));
      break;
    }
    iters *= 4;
  }
  if (iters < 1) iters = 1;
  const double dt = timed(iters);
  const double per_iter = bf16 ? 4.0 * 16 * kChains : flops_per_iter(isa);
  return per_iter * static_cast<double>(iters) * T / dt / 1e9;
}

}  // namespace mw
