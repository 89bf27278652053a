// `maskwise bench matmul --json`: the line ../shared/CLI.md fixes, with the sizes in order, each
// ratio its GFLOP/s over the run's peak and min_ratio_512_up the least of the sizes from 512 up.
// Shapes and arithmetic only: figures are not tested.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { rated } from "../../src/cli/commands/bench-matmul.js";
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
  assert.deepEqual(
    Object.keys(line).filter((k) => k !== "busy"),
    ["bench", "peak_gflops", "results", "min_ratio_512_up", "isa", "threads"],
  );
  assert.equal(line.bench, "matmul");
  if (line.busy !== undefined) {
    // Other work disturbed the probe: no ratios, and the reason (see the unit test below).
    assert.match(line.busy, /^the machine is busy: /);
    assert.ok(line.results.every((x: { ratio: unknown }) => x.ratio === null));
    assert.equal(line.min_ratio_512_up, null);
    assert.match(r.stderr, /the machine is busy/);
    return;
  }
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

test("a product 4.4 times the measured peak says the machine is busy, not a ratio", () => {
  const rows = [
    { m: 128, k: 128, n: 128, gflops: 40 },
    { m: 512, k: 512, n: 512, gflops: 88 },
  ];
  const idle = rated(rows, 100);
  assert.equal(idle.busy, null);
  assert.deepEqual(
    idle.results.map((x) => x.ratio),
    [0.4, 0.88],
  );
  const busy = rated(rows, 20);
  assert.deepEqual(
    busy.results.map((x) => x.ratio),
    [null, null],
  );
  assert.deepEqual(
    busy.results.map((x) => x.gflops),
    [40, 88],
  );
  assert.equal(
    busy.busy,
    "the machine is busy: 512x512x512 ran at 88 GFLOP/s, 4.4x the 20 GFLOP/s the peak probe measured",
  );
});
