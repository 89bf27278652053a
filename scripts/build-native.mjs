#!/usr/bin/env node
// Compiles the C++ addon (native/, binding.gyp) with node-gyp into build/Release, in a checkout:
// `npm ci` runs it as `prepare`, `npm run build:native` with --strict. A failed compile does not
// fail `npm ci`: maskwise then runs on the reference backend and says so in one line. With
// --strict a failure is an error. With --if-stale an addon newer than every file of native/ and
// binding.gyp is kept (`npm pack` runs `prepare` too, and need not compile twice).
// An installed package compiles nothing: it carries prebuilds/ (scripts/build.mjs), and
// `maskwise build-native` compiles from its sources where none fits.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const strict = process.argv.includes("--strict");
const ifStale = process.argv.includes("--if-stale");
const addon = join(root, "build", "Release", "maskwise_native.node");
if (!existsSync(join(root, "binding.gyp"))) process.exit(0);
if (process.env.MASKWISE_SKIP_NATIVE === "1") {
  console.log(
    "maskwise: MASKWISE_SKIP_NATIVE=1, native backend not built; using the reference backend",
  );
  process.exit(0);
}

/** The newest modification time among binding.gyp and the files under native/. */
function newestSource() {
  let newest = statSync(join(root, "binding.gyp")).mtimeMs;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(root, "native"));
  return newest;
}

if (ifStale && existsSync(addon) && statSync(addon).mtimeMs > newestSource()) {
  console.log(`maskwise: ${addon} is newer than native/ and binding.gyp; not recompiled`);
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
