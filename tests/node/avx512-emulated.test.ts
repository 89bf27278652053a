// The AVX-512 paths of the native backend (the 12 x 32 GEMM micro-kernel and its packing, the
// VDPBF16PS and VPDPBUSD products, the skinny and decoding kernels' 16-lane loops, attention's
// 16-key transposes) run only where the CPU has AVX-512, so the rest of the suite checks them
// only there. This test builds the addon a second time with those paths emulated over AVX2
// (`node scripts/build-native.mjs --emulate-avx512`: SIMDe's intrinsics, native/simd.h; AMX tiles
// as in native/amx.h) and runs
// the kernel and model tests against it (MASKWISE_NATIVE_ADDON), so that every AVX-512 path is
// checked against the reference backend on any AVX2 machine: the tests walk every ISA up to the
// addon's, which reports AVX-512 with AVX512_BF16 and AVX512_VNNI, and the bfloat16 tests opt in
// to AMX-BF16 too.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadNativeAddon } from "../../src/node/native-addon.js";

const root = join(import.meta.dirname, "..", "..");
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const SIMDE = "/usr/include/simde/x86/avx512.h";
const tail = (s: string) => s.slice(-6000);

/**
 * The files run against the emulated addon: every test of a kernel with an AVX-512 path, and the
 * ops and models built on them (where a compiler's fused multiply-adds in the AVX-512 clones of
 * auto-vectorised loops would show: the emulated build fuses at least wherever the AVX-512 one does).
 */
const FILES = [
  "tests/backend/",
  "tests/attention/",
  "tests/decode/",
  "tests/models/hf/",
  "tests/models/incremental.test.ts",
  "tests/models/llama-incremental.test.ts",
  "tests/models/int8-decoding.test.ts",
  "tests/models/embedding-bf16.test.ts",
  "tests/models/llama-base-bf16.test.ts",
  "tests/models/peft.test.ts",
  "tests/nn/",
  "tests/node/precision.test.ts",
  "tests/optim/",
  "tests/tensor/",
];

/** Tests of bfloat16 training and int8 decoding, run again with MASKWISE_AMX=1. */
const AMX_FILES = [
  "tests/models/int8-decoding.test.ts",
  "tests/models/llama-base-bf16.test.ts",
  "tests/tensor/precision.test.ts",
  "tests/node/precision.test.ts",
  "tests/train/trainer.test.ts",
  "tests/cli/precision.test.ts",
];

/** Runs scripts/test.mjs on `files` with `env`; asserts all passed, none skipped; the count. */
function runTests(files: string[], env: NodeJS.ProcessEnv): number {
  const run = spawnSync(process.execPath, ["scripts/test.mjs", ...files], {
    cwd: root,
    env,
    encoding: "utf8",
    timeout: 20 * 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = `${run.stdout}\n${run.stderr}`;
  const count = (name: string) => Number(out.match(new RegExp(`^ℹ ${name} (\\d+)$`, "m"))?.[1]);
  assert.equal(run.status, 0, `tests failed against the emulated addon:\n${tail(out)}`);
  assert.equal(count("fail"), 0);
  assert.equal(count("skipped"), 0, `tests skipped against the emulated addon:\n${tail(out)}`);
  return count("tests");
}

function why(): string | null {
  if (!existsSync(SIMDE)) return `SIMDe is not installed (${SIMDE}; apt-get install libsimde-dev)`;
  const loaded = loadNativeAddon();
  if ("error" in loaded) return `the native addon is not loaded: ${loaded.error}`;
  // The emulated build is compiled for AVX2 and FMA (cpuIsa "avx2" or better).
  if (loaded.addon.cpuIsa() === "portable") return "this CPU lacks AVX2 or FMA";
  return null;
}

const missing = why();
const skip = missing && !required ? `AVX-512 emulation: ${missing}` : false;
if (skip) console.log(`# skipping ${skip}`);

test("every AVX-512 path, emulated over AVX2, against the reference backend", { skip }, () => {
  if (missing) assert.fail(`the AVX-512 emulation test cannot run here: ${missing}`);
  const build = spawnSync(process.execPath, ["scripts/build-native.mjs", "--emulate-avx512"], {
    cwd: root,
    encoding: "utf8",
    timeout: 15 * 60_000,
  });
  assert.equal(build.status, 0, `the emulated build failed:\n${tail(build.stderr)}`);
  const addon = build.stdout.trim().split("\n").pop() ?? "";
  assert.ok(existsSync(addon), `the build printed no addon path: ${build.stdout}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MASKWISE_NATIVE_ADDON: addon,
    MASKWISE_REQUIRE_NATIVE: "1",
  };
  // A test file's own process carries the runner's context; a runner started with it runs nothing.
  delete env.NODE_TEST_CONTEXT;

  // The addon takes the CPU to have AVX-512F, AVX512_BF16 and AVX512_VNNI, and info says so.
  const info = spawnSync(process.execPath, ["bin/maskwise.mjs", "info", "--json"], {
    cwd: root,
    env,
    encoding: "utf8",
  });
  assert.equal(info.status, 0, info.stderr);
  const j = JSON.parse(info.stdout);
  assert.equal(j.native_source, "env");
  assert.equal(j.gemm_kernel, "avx512 12x32 emulated");
  assert.equal(j.bfloat16_kernel, "avx512-bf16 12x32");
  assert.equal(j.int8_kernel, "avx512-vnni");
  // AMX: off unless opted in; the emulated build takes the CPU to have it.
  const amx = spawnSync(process.execPath, ["bin/maskwise.mjs", "info", "--json"], {
    cwd: root,
    env: { ...env, MASKWISE_AMX: "1" },
    encoding: "utf8",
  });
  assert.equal(amx.status, 0, amx.stderr);
  assert.equal(JSON.parse(amx.stdout).bfloat16_kernel, "amx-bf16 32x32");

  // The files, and the model-level tests of the bfloat16 and int8 products again with AMX on.
  const all = runTests(FILES, env);
  assert.ok(all > 400, `too few tests ran: ${all}`);
  const amxRun = runTests(AMX_FILES, { ...env, MASKWISE_AMX: "1" });
  assert.ok(amxRun > 20, `too few tests ran with AMX: ${amxRun}`);
  console.log(`# ${all} + ${amxRun} (AMX) tests passed against the emulated addon (${addon})`);
});
