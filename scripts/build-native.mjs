#!/usr/bin/env node
// Compiles the C++ addon (native/, binding.gyp) with node-gyp during `npm install`.
// A failed compile must not fail the install: maskwise then runs on the reference backend and
// says so in one line. With --strict (npm run build:native) a failure is an error.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const strict = process.argv.includes("--strict");
if (!existsSync(join(root, "binding.gyp"))) process.exit(0);
if (process.env.MASKWISE_SKIP_NATIVE === "1") {
  console.log(
    "maskwise: MASKWISE_SKIP_NATIVE=1, native backend not built; using the reference backend",
  );
  process.exit(0);
}
const r = spawnSync("node-gyp", ["rebuild"], {
  cwd: root,
  stdio: strict ? "inherit" : "pipe",
  shell: process.platform === "win32",
});
if (r.status !== 0) {
  const why = r.error
    ? r.error.message
    : (r.stderr?.toString().trim().split("\n").filter(Boolean).pop() ?? `exit ${r.status}`);
  const line = `maskwise: native backend did not compile (${why}); maskwise will run on the slower reference backend`;
  if (strict) {
    console.error(line);
    process.exit(1);
  }
  console.log(line);
}
process.exit(0);
