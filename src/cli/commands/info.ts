// `maskwise info`: the version, the platform and the backend, so a bug report can say what ran:
// where the native addon came from, the CPU and the kernels chosen for it at run time (the
// products' micro-kernel and blocking, bfloat16's and int8's), and what `--precision auto`
// would take on this CPU (both probe figures and the choice).

import type { NativeAddon } from "../../backend/native.js";
import { int8Kernel } from "../../nn/int8-weights.js";
import { describeFlags, readCpu } from "../../node/cpu.js";
import { loadNativeAddon } from "../../node/native-addon.js";
import { autoPrecision, precisionProbe } from "../../node/precision.js";
import { getBackend } from "../../tensor/dispatch.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { VERSION } from "../version.js";

export const command: Command = {
  path: ["info"],
  summary: "show the version, the active backend, its threads and the precision auto picks",
  help: `Usage: maskwise info [--json]

Prints the maskwise version, Node.js version, platform, backend and threads, and where the
native addon was loaded from: 'prebuild' (shipped in the package for this platform) or 'build'
(compiled on this machine by 'maskwise build-native' or 'npm run build:native') or 'env' (the
file MASKWISE_NATIVE_ADDON names), or why it is not available. cpu and cpu_flags: the model and the instruction sets that pick the kernels
(AVX2, AVX-512, AVX512_BF16, AVX512_VNNI, AMX). gemm_kernel: the float32 products'
micro-kernel, rows x columns (avx512 12x32, avx2 6x16, portable; 'reference' on the reference
backend; "emulated" after it in the test build whose AVX-512 paths run over AVX2, from
'node scripts/build-native.mjs --emulate-avx512'), and gemm_blocking its cache blocking (MASKWISE_GEMM_BLOCKING=kc,mc,nc overrides it).
bfloat16_kernel: what bfloat16 products (--precision bfloat16) multiply with: avx512-bf16
(VDPBF16PS, inputs rounded to bfloat16) or float32 (no AVX512_BF16: the float32 kernel, inputs
not rounded), or amx-bf16 32x32 (AMX tiles, TDPBF16PS) where MASKWISE_AMX=1 opts in on a CPU
with AMX-BF16. amx: whether the CPU has AMX-BF16 and whether the products use it (off unless
MASKWISE_AMX=1, which also lets int8 products of 16 rows or more run on AMX-INT8: the AMX
kernels are tested against the reference in the emulated build and not yet measured on AMX
hardware). Then the
probe of --precision auto (src/node/precision.ts): one matrix product timed in float32 and in
bfloat16 (GFLOP/s; "n/a" with the reason where it is not timed: the reference backend, a CPU
without AVX512_BF16) and the precision auto takes. int8_kernel: what --precision int8 multiplies
with: avx512-vnni (VPDPBUSD), avx2, portable or reference.`,
  async run(argv) {
    const { values } = parseFlags("info", argv, { json: { type: "boolean" } });
    const backend = getBackend();
    const native = loadNativeAddon();
    const probe = precisionProbe();
    const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
    const cpu = readCpu();
    const kernels =
      "addon" in native && backend.name === "native" ? gemmKernels(native.addon) : null;
    const info = {
      maskwise: VERSION,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      backend: backend.name,
      threads: backend.threads,
      native_source: "addon" in native ? native.source : null,
      native_path: "addon" in native ? native.path : null,
      ...("error" in native ? { native_error: native.error } : {}),
      cpu: cpu.model,
      cpu_flags: Object.keys(cpu.flags).length > 0 ? describeFlags(cpu.flags) : null,
      gemm_kernel: kernels?.gemm ?? backend.name,
      gemm_blocking: kernels?.blocking ?? null,
      bfloat16_kernel: kernels?.bfloat16 ?? backend.name,
      amx:
        cpu.flags.amx_bf16 === undefined
          ? null
          : !cpu.flags.amx_bf16
            ? "absent"
            : kernels?.bfloat16.startsWith("amx")
              ? "used by bfloat16 products and int8 products of 16 rows or more (MASKWISE_AMX=1)"
              : "present, not used (MASKWISE_AMX=1 opts bfloat16 and int8 products in)",
      probe_float32_gflops: round(probe.float32Gflops),
      probe_bfloat16_gflops: round(probe.bfloat16Gflops),
      ...(probe.note ? { probe_note: probe.note } : {}),
      precision_auto: autoPrecision(probe),
      int8_kernel: int8Kernel(),
    };
    console.log(
      values.json
        ? JSON.stringify(info)
        : Object.entries(info)
            .map(([k, v]) => `${k}: ${v ?? "n/a"}`)
            .join("\n"),
    );
    return 0;
  },
};

/** The native products' kernels as info prints them; null where the addon predates the query. */
function gemmKernels(
  addon: NativeAddon,
): { gemm: string; blocking: string; bfloat16: string } | null {
  if (typeof addon.gemmKernels !== "function") return null;
  const k = addon.gemmKernels();
  const f = k.float32;
  return {
    gemm: `${f.isa} ${f.mr}x${f.nr}${k.emulatedAvx512 ? " emulated" : ""}`,
    blocking: `kc ${f.kc}, mc ${f.mc}, nc ${f.nc}`,
    bfloat16: k.bfloat16 ? `${k.bfloat16.isa} ${k.bfloat16.mr}x${k.bfloat16.nr}` : "float32",
  };
}
