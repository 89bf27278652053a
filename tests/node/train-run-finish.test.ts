// runToEnd redraws a run's curves when it stops, however it stops: an interrupted run (Ctrl-C
// between evaluations) leaves curves.svg showing its last logged step, not the last evaluation's.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { openRun, runToEnd } from "../../src/node/train-run.js";
import { seq2seq } from "../../src/objectives/lm.js";
import { Trainer } from "../../src/train/trainer.js";
import { polylinePoints } from "../helpers/pictures.js";
import { tempDir } from "../helpers/tmp.js";

const cfg = resolveConfig({
  vocab_size: 16,
  d_model: 16,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 32,
  decoder_ffn_dim: 32,
  dropout: 0,
});
const examples = Array.from({ length: 8 }, (_, i) =>
  seq2seq([3 + i, 4 + i], [4 + i, 3 + i], { eos: cfg.eos_token_id }),
);
const loggedSteps = (out: string) =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l))
    .filter((r) => "loss" in r)
    .map((r) => r.step as number);

test("an interrupted run's curves.svg reaches its last logged step", async () => {
  const out = join(tempDir("finish"), "run");
  const run = openRun("train", { out });
  let updates = 0;
  const trainer = new Trainer(
    new EncoderDecoderModel(cfg, 1),
    { train: examples, valid: examples },
    {
      maxTokens: 16,
      maxSteps: 50,
      evalEvery: 2,
      logEvery: 1,
      schedule: { kind: "inverse-sqrt", lr: 1e-3, warmup: 10 },
      labelSmoothing: 0,
      seed: 1,
    },
    run.store,
    { onUpdate: () => updates++, shouldStop: () => updates >= 5 },
  );
  const { line, status } = await runToEnd(trainer, run);
  assert.equal(line.stopped_by, "interrupted");
  assert.equal(status, 130);
  const steps = loggedSteps(out);
  const last = Math.max(...steps);
  assert.ok(last >= 5, `logged up to step ${last}`);
  // The last evaluation came at step 4; the chart has every training line after it too.
  const loss = polylinePoints(readFileSync(join(out, "curves.svg"), "utf8"), "loss")[0];
  assert.equal(loss.length, steps.length);
});
