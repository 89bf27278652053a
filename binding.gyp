# The native backend (native/*.cc). Built by `npm install` through scripts/build-native.mjs.
# -O3, -fno-math-errno and -fno-trapping-math everywhere, but not -ffast-math: the kernels must
# keep the reference's NaN and Infinity semantics. (Without -fno-trapping-math GCC keeps the
# comparisons inside fast_exp as branches, and no loop that calls it vectorises; the values
# computed are the same either way, only floating-point exception flags may differ.) The SIMD
# micro-kernels carry per-function target attributes, so the
# addon runs on any x86-64 and picks AVX-512, AVX2+FMA or portable code at run time.
{
  "targets": [
    {
      "target_name": "maskwise_native",
      "sources": [
        "native/addon.cc",
        "native/threadpool.cc",
        "native/allocator.cc",
        "native/gemm.cc",
        "native/gemm_skinny.cc",
        "native/gemm_skinny_avx2.cc",
        "native/gemm_int8.cc",
        "native/gemm_int8_avx2.cc",
        "native/gemm_bf16.cc",
        "native/amx.cc",
        "native/gemm_kernels_avx512.cc",
        "native/gemm_kernels_avx2.cc",
        "native/gemm_kernels_portable.cc",
        "native/peak.cc",
        "native/elementwise.cc",
        "native/softmax_norm.cc",
        "native/loss.cc",
        "native/loss_avx2.cc",
        "native/attention.cc",
        "native/attention_binding.cc",
        "native/decode.cc",
        "native/decode_avx2.cc",
        "native/decode_binding.cc",
        "native/frozen_bf16.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags!": ["-fno-exceptions", "-O2", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y", "-std=gnu++20", "-O2"],
      "cflags": ["-O3", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-fno-math-errno", "-fno-trapping-math", "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno", "-fno-trapping-math"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
