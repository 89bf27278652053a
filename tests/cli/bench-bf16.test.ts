// The benchmarks' --bf16: `bench matmul --bf16` times the bfloat16 products against a VDPBF16PS
// peak probe (or says the CPU lacks the instruction), `bench train-step --bf16` times the step
// with mixed-precision products; both mark their JSON line. Shapes only: figures are not tested.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { loadNativeAddon } from "../../src/node/native-addon.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 300_000 });
const lastJson = (out: string) => JSON.parse(out.trim().split("\n").pop() ?? "{}");

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
if (skip) console.log(`# skipping the benchmark tests: ${skip}`);

test("bench matmul --bf16", { skip }, () => {
  if ("error" in loaded) assert.fail(loaded.error);
  const r = run(["bench", "matmul", "--json", "--runs", "1", "--bf16"]);
  if (!loaded.addon.setGemmBf16Dot(true)) {
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /AVX512_BF16/);
    return;
  }
  assert.equal(r.status, 0, r.stderr);
  const line = lastJson(r.stdout);
  assert.equal(line.precision, "bfloat16");
  assert.equal(line.results.length, 5);
  assert.ok(line.peak_gflops > 0);
  // A machine too busy for the probe to mean anything gets no ratios (tests/cli/bench-matmul).
  const busy = line.busy !== undefined;
  for (const x of line.results)
    assert.ok(x.gflops > 0 && (busy ? x.ratio === null : x.ratio > 0), JSON.stringify(x));
});

test("bench train-step --bf16", { skip }, () => {
  const r = run(["bench", "train-step", "--json", "--bf16"]);
  assert.equal(r.status, 0, r.stderr);
  const line = lastJson(r.stdout);
  assert.equal(line.matmul_precision, "bfloat16");
  assert.ok(line.median_step_s > 0 && line.tokens_per_s > 0);
});
