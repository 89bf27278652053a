// bench/lora-memory.ts at toy size (the 0.5B run is for measuring, not for tests): its JSON line
// has the fields the docs name, the adapter learns (the loss falls over the steps on the same
// batch), and the base held in bfloat16 gives nearly the float32 base's losses. No timing is
// asserted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const root = join(import.meta.dirname, "..", "..");

function bench(args: string[]): Record<string, unknown> {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/lora-memory.ts", "--toy", "--json", "--steps", "3", ...args],
    { cwd: root, encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

test("bench/lora-memory.ts --toy: a JSON line of peak RSS and tokens/s; the loss falls", () => {
  const half = bench([]);
  assert.equal(half.bench, "lora-step");
  assert.equal(half.base_precision, "bfloat16");
  assert.equal(half.seq, 24);
  assert.ok(typeof half.parameters === "number" && half.parameters > 1000);
  assert.ok(typeof half.peak_rss_mb === "number" && half.peak_rss_mb > 0);
  assert.ok(typeof half.tokens_per_s === "number" && half.tokens_per_s > 0);
  const losses = half.losses as number[];
  assert.equal(losses.length, 4, "a warm-up step and 3 timed ones");
  assert.ok(losses.every(Number.isFinite));
  assert.ok(losses[3] < losses[0], `loss ${losses.join(" -> ")}`);
  const full = bench(["--base-precision", "float32"]);
  assert.equal(full.base_precision, "float32");
  const fl = full.losses as number[];
  for (let i = 0; i < 4; i++)
    assert.ok(Math.abs(fl[i] - losses[i]) < 1e-2, `${fl[i]} vs ${losses[i]}`);
});

test("bench/lora-memory.ts refuses a bad --base-precision", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", "bench/lora-memory.ts", "--toy", "--base-precision", "int8"],
    { cwd: root, encoding: "utf8" },
  );
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--base-precision must be bfloat16 or float32/);
});
