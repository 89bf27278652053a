// A run survives real signals: Ctrl-C (SIGINT to the child process, not a shouldStop callback)
// saves checkpoints/last and exits 130, and kill -9 between checkpoints loses only the updates
// after the last one; either way --resume then logs the same losses, step for step, as a run that
// was never stopped.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");

function fixture(): { dir: string; flags: string[] } {
  const dir = tempDir("signals");
  const src = ["ein hund läuft", "eine katze schläft", "zwei hunde spielen", "ein mann liest"];
  const tgt = ["a dog runs", "a cat sleeps", "two dogs play", "a man reads"];
  for (const [name, lines] of [
    ["train.de", src],
    ["train.en", tgt],
    ["valid.de", src.slice(0, 2)],
    ["valid.en", tgt.slice(0, 2)],
  ] as const) {
    writeFileSync(join(dir, name), `${lines.join("\n")}\n`);
  }
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      d_model: 16,
      encoder_layers: 1,
      decoder_layers: 1,
      encoder_attention_heads: 2,
      decoder_attention_heads: 2,
      encoder_ffn_dim: 32,
      decoder_ffn_dim: 32,
    }),
  );
  const flags = [
    ...["--task", "translation", "--model", config, "--vocab-size", "50"],
    ...["--train-src", join(dir, "train.de"), "--train-tgt", join(dir, "train.en")],
    ...["--valid-src", join(dir, "valid.de"), "--valid-tgt", join(dir, "valid.en")],
    ...["--max-tokens", "24", "--warmup", "5", "--log-every", "1", "--bleu-sample", "1"],
  ];
  return { dir, flags };
}

/**
 * Starts `maskwise train`, waits for the training line of update `step` on stderr (a pipe: one
 * plain line per log interval), sends `signal`, and resolves when the process has exited. A run
 * that ignores the signal is killed after a minute and resolves with status null.
 */
function trainUntil(
  args: string[],
  step: number,
  signal: NodeJS.Signals,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, "train", ...args]);
    let stdout = "";
    let stderr = "";
    let sent = false;
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      if (!sent && new RegExp(`train: step ${step} epoch`).test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(guard);
      resolve({
        status: sent && code === null && signal === "SIGKILL" ? 137 : code,
        stdout,
        stderr,
      });
    });
  });
}

const train = (args: string[]) =>
  spawnSync(process.execPath, [bin, "train", ...args], { encoding: "utf8", timeout: 120_000 });

/** step -> loss of the training lines (a step logged twice by a resumed run: the later line). */
function losses(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const l of readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n")) {
    if (l.trim() === "") continue;
    const r = JSON.parse(l);
    if ("loss" in r) m.set(r.step, r.loss);
  }
  return m;
}

const checkpointStep = (out: string) =>
  JSON.parse(readFileSync(join(out, "checkpoints", "last", "trainer_state.json"), "utf8"))
    .step as number;

test("SIGINT saves checkpoints/last and exits; --resume continues to the same losses", async () => {
  const { dir, flags } = fixture();
  const out = join(dir, "run");
  // A budget the run would take minutes to spend: only the signal can end it this soon.
  const stopped = await trainUntil(
    [...flags, "--out", out, "--max-steps", "100000", "--eval-every", "1000"],
    3,
    "SIGINT",
  );
  assert.equal(stopped.status, 130, stopped.stderr);
  const line = JSON.parse(stopped.stdout.trim().split("\n").pop() ?? "{}");
  assert.equal(line.stopped_by, "interrupted");
  const k = line.step as number;
  assert.ok(k >= 3 && k < 100000, `stopped at step ${k}`);
  // The checkpoint holds the last update made: none was lost, none made after it.
  assert.equal(checkpointStep(out), k);
  assert.equal(Math.max(...losses(out).keys()), k);

  const end = k + 4;
  const resumed = train([...flags, "--out", out, "--resume", "--max-steps", String(end)]);
  assert.equal(resumed.status, 0, resumed.stderr);
  const straightOut = join(dir, "straight");
  const straight = train([
    ...flags,
    ...["--out", straightOut, "--max-steps", String(end), "--eval-every", "1000"],
  ]);
  assert.equal(straight.status, 0, straight.stderr);
  assert.deepEqual([...losses(out)], [...losses(straightOut)]);
});

test("kill -9 between checkpoints: --resume from the last one logs the same losses", async () => {
  const { dir, flags } = fixture();
  const out = join(dir, "run");
  const killed = await trainUntil(
    [...flags, "--out", out, "--max-steps", "100000", "--eval-every", "4"],
    6,
    "SIGKILL",
  );
  assert.equal(killed.status, 137);
  const saved = checkpointStep(out);
  const logged = Math.max(...losses(out).keys());
  // Usually some updates after the last checkpoint are lost (the kill may also land right after
  // one is written, or while one is being swapped in).
  assert.ok(saved % 4 === 0 && saved >= 4 && saved <= logged, `saved ${saved}, logged ${logged}`);
  // Every line the killed run wrote must be what the straight run writes too.
  const before = losses(out);

  const end = logged + 3;
  const resumed = train([...flags, "--out", out, "--resume", "--max-steps", String(end)]);
  assert.equal(resumed.status, 0, resumed.stderr);
  const straightOut = join(dir, "straight");
  const straight = train([
    ...flags,
    ...["--out", straightOut, "--max-steps", String(end), "--eval-every", "4"],
  ]);
  assert.equal(straight.status, 0, straight.stderr);
  const want = losses(straightOut);
  assert.deepEqual([...losses(out)], [...want]);
  for (const [step, loss] of before) assert.equal(loss, want.get(step), `step ${step}`);
});
