// `maskwise build-native` is the way to a native backend, so MASKWISE_BACKEND=native without an
// addon must not stop it before it builds: it runs before any backend is chosen. Shown on a copy
// of the package's sources with no addon to load (no build/, no prebuilds/) and no native/: there
// `info` fails for want of the backend, while build-native gets as far as looking for native/.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const REPO = join(import.meta.dirname, "..", "..");

test("MASKWISE_BACKEND=native without an addon: build-native still runs", () => {
  const pkg = tempDir("no-addon");
  cpSync(join(REPO, "src"), join(pkg, "src"), { recursive: true });
  cpSync(join(REPO, "bin"), join(pkg, "bin"), { recursive: true });
  for (const f of ["package.json", "tsconfig.json"]) copyFileSync(join(REPO, f), join(pkg, f));
  symlinkSync(realpathSync(join(REPO, "node_modules")), join(pkg, "node_modules"), "dir");
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [join(pkg, "bin", "maskwise.mjs"), ...args], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, MASKWISE_BACKEND: "native" },
    });

  const info = run("info");
  assert.equal(info.status, 1, info.stderr);
  assert.match(info.stderr, /^maskwise: the native backend is not available: no native addon/);

  const build = run("build-native");
  assert.equal(build.status, 1, build.stderr);
  assert.doesNotMatch(build.stderr, /native backend is not available/);
  assert.match(build.stderr, /compiling the native backend from native\/ with node-gyp/);
  assert.match(build.stderr, /maskwise: the native sources are missing from /);
});
