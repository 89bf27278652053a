// Training can be followed through a pipe or a log file: one plain line per metrics line and per
// evaluation on stderr when it is not a terminal (on a terminal the progress bar shows the run and
// only a skipped update is printed), and the summary line carries every validation metric.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { metricsLog } from "../../src/cli/timing.js";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";

const capture = (isTTY: boolean) => {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (s: string) => out.push(s) } };
};

test("metricsLog: plain lines on a pipe; on a terminal only skipped updates", () => {
  const records = [
    { step: 20, epoch: 0, loss: 5.12345, lr: 0.00025, tokens_per_s: 4879.4, train_s: 1 },
    { step: 20, epoch: 0, valid_loss: 4.9, valid_ppl: 134.28, valid_bleu: 1.2346, train_s: 1 },
    { step: 20, epoch: 0, skipped_update: "loss is not finite", train_s: 1 },
  ];
  const pipe = capture(false);
  const log = metricsLog("train", { stream: pipe.stream });
  for (const r of records) log(r);
  assert.deepEqual(pipe.out, [
    "train: step 20 epoch 0 loss 5.123 lr 2.500e-4 4879 tok/s\n",
    "train: step 20 valid_loss 4.9 valid_ppl 134.3 valid_bleu 1.235\n",
    "train: skipped update 21: the loss is not finite\n",
  ]);
  const tty = capture(true);
  const onTty = metricsLog("train", { stream: tty.stream });
  for (const r of records) onTty(r);
  assert.deepEqual(tty.out, ["\r\x1b[Ktrain: skipped update 21: the loss is not finite\n"]);
});

test("train through a pipe: a line per log interval and evaluation; every metric in the summary", () => {
  const { dir, flags } = tinyTranslation("metricslog");
  const r = maskwise([
    ...["train", ...flags, "--out", join(dir, "r"), "--max-steps", "2", "--log-every", "1"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stderr.trimEnd().split("\n");
  assert.match(lines[0], /^train: step 1 epoch 0 loss \d+\.\d+ lr \S+ \d+ tok\/s$/);
  assert.match(lines[1], /^train: step 2 epoch 0 loss /);
  assert.match(lines[2], /^train: step 2 valid_loss \d+\.\d+ valid_ppl \S+ valid_bleu \S+$/);
  const summary = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
  assert.equal(summary.stopped_by, "max_steps");
  assert.equal(typeof summary.valid_bleu, "number");
  assert.equal(typeof summary.valid_ppl, "number");
});
