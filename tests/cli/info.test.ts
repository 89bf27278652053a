// `maskwise info`: the CPU and the kernels chosen for it, as a bug report needs them: the model
// and instruction-set flags read from /proc/cpuinfo, the float32 micro-kernel and its cache
// blocking (an override shows), the bfloat16 kernel only where VDPBF16PS runs, AMX's presence.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { describeFlags, parseCpuinfo } from "../../src/node/cpu.js";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import { maskwise } from "../helpers/tiny-run.js";

const info = (env?: NodeJS.ProcessEnv) => {
  const r = maskwise(["info", "--json"], undefined, env);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

test("parseCpuinfo reads the first processor's model and flags; no flags line is no flags", () => {
  const text = [
    "processor\t: 0",
    "model name\t: Some CPU 42",
    "flags\t\t: fpu sse2 avx2 fma avx512f avx512_bf16 amx_tile",
    "",
    "processor\t: 1",
    "model name\t: Some CPU 42",
    "flags\t\t: fpu",
  ].join("\n");
  const cpu = parseCpuinfo(text, "fallback");
  assert.equal(cpu.model, "Some CPU 42");
  assert.deepEqual(cpu.flags, {
    avx2: true,
    avx512f: true,
    avx512_bf16: true,
    avx512_vnni: false,
    amx_tile: true,
    amx_bf16: false,
    amx_int8: false,
  });
  assert.equal(
    describeFlags(cpu.flags),
    "avx2, avx512f, avx512_bf16, amx_tile; no avx512_vnni, amx_bf16, amx_int8",
  );
  const bare = parseCpuinfo("processor\t: 0\n", "fallback");
  assert.deepEqual(bare, { model: "fallback", flags: {} });
  assert.equal(describeFlags(bare.flags), "none of the recorded flags");
});

test("info names the CPU, the GEMM kernels chosen for it and their blocking", () => {
  const j = info();
  const loaded = loadNativeAddon();
  if ("error" in loaded) assert.fail(`native addon not loaded: ${loaded.error}`);
  const addon = loaded.addon;
  if (existsSync("/proc/cpuinfo")) {
    const cpu = parseCpuinfo(readFileSync("/proc/cpuinfo", "utf8"), "");
    assert.equal(j.cpu, cpu.model);
    assert.equal(j.cpu_flags, describeFlags(cpu.flags));
    const off = "present, not used (MASKWISE_AMX=1 opts bfloat16 and int8 products in)";
    assert.equal(j.amx, cpu.flags.amx_bf16 ? off : "absent");
    if (!cpu.flags.amx_bf16) {
      // Opting in changes nothing on a CPU without AMX-BF16.
      const opted = info({ MASKWISE_AMX: "1" });
      assert.equal(opted.amx, "absent");
      assert.equal(opted.bfloat16_kernel, j.bfloat16_kernel);
    }
    // VDPBF16PS needs AVX512_BF16 (and the AVX-512 kernel); elsewhere bfloat16 inputs run as float32.
    const dot = cpu.flags.avx512_bf16 === true && addon.cpuIsa() === "avx512";
    assert.equal(j.bfloat16_kernel, dot ? "avx512-bf16 12x32" : "float32");
    if (cpu.flags.avx512f === false) assert.notEqual(j.gemm_kernel.split(" ")[0], "avx512");
    if (cpu.flags.avx2 === false) assert.match(j.gemm_kernel, /^portable /);
  }
  const tile = { avx512: "12x32", avx2: "6x16" } as Record<string, string>;
  const isa = addon.cpuIsa();
  assert.match(j.gemm_kernel, new RegExp(`^${isa} ${tile[isa] ?? "\\d+x\\d+"}$`));
  assert.match(j.gemm_blocking, /^kc \d+, mc \d+, nc \d+$/);

  // An override of the blocking is what runs, so info shows it (mc and nc rounded up to whole
  // micro-tiles).
  const over = info({ MASKWISE_GEMM_BLOCKING: "200,50,1000" });
  const [mr, nr] = j.gemm_kernel.split(" ")[1].split("x").map(Number);
  const up = (x: number, u: number) => Math.ceil(x / u) * u;
  assert.equal(over.gemm_blocking, `kc 200, mc ${up(50, mr)}, nc ${up(1000, nr)}`);

  const ref = info({ MASKWISE_BACKEND: "reference" });
  assert.equal(ref.gemm_kernel, "reference");
  assert.equal(ref.bfloat16_kernel, "reference");
  assert.equal(ref.gemm_blocking, null);
  assert.equal(ref.cpu, j.cpu);
});

test("the addon reports the micro-kernel a lower ISA selects", () => {
  const loaded = loadNativeAddon();
  if ("error" in loaded) assert.fail(`native addon not loaded: ${loaded.error}`);
  const addon = loaded.addon;
  try {
    addon.setGemmIsa("portable");
    const k = addon.gemmKernels();
    assert.equal(k.float32.isa, "portable");
    // Without the AVX-512 kernel there is no VDPBF16PS product either.
    assert.equal(k.bfloat16, null);
  } finally {
    addon.setGemmIsa(addon.cpuIsa());
  }
  assert.equal(addon.gemmKernels().float32.isa, addon.cpuIsa());
  // The addon npm builds runs the CPU's own instructions (the emulated build is a test's).
  if (loaded.source !== "env") assert.equal(addon.gemmKernels().emulatedAvx512, false);
});
