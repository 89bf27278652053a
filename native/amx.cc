// Whether AMX may run (native/amx.h): the CPU's AMX-TILE and AMX-BF16 flags, then Linux's
// permission. Linux keeps a process's AMX tile state off until the process asks for it once
// (arch_prctl ARCH_REQ_XCOMP_PERM with XFEATURE_XTILEDATA); a tile instruction before that
// faults. Elsewhere (another OS, a kernel that refuses) the bfloat16 GEMM keeps VDPBF16PS.
#include "amx.h"

#if defined(__linux__) && defined(__x86_64__) && !defined(MW_EMULATE_AVX512)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mw {

bool amx_bf16_usable() {
#if defined(MW_EMULATE_AVX512)
  return true;
#elif defined(__linux__) && defined(__x86_64__)
  static const bool usable = [] {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("amx-tile") || !__builtin_cpu_supports("amx-bf16")) return false;
    constexpr long kReqXcompPerm = 0x1023;  // ARCH_REQ_XCOMP_PERM (asm/prctl.h)
    constexpr long kXtiledata = 18;         // XFEATURE_XTILEDATA
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtiledata) == 0;
  }();
  return usable;
#else
  return false;
#endif
}

}  // namespace mw
