// Whether AMX may run (native/amx.h): MASKWISE_AMX=1, the CPU's AMX-TILE and AMX-BF16 or
// AMX-INT8 flags, then Linux's permission. Linux keeps a process's AMX tile state off until the
// process asks for it once (arch_prctl ARCH_REQ_XCOMP_PERM with XFEATURE_XTILEDATA); a tile
// instruction before that faults. Elsewhere (another OS, a kernel that refuses) the products keep
// VDPBF16PS and VPDPBUSD.
#include "amx.h"

#include <cstdlib>
#include <cstring>

#if defined(__linux__) && defined(__x86_64__) && !defined(MW_EMULATE_AVX512)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mw {

namespace {

bool g_opted_in = [] {
  const char* on = std::getenv("MASKWISE_AMX");
  return on != nullptr && std::strcmp(on, "1") == 0;
}();

// Linux's permission for the tile data, asked once for the process (all its threads).
bool permitted() {
#if defined(MW_EMULATE_AVX512)
  return true;
#elif defined(__linux__) && defined(__x86_64__)
  static const bool granted = [] {
    constexpr long kReqXcompPerm = 0x1023;  // ARCH_REQ_XCOMP_PERM (asm/prctl.h)
    constexpr long kXtiledata = 18;         // XFEATURE_XTILEDATA
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtiledata) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

}  // namespace

bool amx_opted_in() { return g_opted_in; }
void set_amx_opted_in(bool on) { g_opted_in = on; }

bool amx_bf16_usable() {
  static const bool cpu = [] {
    __builtin_cpu_init();
    return MW_CPU_SUPPORTS("amx-tile") && MW_CPU_SUPPORTS("amx-bf16");
  }();
  return cpu && permitted();
}

bool amx_int8_usable() {
  static const bool cpu = [] {
    __builtin_cpu_init();
    return MW_CPU_SUPPORTS("amx-tile") && MW_CPU_SUPPORTS("amx-int8");
  }();
  return cpu && permitted();
}

}  // namespace mw
