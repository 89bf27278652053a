import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

test("maskwise --help lists the commands", () => {
  const r = run("--help");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Usage: maskwise <command>/);
  assert.match(r.stdout, /maskwise info/);
});

test("an unknown command is one line on stderr and status 2", () => {
  const r = run("frobnicate");
  assert.equal(r.status, 2);
  assert.equal(r.stdout, "");
  assert.match(
    r.stderr.trim(),
    /^maskwise: unknown command 'frobnicate' \(maskwise\): see 'maskwise --help'$/,
  );
});

test("an unknown flag names the command", () => {
  const r = run("info", "--bogus");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^maskwise: .*'--bogus'.* \(maskwise info\)/);
});
