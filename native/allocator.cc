// Keeps freed tensor memory in the process instead of returning it to the kernel.
//
// Every Float32Array of a tensor is a calloc'd block. glibc serves blocks above its mmap
// threshold (128 KiB, rising to at most 32 MiB) with a fresh mmap and unmaps them when V8 frees
// them, so each training step maps its activations and gradients anew and pays a page fault per
// 4 KiB on first touch: on the development VM that was 40-60 ms for one 32 MB logits array,
// more than the GEMM that fills it. With the threshold pinned at its maximum and trimming
// effectively off, freed blocks stay in the heap and the next step's calloc reuses them (a
// memset instead of page faults). The cost is that the heap keeps its peak size.
//
// Runs once when the addon is loaded. A user who sets glibc's own MALLOC_MMAP_THRESHOLD_ or
// MALLOC_TRIM_THRESHOLD_, or MASKWISE_MALLOC=default, keeps glibc's behaviour.
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mw {
namespace {

bool tune_allocator() {
#if defined(__GLIBC__)
  const char* choice = std::getenv("MASKWISE_MALLOC");
  if (choice != nullptr && std::strcmp(choice, "default") == 0) return false;
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return false;
  if (std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr) return false;
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);  // glibc's largest allowed value on 64-bit
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return true;
#else
  return false;
#endif
}

const bool tuned = tune_allocator();

}  // namespace

/** Whether the allocator was tuned at load time (for diagnostics). */
bool allocator_tuned() { return tuned; }

}  // namespace mw
