// The x86 intrinsics of the kernels that have AVX-512 paths, and the target attribute those
// paths carry. A normal build compiles them for AVX-512 behind run-time checks (cpu_isa(),
// MW_CPU_SUPPORTS). A build with MW_EMULATE_AVX512 (`node scripts/build-native.mjs
// --emulate-avx512`, for tests on CPUs without AVX-512) compiles the same source over AVX2:
// the AVX-512 intrinsics come from native/avx512_emulated.h, and the CPU is taken to have
// AVX-512F/VL/DQ/BW, AVX512_BF16 and AVX512_VNNI, so every AVX-512 path runs and can be
// checked against the reference backend on any AVX2 machine.
#pragma once

#ifdef MW_EMULATE_AVX512

#include "avx512_emulated.h"

// The whole emulated build is compiled with -mavx2 -mfma; nothing may be compiled for AVX-512.
#define MW_TARGET(features) __attribute__((target("avx2,fma")))
#define MW_CPU_SUPPORTS(feature) true

#else

// GCC 12's _mm512_reduce_* start from _mm256_undefined_pd(), which it then reports, wherever
// they are inlined, as used uninitialized (hundreds of warnings in a build, all from its own
// header): ignored for the header's own lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#define MW_TARGET(features) __attribute__((target(features)))
#define MW_CPU_SUPPORTS(feature) __builtin_cpu_supports(feature)

#endif
