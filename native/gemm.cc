// The GEMM driver: packing, cache blocking, threading, and the direct path for small problems.
//
// Loop nest per task (GotoBLAS): jc over N by nc -> pc over K by kc -> pack B[kc x nc] into
// nr-wide panels (or find them in a weight packed ahead, pack_weight) -> ic over M by mc -> pack A[mc x kc] into mr-high panels -> jr over the B
// panels -> ir over the A panels -> micro-kernel. The B micro-panel (kc x nr) stays in L1 while
// the ir loop streams A panels from L2. Transposes only change how packing reads memory.
#include "gemm.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "scratch.h"
#include "simd.h"
#include "threadpool.h"

namespace mw {

namespace {

Isa detect_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (MW_CPU_SUPPORTS("avx512f") && MW_CPU_SUPPORTS("avx512vl") &&
      MW_CPU_SUPPORTS("avx512dq"))
    return Isa::avx512;
  if (MW_CPU_SUPPORTS("avx2") && MW_CPU_SUPPORTS("fma")) return Isa::avx2;
#endif
  return Isa::portable;
}

Isa g_isa = detect_isa();

const MicroKernel& base_kernel() {
  switch (g_isa) {
    case Isa::avx512: return kernel_avx512();
    case Isa::avx2: return kernel_avx2();
    default: return kernel_portable();
  }
}

// MASKWISE_GEMM_BLOCKING=kc,mc,nc overrides the cache blocking (for tuning on a new CPU).
MicroKernel active_kernel() {
  MicroKernel k = base_kernel();
  static const char* env = std::getenv("MASKWISE_GEMM_BLOCKING");
  if (env != nullptr) {
    long kc = 0, mc = 0, nc = 0;
    if (std::sscanf(env, "%ld,%ld,%ld", &kc, &mc, &nc) == 3 && kc > 0 && mc > 0 && nc > 0 &&
        kc <= 4096 && mc <= 4096 && nc <= 16384) {
      k.kc = static_cast<int>(kc);
      k.mc = static_cast<int>((mc + k.mr - 1) / k.mr * k.mr);
      k.nc = static_cast<int>((nc + k.nr - 1) / k.nr * k.nr);
    }
  }
  return k;
}

// The kernel with its k blocks evened out for a product of depth k: as many blocks as kc
// allows, each as deep as the others (rounded up to 8), instead of full blocks and a shallow
// last one (k 800 at kc 256: 4 x 200, not 3 x 256 + 32). Every path of one product (packing
// ahead, shared panels, the tiles) takes the same blocks, so the same sums in the same order.
MicroKernel kernel_for_depth(MicroKernel k, int64_t depth) {
  const int64_t blocks = (depth + k.kc - 1) / k.kc;
  if (blocks > 1) {
    const int64_t even = (depth + blocks - 1) / blocks;
    k.kc = static_cast<int>(std::min<int64_t>(k.kc, (even + 7) / 8 * 8));
  }
  return k;
}

// Per-OS-thread packing buffers.
thread_local Scratch t_abuf, t_bbuf;
// MASKWISE_GEMM_PACK_B=1 always packs B (for comparisons).
const bool g_direct_b = std::getenv("MASKWISE_GEMM_PACK_B") == nullptr;

// One row of a whole packed panel: nr (or mr: 12 on AVX-512, 6 on AVX2) contiguous floats. A
// constant size lets the compiler inline the copy as a few vector moves instead of a call.
inline void copy_panel_row(float* d, const float* s, int nr) {
  switch (nr) {
    case 32: std::memcpy(d, s, 32 * sizeof(float)); break;
    case 16: std::memcpy(d, s, 16 * sizeof(float)); break;
    case 12: std::memcpy(d, s, 12 * sizeof(float)); break;
    case 8: std::memcpy(d, s, 8 * sizeof(float)); break;
    case 6: std::memcpy(d, s, 6 * sizeof(float)); break;
    default: std::memcpy(d, s, static_cast<size_t>(nr) * sizeof(float));
  }
}

// Loops that should run in the widest vectors the CPU has, whatever the build's baseline: one
// copy per target, picked at load time.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MW_GEMM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MW_GEMM_CLONES
#endif

// acc[i] += s[i] for i < n, in double (row_sums' accumulation).
MW_GEMM_CLONES
void add_f64(double* __restrict acc, const float* __restrict s, int64_t n) {
  for (int64_t i = 0; i < n; i++) acc[i] += s[i];
}

// rsum[i] += sum of op(A)[i0 + i, p0:p0+kc], element by element in p order, for i < mc.
void sum_a_rows(const GemmParams& g, const float* A, int64_t i0, int64_t mc, int64_t p0,
                int64_t kc, double* rsum) {
  if (g.transA) {
    // Element (i, p) at i + p * lda: a stored row holds op(A)'s column p.
    for (int64_t p = 0; p < kc; p++) add_f64(rsum, A + i0 + (p0 + p) * g.lda, mc);
    return;
  }
  for (int64_t i = 0; i < mc; i++) {
    const float* r = A + (i0 + i) * g.lda + p0;
    double s = rsum[i];
    for (int64_t p = 0; p < kc; p++) s += r[p];
    rsum[i] = s;
  }
}

// row_sums over all of op(A), for the paths that do not pack it.
void row_sums_plain(const GemmParams& g) {
  std::vector<double> acc(static_cast<size_t>(g.m), 0.0);
  sum_a_rows(g, g.a, 0, g.m, 0, g.k, acc.data());
  for (int64_t i = 0; i < g.m; i++) g.row_sums[i] = static_cast<float>(acc[i]);
}

// Packs op(A)[i0:i0+mc, p0:p0+kc] as panels of mr rows, each laid out [p][mr]; rows past mc
// are zero (the kernel for a short panel reads only its rows, but keep memory defined).
void pack_a(const GemmParams& g, const float* A, int mr, int64_t i0, int64_t mc, int64_t p0,
            int64_t kc, float* dst) {
  if (g.transA) {
    // Element (i, p) at i + p * lda: each k step holds mr contiguous floats of every panel.
    // The whole panels are filled a stored row at a time, as pack_b fills a non-transposed B:
    // panel by panel, each k step would read a new cache line of a row lda apart (a weight
    // gradient's A is the output gradient [R, N], read down its R rows), and every panel
    // would read those lines again.
    const int64_t whole = mc / mr * mr;
    for (int64_t p = 0; p < kc; p++) {
      const float* s = A + i0 + (p0 + p) * g.lda;
      for (int64_t ir = 0; ir < whole; ir += mr) copy_panel_row(dst + ir * kc + p * mr, s + ir, mr);
    }
    if (whole < mc) {
      const int rows = static_cast<int>(mc - whole);
      const float* s = A + (i0 + whole) + p0 * g.lda;
      float* d = dst + whole * kc;
      for (int64_t p = 0; p < kc; p++, s += g.lda, d += mr) {
        int i = 0;
        for (; i < rows; i++) d[i] = s[i];
        for (; i < mr; i++) d[i] = 0.0f;
      }
    }
    return;
  }
  // Element (i, p) at i * lda + p: a transpose of mr rows per panel.
  for (int64_t ir = 0; ir < mc; ir += mr) {
    const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ir));
    float* d = dst + ir * kc;
    const float* s = A + (i0 + ir) * g.lda + p0;
    if (g_isa == Isa::avx512 && mr <= 16) {
      pack_transposed_avx512(s, g.lda, rows, kc, d, mr, mr);
    } else if (g_isa == Isa::avx2 && mr <= 8) {
      pack_transposed_avx2(s, g.lda, rows, kc, d, mr, mr);
    } else if (rows == mr) {
      for (int64_t p = 0; p < kc; p++)
        for (int i = 0; i < mr; i++) d[p * mr + i] = s[i * g.lda + p];
    } else {
      for (int64_t p = 0; p < kc; p++) {
        int i = 0;
        for (; i < rows; i++) d[p * mr + i] = s[i * g.lda + p];
        for (; i < mr; i++) d[p * mr + i] = 0.0f;
      }
    }
  }
}

// Packs op(B)[p0:p0+kc, j0:j0+nc] as panels of nr columns, each laid out [p][nr], zero-padded.
void pack_b(const GemmParams& g, const float* B, int nr, int64_t p0, int64_t kc, int64_t j0,
            int64_t nc, float* dst) {
  if (!g.transB) {
    // Element (p, j) at p * ldb + j. The whole panels are filled a row of B at a time: reading
    // B in its own order keeps the hardware prefetcher ahead (panel by panel, every k step
    // would start a new page when ldb is large), and each panel is still written in order.
    const int64_t whole = nc / nr * nr;
    for (int64_t p = 0; p < kc; p++) {
      const float* s = B + (p0 + p) * g.ldb + j0;
      for (int64_t jr = 0; jr < whole; jr += nr) copy_panel_row(dst + jr * kc + p * nr, s + jr, nr);
    }
    if (whole < nc) {
      const int cols = static_cast<int>(nc - whole);
      const float* s = B + p0 * g.ldb + (j0 + whole);
      float* d = dst + whole * kc;
      for (int64_t p = 0; p < kc; p++, s += g.ldb, d += nr) {
        int j = 0;
        for (; j < cols; j++) d[j] = s[j];
        for (; j < nr; j++) d[j] = 0.0f;
      }
    }
    return;
  }
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int cols = static_cast<int>(std::min<int64_t>(nr, nc - jr));
    float* d = dst + jr * kc;
    // Element (p, j) at p + j * ldb: a transpose of nr columns.
    const float* s = B + p0 + (j0 + jr) * g.ldb;
    if (g_isa == Isa::avx512 && nr % 16 == 0) {
      for (int c0 = 0; c0 < nr; c0 += 16) {
        const int rows = std::max(0, std::min(16, cols - c0));
        pack_transposed_avx512(s + c0 * g.ldb, g.ldb, rows, kc, d + c0, nr, 16);
      }
      continue;
    }
    if (g_isa == Isa::avx2 && nr % 8 == 0) {
      for (int c0 = 0; c0 < nr; c0 += 8) {
        const int rows = std::max(0, std::min(8, cols - c0));
        pack_transposed_avx2(s + c0 * g.ldb, g.ldb, rows, kc, d + c0, nr, 8);
      }
      continue;
    }
    for (int64_t p = 0; p < kc; p++) {
      int j = 0;
      for (; j < cols; j++) d[p * nr + j] = s[j * g.ldb + p];
      for (; j < nr; j++) d[p * nr + j] = 0.0f;
    }
  }
}

// GemmParams' epilogue on C[i0:i1, j0:j1] of one matrix: bias, then ReLU (the same operations
// in any vector width).
MW_GEMM_CLONES
void epilogue(const GemmParams& g, float* C, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const float* bias = g.bias;
  const bool relu = g.relu;
  for (int64_t i = i0; i < i1; i++) {
    float* __restrict row = C + i * g.ldc;
    if (bias && relu) {
      for (int64_t j = j0; j < j1; j++) {
        const float v = row[j] + bias[j];
        row[j] = v > 0.0f ? v : 0.0f;
      }
    } else if (bias) {
      for (int64_t j = j0; j < j1; j++) row[j] += bias[j];
    } else {
      for (int64_t j = j0; j < j1; j++) row[j] = row[j] > 0.0f ? row[j] : 0.0f;
    }
  }
}

inline bool has_epilogue(const GemmParams& g) { return g.bias != nullptr || g.relu; }

// All of op(B) packed before the tiles run, laid out as PackedB::data: k block pc (an offset in
// k, a multiple of kc) starts at pc * npad, and within it the panel of columns jr at jr * kc.
struct PanelsB {
  const float* data = nullptr;
  int64_t npad = 0;
};

// C[i0:i1, j0:j1] of one matrix of the batch.
// rsum (or null): row_sums of op(A)'s rows [i0, i1), added to as the first column block packs A.
// pre.data (or null): op(B) packed already (a weight packed ahead, or panels the threads share).
void gemm_tile(const MicroKernel& K, const GemmParams& g, const PanelsB& pre, const float* A,
               const float* B, float* C, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
               double* rsum) {
  const int mr = K.mr, nr = K.nr;
  const int64_t kcmax = K.kc;
  const int64_t mcmax = K.mc;
  const int64_t ncmax = K.nc;
  float* abuf = t_abuf.get<float>(static_cast<size_t>((mcmax + mr) * kcmax));
  float* bbuf = t_bbuf.get<float>(static_cast<size_t>((ncmax + nr) * kcmax));
  for (int64_t jc = j0; jc < j1; jc += ncmax) {
    const int64_t nc = std::min(ncmax, j1 - jc);
    for (int64_t pc = 0; pc < g.k; pc += kcmax) {
      const int64_t kc = std::min(kcmax, g.k - pc);
      // Later k blocks add to what the first one wrote.
      const float beta = pc == 0 ? g.beta : 1.0f;
      // When this task's rows fit one mc block, each B panel serves one pass of the ir loop
      // only, and packing it costs about as much as it saves (a copy of B per thread): then a
      // non-transposed B is read in place, except for a last panel narrower than nr (the kernel
      // reads nr columns). Otherwise packing wins: a panel read in place with a leading
      // dimension of 4 KiB maps every row to the same L1 sets. The same holds, less severely,
      // for any leading dimension that is a multiple of 512 bytes (128 floats): rows that far
      // apart share at most 8 of the 64 sets, so a k block of B no longer fits (a 128 x 128 x
      // 128 product read B in place at 0.75 the speed of packing it); those are packed too.
      const bool direct_b = !g.transB && g_direct_b && i1 - i0 <= mcmax && g.ldb % 128 != 0;
      // A weight packed ahead holds this block's panels already (column jc of k block pc).
      const float* packed_b = pre.data ? pre.data + pc * pre.npad + jc * kc : nullptr;
      if (!packed_b && direct_b) {
        const int64_t tail = nc % nr;
        if (tail != 0) pack_b(g, B, nr, pc, kc, jc + nc - tail, tail, bbuf + (nc - tail) * kc);
      } else if (!packed_b) {
        pack_b(g, B, nr, pc, kc, jc, nc, bbuf);
      }
      // The last k block's tiles are final as they are stored: a kernel that can takes the
      // epilogue then, instead of a pass over each finished block below.
      const bool last_k = pc + kc == g.k;
      const bool fused = last_k && has_epilogue(g) && K.run_epilogue != nullptr;
      for (int64_t ic = i0; ic < i1; ic += mcmax) {
        const int64_t mc = std::min(mcmax, i1 - ic);
        pack_a(g, A, mr, ic, mc, pc, kc, abuf);
        // The block of A was just read (in cache): its row sums now cost no pass of their own.
        if (rsum != nullptr && jc == j0) sum_a_rows(g, A, ic, mc, pc, kc, rsum + (ic - i0));
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int n = static_cast<int>(std::min<int64_t>(nr, nc - jr));
          const bool in_place = direct_b && n == nr;
          const float* bp = in_place    ? B + pc * g.ldb + jc + jr
                            : packed_b ? packed_b + jr * kc
                                       : bbuf + jr * kc;
          const int64_t bs = in_place ? g.ldb : nr;
          const float* bias = g.bias ? g.bias + jc + jr : nullptr;
          for (int64_t ir = 0; ir < mc; ir += mr) {
            const int m = static_cast<int>(std::min<int64_t>(mr, mc - ir));
            float* ct = C + (ic + ir) * g.ldc + jc + jr;
            if (fused)
              K.run_epilogue(kc, abuf + ir * kc, bp, ct, g.ldc, m, n, g.alpha, beta, bs, bias,
                             g.relu);
            else
              K.run(kc, abuf + ir * kc, bp, ct, g.ldc, m, n, g.alpha, beta, bs);
          }
        }
        // After the last k block this block of C is final, and in cache.
        if (last_k && has_epilogue(g) && !fused) epilogue(g, C, ic, ic + mc, jc, jc + nc);
      }
    }
  }
}

// The direct path for small products: no packing, one pass over each row of C.
void gemm_small(const GemmParams& g, const float* A, const float* B, float* C) {
  float acc[256];
  for (int64_t i = 0; i < g.m; i++) {
    float* crow = C + i * g.ldc;
    for (int64_t j0 = 0; j0 < g.n; j0 += 256) {
      const int64_t nb = std::min<int64_t>(256, g.n - j0);
      for (int64_t j = 0; j < nb; j++) acc[j] = 0.0f;
      for (int64_t p = 0; p < g.k; p++) {
        const float av = g.transA ? A[i + p * g.lda] : A[i * g.lda + p];
        if (!g.transB) {
          const float* brow = B + p * g.ldb + j0;
          for (int64_t j = 0; j < nb; j++) acc[j] += av * brow[j];
        } else {
          const float* bcol = B + p + j0 * g.ldb;
          for (int64_t j = 0; j < nb; j++) acc[j] += av * bcol[j * g.ldb];
        }
      }
      if (g.beta == 0.0f) {
        for (int64_t j = 0; j < nb; j++) crow[j0 + j] = g.alpha * acc[j];
      } else {
        for (int64_t j = 0; j < nb; j++) crow[j0 + j] = g.alpha * acc[j] + g.beta * crow[j0 + j];
      }
    }
  }
}

// k = 0: C = alpha * 0 + beta * C, as the reference computes it.
void gemm_k0(const GemmParams& g, float* C) {
  const float z = g.alpha * 0.0f;
  for (int64_t i = 0; i < g.m; i++) {
    float* row = C + i * g.ldc;
    for (int64_t j = 0; j < g.n; j++) row[j] = g.beta == 0.0f ? z : z + g.beta * row[j];
  }
}

// Below this many multiply-adds per matrix, packing costs more than it saves.
constexpr int64_t kSmall = 32 * 32 * 32;
// Below this many multiply-adds in all, threads cost more than they save.
constexpr int64_t kParallel = 48 * 48 * 48;
// A B of this many floats (4 MB) and more is far beyond any L2: see the split in gemm().
constexpr int64_t kLargeB = int64_t{1} << 20;

// From this many floats of a transposed op(B) (512 KB) on, threads that split a product by rows
// share one packing of it (pack_b_shared): below, packing a copy each costs less than the extra
// job (Zen 3, 2 threads, against a copy each: 800 rows x k 256 at n 256 0.95x, 512 1.01x, 768
// 1.02x, 1024 1.05x, 8000 1.03x).
constexpr int64_t kShareB = int64_t{1} << 17;

// op(B) of one matrix packed whole into dst (npad * k floats, PanelsB's layout), by all threads
// of the pool at once: k blocks times runs of panels as tasks, a few runs per thread, so that a
// late thread holds up little.
void pack_b_all(const MicroKernel& K, const GemmParams& g, int64_t npad, float* dst) {
  ThreadPool& pool = ThreadPool::instance();
  const int nr = K.nr;
  const int64_t npanels = npad / nr;
  const int64_t kblocks = (g.k + K.kc - 1) / K.kc;
  const int64_t runs = std::min<int64_t>(npanels, 4 * pool.threads());
  const int64_t per = (npanels + runs - 1) / runs;
  pool.parallel_for(kblocks * runs, [&](int64_t t, int) {
    const int64_t pc = t / runs * K.kc;
    const int64_t kc = std::min<int64_t>(K.kc, g.k - pc);
    const int64_t j0 = t % runs * per * nr;
    const int64_t j1 = std::min(g.n, j0 + per * nr);
    if (j0 < j1) pack_b(g, g.b, nr, pc, kc, j0, j1 - j0, dst + pc * npad + j0 * kc);
  });
}

// op(B) of one matrix packed by all threads into the calling thread's buffer, for the parts of
// one product to share: valid until that thread's next call.
PanelsB pack_b_shared(const MicroKernel& K, const GemmParams& g) {
  thread_local Scratch t_shared;
  const int64_t npad = (g.n + K.nr - 1) / K.nr * K.nr;
  float* data = t_shared.get<float>(static_cast<size_t>(npad * g.k));
  pack_b_all(K, g, npad, data);
  return {data, npad};
}

// Set on a pool thread while it runs one whole product of gemm_pair: that product takes no
// further threads (a nested job would run its parts one after another on this thread, each
// packing all of B).
thread_local bool t_alone = false;

}  // namespace

Isa cpu_isa() { return detect_isa(); }
Isa gemm_isa() { return g_isa; }
MicroKernel gemm_kernel_in_use() { return active_kernel(); }
bool set_gemm_isa(Isa isa) {
  if (static_cast<int>(isa) > static_cast<int>(cpu_isa())) return false;
  g_isa = isa;
  return true;
}
const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::avx512: return "avx512";
    case Isa::avx2: return "avx2";
    default: return "portable";
  }
}

void gemm(const GemmParams& g) {
  if (g.batch <= 0 || g.m <= 0) return;
  if (g.n <= 0) {
    if (g.row_sums != nullptr) row_sums_plain(g);
    return;
  }
  const int64_t per = g.m * g.n * g.k;
  auto mat = [&](int64_t b, const float*& A, const float*& B, float*& C) {
    A = g.a + b * g.strideA;
    B = g.b + b * g.strideB;
    C = g.c + b * g.strideC;
  };
  ThreadPool& pool = ThreadPool::instance();
  const int T = t_alone ? 1 : pool.threads();
  // Matrices of the batch may run concurrently only when their C blocks cannot overlap.
  const int64_t cspan = (g.m - 1) * g.ldc + g.n;
  const bool batch_parallel = g.batch > 1 && g.strideC >= cspan;

  // The epilogue over every matrix, for the paths that do not apply it block by block.
  auto epilogue_all = [&]() {
    if (!has_epilogue(g)) return;
    for (int64_t b = 0; b < g.batch; b++) epilogue(g, g.c + b * g.strideC, 0, g.m, 0, g.n);
  };
  if (g.k == 0) {
    for (int64_t b = 0; b < g.batch; b++) {
      GemmParams one = g;
      one.c = g.c + b * g.strideC;
      gemm_k0(one, one.c);
    }
    epilogue_all();
    if (g.row_sums != nullptr) row_sums_plain(g);
    return;
  }
  // A few rows against a weight [n, k] (incremental decoding): stream B, no packing.
  if (gemm_skinny_applies(g)) {
    gemm_skinny(g);  // with the epilogue, as it stores C
    if (g.row_sums != nullptr) row_sums_plain(g);
    return;
  }
  if (per < kSmall) {
    if (g.row_sums != nullptr) row_sums_plain(g);
    auto one = [&](int64_t b, int) {
      const float *A, *B;
      float* C;
      mat(b, A, B, C);
      gemm_small(g, A, B, C);
      if (has_epilogue(g)) epilogue(g, C, 0, g.m, 0, g.n);
    };
    if (batch_parallel && T > 1 && per * g.batch >= kParallel) {
      pool.parallel_for(g.batch, one);
    } else {
      for (int64_t b = 0; b < g.batch; b++) one(b, 0);
    }
    return;
  }

  const MicroKernel K = kernel_for_depth(active_kernel(), g.k);
  // A weight packed ahead serves only the product it was packed for, on the kernel it was
  // packed for; anything else packs B per call.
  PanelsB panels;
  const PackedB* pre = g.packed;
  if (pre && pre->src == g.b && g.transB && g.batch == 1 && g.ldb == pre->k && g.n == pre->n &&
      g.k == pre->k && pre->isa == g_isa && pre->nr == K.nr && pre->kc == K.kc && !g.bf16)
    panels = {pre->data.data(), pre->npad};
  // bfloat16 inputs on VDPBF16PS (gemm_bf16.cc), whose micro-tile the split below then uses.
  const bool bf16 = g.bf16 && bf16_dot_available();
  const int mr = bf16 ? gemm_bf16_mr() : K.mr, nr = bf16 ? gemm_bf16_nr() : K.nr;
  // Split each matrix into `parts` column (or row) ranges so that every thread has work.
  int64_t parts = 1;
  if (T > 1 && per * g.batch >= kParallel) {
    const int64_t conc = batch_parallel ? g.batch : 1;
    if (conc < T) parts = (T + conc - 1) / conc;
  }
  // Prefer splitting M (each part packs all of B, whose packing is a copy when B is not
  // transposed) unless M is too short for it; split N in nr-wide units otherwise. One exception:
  // rows per thread within one mc block (a batch of decoding steps) against a B far larger
  // than L2 (the output projection: 8000 x 256, 8 MB), where a row split has each thread read
  // all of B from L3 or memory. There the split that has each thread pack or read fewer floats
  // wins: by columns, half of B each (by M: all of B and its rows of A once per nc block; by N:
  // its columns of B and all of A as often). On an AMD EPYC Zen 3, 24 and 32 rows against 8000
  // x 256: 150 -> 164-173 GFLOP/s; against 1024 x 256 (1 MB) the row split stays ahead (179
  // against 169), hence the size limit.
  bool split_m = g.m >= parts * mr * 2 || g.m >= g.n;
  if (split_m && parts > 1 && g.m <= parts * K.mc && g.n >= parts * nr &&
      g.n * g.k >= kLargeB) {
    auto blocks = [&](int64_t cols) { return (cols + K.nc - 1) / K.nc; };
    const int64_t by_m = g.n * g.k + (g.m + parts - 1) / parts * g.k * blocks(g.n);
    const int64_t by_n = (g.n + parts - 1) / parts * g.k + g.m * g.k * blocks((g.n + parts - 1) / parts);
    split_m = by_m <= by_n;
  }
  // Rows split evenly (a short micro-tile costs in proportion to its rows); columns split in
  // nr units (a short one costs a whole tile).
  const int64_t unit = split_m ? 1 : nr;
  const int64_t len = split_m ? g.m : g.n;
  const int64_t units = (len + unit - 1) / unit;
  if (parts > units) parts = units;
  auto range = [&](int64_t q, int64_t& lo, int64_t& hi) {
    lo = std::min(len, (units * q / parts) * unit);
    hi = std::min(len, (units * (q + 1) / parts) * unit);
  };
  // Split by rows, every part would pack all of op(B) for itself. For a transposed B (a weight
  // in the forward pass), whose packing is a transpose, the threads pack it once together
  // instead, each a share of the panels, and then all read the shared panels. Not for a B as
  // stored: its packing is a copy, and a thread that packs its own copy block by block as it
  // needs it reads it back from its own cache (on an AMD EPYC Zen 3 sharing cost 1024^3 and
  // 512^3 4-8%).
  if (!bf16 && !panels.data && split_m && parts > 1 && g.batch == 1 && g.transB &&
      g.n * g.k >= kShareB)
    panels = pack_b_shared(K, g);
  auto task = [&](int64_t b, int64_t q) {
    const float *A, *B;
    float* C;
    mat(b, A, B, C);
    int64_t lo, hi;
    range(q, lo, hi);
    if (lo >= hi) return;
    const int64_t i0 = split_m ? lo : 0, i1 = split_m ? hi : g.m;
    const int64_t j0 = split_m ? 0 : lo, j1 = split_m ? g.n : hi;
    if (bf16) {
      gemm_tile_bf16(g, A, B, C, i0, i1, j0, j1);
      if (has_epilogue(g)) epilogue(g, C, i0, i1, j0, j1);
    } else if (g.row_sums != nullptr && (split_m || q == 0)) {
      // This task's rows of op(A), every column of them (a column split packs all of A in each
      // part: the first part sums).
      thread_local std::vector<double> rsum;
      rsum.assign(static_cast<size_t>(i1 - i0), 0.0);
      gemm_tile(K, g, panels, A, B, C, i0, i1, j0, j1, rsum.data());
      for (int64_t i = i0; i < i1; i++) g.row_sums[i] = static_cast<float>(rsum[i - i0]);
    } else {
      gemm_tile(K, g, panels, A, B, C, i0, i1, j0, j1, nullptr);
    }
  };
  if (bf16 && g.row_sums != nullptr) row_sums_plain(g);
  if (batch_parallel) {
    pool.parallel_for(g.batch * parts, [&](int64_t t, int) { task(t / parts, t % parts); });
  } else {
    for (int64_t b = 0; b < g.batch; b++) {
      if (parts > 1)
        pool.parallel_for(parts, [&](int64_t q, int) { task(b, q); });
      else
        task(b, 0);
    }
  }
}

void gemm_pair(const GemmParams& g1, const GemmParams& g2) {
  ThreadPool& pool = ThreadPool::instance();
  // Worth a thread each: one matrix (a batch spreads over the threads by itself) and enough
  // work that gemm() would split it.
  auto whole = [](const GemmParams& g) {
    return g.batch == 1 && g.m * g.n * g.k >= kParallel && !gemm_skinny_applies(g);
  };
  if (pool.threads() != 2 || !whole(g1) || !whole(g2)) {
    gemm(g1);
    gemm(g2);
    return;
  }
  pool.parallel_for(2, [&](int64_t q, int) {
    t_alone = true;
    gemm(q == 0 ? g1 : g2);
    t_alone = false;
  });
}

std::unique_ptr<PackedB> pack_weight(const float* w, int64_t n, int64_t k) {
  const MicroKernel K = kernel_for_depth(active_kernel(), k);
  auto p = std::make_unique<PackedB>();
  p->src = w;
  p->n = n;
  p->k = k;
  p->isa = g_isa;
  p->nr = K.nr;
  p->kc = K.kc;
  p->npad = (n + K.nr - 1) / K.nr * K.nr;
  p->data.resize(static_cast<size_t>(p->npad * k));
  GemmParams g{};
  g.n = n;
  g.k = k;
  g.b = w;
  g.transB = true;
  g.ldb = k;
  pack_b_all(K, g, p->npad, p->data.data());
  return p;
}

}  // namespace mw
