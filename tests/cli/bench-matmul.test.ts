// `maskwise bench matmul --json`: the line ../shared/CLI.md fixes, with the sizes in order, each
// ratio its GFLOP/s over the run's peak and min_ratio_512_up the least of the sizes from 512 up.
// Shapes and arithmetic only: figures are not tested.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { loadNativeAddon } from "../../src/node/native-addon.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;
if (skip) console.log(`# skipping the benchmark test: ${skip}`);

test("bench matmul --json", { skip }, () => {
  const r = spawnSync(process.execPath, [bin, "bench", "matmul", "--json", "--runs", "2"], {
    encoding: "utf8",
    timeout: 300_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  assert.deepEqual(Object.keys(line), [
    "bench",
    "peak_gflops",
    "results",
    "min_ratio_512_up",
    "isa",
    "threads",
  ]);
  assert.equal(line.bench, "matmul");
  assert.deepEqual(
    line.results.map((x: { m: number; k: number; n: number }) => [x.m, x.k, x.n]),
    [
      [128, 128, 128],
      [256, 256, 256],
      [512, 512, 512],
      [1024, 1024, 1024],
      [1024, 256, 1024],
    ],
  );
  for (const x of line.results) {
    assert.ok(x.gflops > 0, JSON.stringify(x));
    assert.ok(Math.abs(x.ratio - x.gflops / line.peak_gflops) < 2e-3, JSON.stringify(x));
  }
  const big = line.results
    .filter((x: { m: number }) => x.m >= 512)
    .map((x: { ratio: number }) => x.ratio);
  assert.equal(line.min_ratio_512_up, Math.min(...big));
  assert.match(line.isa, /^(avx512|avx2|portable)$/);
  assert.ok(Number.isInteger(line.threads) && line.threads >= 1);
});
