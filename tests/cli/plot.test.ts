import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { assertWellFormedSvg, decodePng, polylinePoints } from "../helpers/pictures.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const plot = (...args: string[]) =>
  spawnSync(process.execPath, [bin, "plot", ...args], { encoding: "utf8" });

/** A small run directory: 30 logged steps, 3 evaluations with BLEU, and a resume at step 100. */
function fixtureRun(lines?: string[]): string {
  const dir = join(tempDir("plot"), "wmt-tiny");
  mkdirSync(dir);
  const recs: object[] = [];
  for (let s = 10; s <= 300; s += 10) {
    recs.push({ step: s, epoch: 0, loss: 6 - s / 100, lr: 5e-4, tokens_per_s: 1234 });
    if (s % 100 === 0)
      recs.push({ step: s, epoch: 0, valid_loss: 6.5 - s / 100, valid_ppl: 1, valid_bleu: s / 30 });
    if (s === 150)
      for (let r = 110; r <= 150; r += 10) recs.push({ step: r, epoch: 0, loss: 9, lr: 5e-4 });
  }
  writeFileSync(
    join(dir, "metrics.jsonl"),
    `${(lines ?? recs.map((r) => JSON.stringify(r))).join("\n")}\n`,
  );
  return dir;
}

test("maskwise plot RUN_DIR writes curves.svg and curves.png beside the log", () => {
  const dir = fixtureRun();
  const r = plot(dir);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n"), [join(dir, "curves.svg"), join(dir, "curves.png")]);
  const svg = readFileSync(join(dir, "curves.svg"), "utf8");
  assertWellFormedSvg(svg);
  assert.match(svg, />wmt-tiny</);
  assert.equal(polylinePoints(svg, "loss")[0].length, 30); // steps 110-150 once each
  assert.equal(polylinePoints(svg, "valid_bleu")[0].length, 3);
  const png = decodePng(readFileSync(join(dir, "curves.png")));
  assert.equal(png.width, 960);
  assert.equal(r.stderr, ""); // not a terminal: no progress output
});

test("maskwise plot --out picks the format by extension", () => {
  const dir = fixtureRun();
  const out = join(dir, "..", "c.png");
  assert.equal(plot(dir, "--out", out).status, 0);
  decodePng(readFileSync(out));
  assert.ok(!existsSync(join(dir, "curves.svg")));
  const svgOut = join(dir, "..", "c.svg");
  assert.equal(plot(dir, "--out", svgOut).status, 0);
  assertWellFormedSvg(readFileSync(svgOut, "utf8"));
  const bad = plot(dir, "--out", join(dir, "c.jpg"));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^maskwise: --out must end in \.svg or \.png/);
});

test("maskwise plot: a bad metrics line is an error naming the file and the line", () => {
  const dir = fixtureRun(['{"step":1,"loss":3}', '{"step":2,"loss":', '{"step":3,"loss":2}']);
  const r = plot(dir);
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.ok(r.stderr.includes(`(${join(dir, "metrics.jsonl")}:2)`), r.stderr);
  assert.match(r.stderr, /not valid JSON/);
  assert.ok(!existsSync(join(dir, "curves.svg")));
});

test("maskwise plot: a missing directory, a folder without metrics.jsonl, no arguments", () => {
  const nowhere = plot(join(tmpdir(), "maskwise-no-such-run"));
  assert.equal(nowhere.status, 2);
  assert.match(nowhere.stderr, /run directory not found/);
  const empty = tempDir("plot-empty");
  const r = plot(empty);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /no metrics\.jsonl/);
  assert.equal(plot().status, 2);
});
