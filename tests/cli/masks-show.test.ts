import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, "masks", "show", ...args], { encoding: "utf8" });

test("json: one matrix per batch row, true = may attend", () => {
  const r = run(
    "--spec",
    "causal & padding",
    "--lengths",
    "3,2",
    "--q-len",
    "3",
    "--kv-len",
    "3",
    "--format",
    "json",
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out, {
    q_len: 3,
    kv_len: 3,
    attend: [
      [
        [true, false, false],
        [true, true, false],
        [true, true, true],
      ],
      [
        [true, false, false],
        [true, true, false],
        [true, true, false],
      ],
    ],
  });
});

test("ascii shows the grid and names the mask", () => {
  const r = run("--spec", "window", "--window", "2", "--q-len", "3", "--kv-len", "3");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /mask: window\(2, offset=0\)/);
  assert.match(r.stdout, /q2 {2}· ■ ■/);
});

test("a cache offset gives bottom-right alignment", () => {
  const r = run("--spec", "causal", "--offset", "2", "--q-len", "2", "--format", "json");
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.kv_len, 4);
  assert.deepEqual(out.attend[0][0], [true, true, true, false]);
});

test("png and svg files", () => {
  const dir = tempDir("masks");
  const png = join(dir, "m.png");
  const svg = join(dir, "m.svg");
  assert.equal(
    run("--spec", "causal|prefix", "--prefix", "2", "--q-len", "6", "--format", "png", "--out", png)
      .status,
    0,
  );
  const bytes = readFileSync(png);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(
    run("--spec", "documents", "--segments", "0,0,1", "--format", "svg", "--out", svg).status,
    0,
  );
  assert.match(readFileSync(svg, "utf8"), /^<svg [^>]*>[\s\S]*<\/svg>\n$/);
});

test("bad input is one line with status 2", () => {
  for (const args of [
    ["--spec", "causal & padding"],
    ["--spec", "causal", "--format", "gif"],
    ["--spec", "padding", "--lengths", "3,x"],
    ["--lengths", "3"],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, args.join(" "));
    assert.match(r.stderr, /^maskwise: .+ \(.+\): .+\n$/);
  }
});
