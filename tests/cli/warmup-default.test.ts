// `train --max-steps N` without --warmup warms up over a tenth of its N updates (before: 4000, so
// a 300-update run never got past 7.5% of its learning rate), and a resumed run keeps that warmup
// even when it is given a longer budget.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";

const warmupOf = (out: string) =>
  JSON.parse(readFileSync(join(out, "checkpoints", "last", "trainer_state.json"), "utf8")).options
    .schedule.warmup;

test("the default warmup fits --max-steps and stays on --resume", () => {
  const { dir, flags } = tinyTranslation("warmup");
  const noWarmup = flags.filter((f, i) => f !== "--warmup" && flags[i - 1] !== "--warmup");
  const out = join(dir, "r");
  const r = maskwise(["train", ...noWarmup, "--out", out, "--max-steps", "20", "--log-every", "1"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(warmupOf(out), 2);
  const lrs = readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((m) => "lr" in m)
    .map((m) => m.lr);
  assert.equal(lrs[1], 5e-4, "the peak (the default --lr) at update 2");
  const more = maskwise(["train", "--resume", "--out", out, "--max-steps", "22"]);
  assert.equal(more.status, 0, more.stderr);
  assert.equal(warmupOf(out), 2);
  assert.match(maskwise(["train", "--help"]).stdout, /a tenth of the budget/);
});
