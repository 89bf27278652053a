#!/usr/bin/env node
// Compiles the C++ addon (native/, binding.gyp) with node-gyp into build/Release, in a checkout:
// `npm ci` runs it as `prepare`, `npm run build:native` with --strict. A failed compile does not
// fail `npm ci`: maskwise then runs on the reference backend and says so in one line. With
// --strict a failure is an error. With --if-stale an addon newer than every file of native/ and
// binding.gyp is kept (`npm pack` runs `prepare` too, and need not compile twice).
// An installed package compiles nothing: it carries prebuilds/ (scripts/build.mjs), and
// `maskwise build-native` compiles from its sources where none fits.
//
// --emulate-avx512 compiles a second addon for tests, in build/emulated-avx512 (kept when newer
// than the sources): the same sources with MW_EMULATE_AVX512, over AVX2 and FMA, with the AVX-512
// intrinsics from SIMDe (Debian's libsimde-dev; native/simd.h). Loaded through
// MASKWISE_NATIVE_ADDON, it runs every AVX-512 path on a CPU without AVX-512, slowly:
//   MASKWISE_NATIVE_ADDON=build/emulated-avx512/build/Release/maskwise_native.node \
//     node scripts/test.mjs tests/backend
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

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

if (process.argv.includes("--emulate-avx512")) process.exit(buildEmulated());

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

/**
 * The AVX-512 emulation build (see the top of this file); returns the exit status. Its
 * binding.gyp is the project's with the sources one folder up twice, MW_EMULATE_AVX512 defined
 * and AVX2 and FMA enabled for every file.
 */
function buildEmulated() {
  const dir = join(root, "build", "emulated-avx512");
  const out = join(dir, "build", "Release", "maskwise_native.node");
  if (existsSync(out) && statSync(out).mtimeMs > newestSource()) {
    console.log(out);
    return 0;
  }
  if (!existsSync("/usr/include/simde/x86/avx512.h")) {
    console.error(
      "maskwise: the AVX-512 emulation build needs SIMDe (apt-get install libsimde-dev): /usr/include/simde/x86/avx512.h is missing",
    );
    return 1;
  }
  const gyp = JSON.parse(
    readFileSync(join(root, "binding.gyp"), "utf8")
      .split("\n")
      .filter((line) => !line.trimStart().startsWith("#"))
      .join("\n"),
  );
  const target = gyp.targets[0];
  target.sources = target.sources.map((s) => `../../${s}`);
  target.defines = [...target.defines, "MW_EMULATE_AVX512"];
  const flags = ["-mavx2", "-mfma", "-Wno-psabi"];
  target.cflags = [...target.cflags, ...flags];
  target.cflags_cc = [...target.cflags_cc, ...flags];
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "binding.gyp"), JSON.stringify(gyp, null, 2));
  // Node's own headers where its install carries them (npm passes its nodedir setting to the
  // scripts it runs); otherwise node-gyp fetches them.
  const prefix = join(dirname(process.execPath), "..");
  const nodedir =
    process.env.npm_config_nodedir ||
    (existsSync(join(prefix, "include", "node", "node_api.h")) ? prefix : null);
  const args = [
    nodeGyp(),
    "rebuild",
    "--jobs",
    "max",
    ...(nodedir ? [`--nodedir=${nodedir}`] : []),
  ];
  const r = spawnSync(process.execPath, args, {
    cwd: dir,
    stdio: ["ignore", 2, 2],
  });
  if (r.status !== 0 || !existsSync(out)) {
    console.error(`maskwise: the AVX-512 emulation build failed (node-gyp exit ${r.status})`);
    return 1;
  }
  console.log(out);
  return 0;
}

/** node-gyp's script: the one npm names to its scripts, else the copy npm carries. */
function nodeGyp() {
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return fromNpm;
  const bundled = join(dirname(process.execPath), "..", "lib", "node_modules", "npm");
  return join(bundled, "node_modules", "node-gyp", "bin", "node-gyp.js");
}
