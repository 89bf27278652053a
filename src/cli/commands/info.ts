// `maskwise info`: the version, the platform and the backend, so a bug report can say what ran:
// where the native addon came from, and what `--precision auto` would take on this CPU (both
// probe figures and the choice).

import { int8Kernel } from "../../nn/int8-weights.js";
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
(compiled on this machine by 'maskwise build-native' or 'npm run build:native'), or why it is
not available. Then the probe of --precision auto (src/node/precision.ts): one matrix product
timed in float32 and in bfloat16 (GFLOP/s; "n/a" with the reason where it is not timed: the
reference backend, a CPU without AVX512_BF16) and the precision auto takes. int8_kernel: what
--precision int8 multiplies with: avx512-vnni (VPDPBUSD), avx2, portable or reference.`,
  async run(argv) {
    const { values } = parseFlags("info", argv, { json: { type: "boolean" } });
    const backend = getBackend();
    const native = loadNativeAddon();
    const probe = precisionProbe();
    const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
    const info = {
      maskwise: VERSION,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      backend: backend.name,
      threads: backend.threads,
      native_source: "addon" in native ? native.source : null,
      native_path: "addon" in native ? native.path : null,
      ...("error" in native ? { native_error: native.error } : {}),
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
