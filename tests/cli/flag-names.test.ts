// One name for one thing across commands: --config names a new model's architecture (--model
// stays its older spelling in train, pretrain and quickstart), --max-new-tokens limits generated
// tokens in translate as in generate, and the inspector decodes with the family's default beam,
// as translate does.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { makeTinyModelDir } from "../helpers/tiny-model.js";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

test("train --config is --model's architecture; the two may only agree", () => {
  const { flags, config } = tinyTranslation("flag-config");
  const withConfig = flags.map((f) => (f === "--model" ? "--config" : f));
  const out = join(tempDir("flag-config-run"), "run");
  const r = maskwise(["train", ...withConfig, "--out", out, "--max-steps", "1"]);
  assert.equal(r.status, 0, r.stderr);
  const saved = JSON.parse(readFileSync(join(out, "checkpoints", "last", "config.json"), "utf8"));
  assert.equal(saved.d_model, 16);
  const both = maskwise([
    "train",
    ...withConfig,
    "--model",
    "tiny",
    "--out",
    join(tempDir("flag-config-both"), "run"),
  ]);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--config and --model name two different architectures/);
  // The same value twice is one architecture.
  const same = maskwise([
    "train",
    ...withConfig,
    "--model",
    config,
    "--out",
    join(tempDir("flag-config-same"), "run"),
    "--max-steps",
    "1",
  ]);
  assert.equal(same.status, 0, same.stderr);
});

test("translate --max-new-tokens N is --max-len-a 0 --max-len-b N; both at once are refused", () => {
  const dir = makeTinyModelDir();
  const input = "a small dog runs in the park\nthe cat sleeps\n";
  const a = maskwise(["translate", "--model", dir, "--beam", "1", "--max-new-tokens", "3"], input);
  const b = maskwise(
    ["translate", "--model", dir, "--beam", "1", "--max-len-a", "0", "--max-len-b", "3"],
    input,
  );
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const longer = maskwise(["translate", "--model", dir, "--beam", "1"], input);
  assert.notEqual(longer.stdout, a.stdout, "the limit cut the random model's long outputs");
  const both = maskwise(
    ["translate", "--model", dir, "--max-new-tokens", "3", "--max-len-b", "4"],
    input,
  );
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--max-new-tokens and --max-len-a\/--max-len-b set the same limit/);
});
