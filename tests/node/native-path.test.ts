// Which addon file is loaded: a compile on this machine (build/Release) before the package's
// prebuild, a file that exists but does not load skipped for the next, and an error that names
// the platform and the way to compile when none is left.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadFirst, loadNativeAddon } from "../../src/node/native-addon.js";
import { nativeCandidates, platformTag } from "../../src/node/native-path.js";
import { tempDir } from "../helpers/tmp.js";

test("candidates: build/Release first, then prebuilds/<platform>-<arch>", () => {
  assert.deepEqual(nativeCandidates("/pkg", "linux-arm64", null), [
    { source: "build", path: join("/pkg", "build", "Release", "maskwise_native.node") },
    {
      source: "prebuild",
      path: join("/pkg", "prebuilds", "linux-arm64", "maskwise_native.node"),
    },
  ]);
  assert.equal(platformTag("darwin", "arm64"), "darwin-arm64");
});

test("MASKWISE_NATIVE_ADDON: only the file it names, and an error naming it when it is missing", () => {
  const root = tempDir("native-named");
  const named = join(root, "emulated", "maskwise_native.node");
  assert.deepEqual(nativeCandidates("/pkg", "linux-x64", named), [{ source: "env", path: named }]);
  const r = loadFirst(nativeCandidates("/pkg", "linux-x64", named));
  assert.ok("error" in r);
  assert.ok(
    r.error.startsWith(`MASKWISE_NATIVE_ADDON names ${named}, which does not exist;`),
    r.error,
  );
});

test("no file: the error names the platform and maskwise build-native", () => {
  const root = tempDir("native-none");
  const r = loadFirst(nativeCandidates(root, "linux-riscv64", null));
  assert.ok("error" in r);
  assert.ok(r.error.startsWith(`no native addon was built or shipped for ${platformTag()};`));
  assert.match(r.error, /'maskwise build-native' compiles one/);
});

test("a file that does not load is skipped for the next, and named if none loads", (t) => {
  const loaded = loadNativeAddon();
  if ("error" in loaded) {
    if (process.env.CI === "true" || process.env.MASKWISE_REQUIRE_NATIVE === "1") {
      assert.fail(`the native backend must be available here: ${loaded.error}`);
    }
    t.skip(`no addon to copy: ${loaded.error}`);
    return;
  }
  const root = tempDir("native-order");
  const [build, prebuild] = nativeCandidates(root, "test-arch", null);
  mkdirSync(join(build.path, ".."), { recursive: true });
  writeFileSync(build.path, "not a shared library");
  const broken = loadFirst([build]);
  assert.ok("error" in broken);
  assert.match(broken.error, /^cannot load .*build.Release.maskwise_native\.node: /);

  mkdirSync(join(prebuild.path, ".."), { recursive: true });
  copyFileSync(loaded.path, prebuild.path);
  const r = loadFirst([build, prebuild]);
  assert.ok("addon" in r, "error" in r ? r.error : "");
  assert.equal(r.source, "prebuild");
  assert.equal(r.path, prebuild.path);
  assert.equal(typeof r.addon.gemmIsa(), "string");
});
