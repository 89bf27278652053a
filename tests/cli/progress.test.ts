import assert from "node:assert/strict";
import { test } from "node:test";
import {
  estimateEta,
  formatDuration,
  formatProgress,
  type ProgressInfo,
  progressBar,
} from "../../src/cli/timing.js";

const info: ProgressInfo = {
  fraction: 0.5,
  step: 500,
  epoch: 1,
  loss: 3.21449,
  tokensPerS: 1234.4,
  etaS: 125,
};

test("formatProgress: bar, percentage, step, epoch, loss, tok/s and time left in one line", () => {
  const line = formatProgress("train", info, 150);
  assert.equal(
    line,
    `train ${"█".repeat(20)}${"░".repeat(20)}  50.0% step 500 epoch 1 loss 3.214 1234 tok/s 2:05 left`,
  );
  assert.ok(line.length <= 149);
  // On 100 columns the bar gives way to keep the line at 99 characters.
  assert.equal(formatProgress("train", info, 100).length, 99);
});

test("formatProgress: fits the terminal; the bar shrinks, then goes, then the text is cut", () => {
  for (const columns of [200, 120, 90, 80, 60, 40, 20, 5, 1]) {
    const line = formatProgress("quickstart", info, columns);
    assert.ok(line.length <= Math.max(1, columns - 1), `${columns}: ${line}`);
  }
  const wide = formatProgress("train", info, 300);
  assert.equal((wide.match(/[█░]/g) ?? []).length, 40); // never wider than 40 cells
  const mid = formatProgress("train", info, 90);
  const cells = (mid.match(/[█░]/g) ?? []).length;
  assert.ok(cells >= 10 && cells < 40, `${cells}`);
  assert.equal(mid.length, 89);
  assert.ok(!formatProgress("train", info, 60).includes("░")); // too narrow for a bar
});

test("formatProgress: the fraction is clamped; odd losses and speeds still print", () => {
  const over = formatProgress("t", { ...info, fraction: 1.7 }, 100);
  assert.match(over, /100\.0%/);
  assert.ok(!over.includes("░"));
  const under = formatProgress("t", { ...info, fraction: -0.2 }, 100);
  assert.match(under, / 0\.0%/);
  assert.ok(!under.includes("█"));
  assert.match(formatProgress("t", { ...info, fraction: Number.NaN }, 100), / 0\.0%/);
  assert.match(formatProgress("t", { ...info, loss: Number.NaN }, 100), /loss nan /);
  assert.match(formatProgress("t", { ...info, tokensPerS: 23456 }, 100), / 23\.5k tok\/s/);
  assert.match(formatProgress("t", { ...info, etaS: Number.NaN }, 100), /--:-- left$/);
});

test("estimateEta and formatDuration", () => {
  assert.equal(estimateEta(60, 0.25), 180); // a quarter in a minute: three more
  assert.equal(estimateEta(60, 0.75, 0.5), 60); // resumed at half: a quarter a minute
  assert.ok(Number.isNaN(estimateEta(10, 0)));
  assert.ok(Number.isNaN(estimateEta(10, 0.5, 0.5)));
  assert.equal(estimateEta(10, 1), 0);
  assert.equal(estimateEta(10, 3), 0);
  assert.equal(formatDuration(0), "0:00");
  assert.equal(formatDuration(75.4), "1:15");
  assert.equal(formatDuration(3725), "1:02:05");
  assert.equal(formatDuration(Number.POSITIVE_INFINITY), "--:--");
});

test("progressBar: draws on a terminal at most every interval (and at 100%), nothing elsewhere", () => {
  const writes: string[] = [];
  let clock = 0;
  const tty = { isTTY: true, columns: 100, write: (s: string) => writes.push(s) };
  const update = progressBar("train", { stream: tty, now: () => clock });
  const u = (step: number) => ({ step, epoch: 0, loss: 2, tokensPerS: 100, progress: step / 10 });
  update(u(1)); // t=0: first draw
  clock = 50;
  update(u(2)); // too soon
  clock = 150;
  update(u(3)); // drawn
  clock = 160;
  update(u(10)); // 100%: always drawn
  assert.equal(writes.length, 3);
  for (const w of writes) assert.ok(w.startsWith("\r\x1b[K"));
  // Step 3 at 150 ms, from step 1 at 0 ms: 0.2 in 0.15 s, so 0.7 left takes 0.525 s.
  assert.match(writes[1], / 30\.0% step 3 .* 0:01 left$/);
  assert.match(writes[2], /100\.0% step 10 .* 0:00 left$/);

  const silent: string[] = [];
  const pipe = progressBar("train", {
    stream: { isTTY: false, write: (s: string) => silent.push(s) },
  });
  pipe(u(1));
  pipe(u(10));
  assert.deepEqual(silent, []);
});
