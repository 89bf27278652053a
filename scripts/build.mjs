#!/usr/bin/env node
// `npm run build`, also run by `npm pack` and `npm publish` (prepack): what the package ships
// beside its sources.
//   dist/             the TypeScript of src/ compiled to ES modules with declarations
//                     (tsconfig.build.json), the inspector page bundled (dist/web/), and a copy
//                     of binding.gyp for `maskwise build-native` (a binding.gyp at the package's
//                     root would make npm compile it on every install)
//   prebuilds/<platform>-<arch>/maskwise_native.node
//                     the addon of build/Release (compiled first when older than its sources);
//                     one file serves every Node.js >= 20 (Node-API 8) and every x86-64 CPU (the
//                     kernels pick AVX-512, AVX2 or portable code at run time), so the build must
//                     not target this machine's CPU: flags that would are refused.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const dist = join(root, "dist");
const say = (line) => console.log(`build: ${line}`);
function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

rmSync(dist, { recursive: true, force: true });
run([join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"], "tsc");
say("dist/ compiled from src/ (ES modules and .d.ts)");

const web = join(dist, "web");
mkdirSync(web, { recursive: true });
const { bundlePageScript } = await import(join(dist, "node", "server.js"));
writeFileSync(join(web, "app.js"), await bundlePageScript());
for (const f of ["index.html", "style.css"]) copyFileSync(join(root, "web", f), join(web, f));
say("dist/web/ holds the inspector page (app.js bundled from web/main.ts)");

copyFileSync(join(root, "binding.gyp"), join(dist, "binding.gyp"));

run([join(root, "scripts", "build-native.mjs"), "--strict", "--if-stale"], "the native compile");
// Flags that tie the binary to the build machine's CPU, from binding.gyp or the environment.
const cpuSpecific = /(^|\s)-(march|mtune|mcpu)=native\b|(^|\s)-m(avx|fma|sse4|bmi|f16c)/;
const makefile = join(root, "build", "maskwise_native.target.mk");
const sources = [
  ["binding.gyp", readFileSync(join(root, "binding.gyp"), "utf8")],
  ["build/maskwise_native.target.mk", existsSync(makefile) ? readFileSync(makefile, "utf8") : ""],
  ...["CFLAGS", "CXXFLAGS", "CPPFLAGS"].map((k) => [`$${k}`, process.env[k] ?? ""]),
];
for (const [where, text] of sources) {
  for (const line of text.split("\n")) {
    if (cpuSpecific.test(line)) {
      console.error(`build: ${where} targets one CPU (${line.trim()}); a prebuild must not`);
      process.exit(1);
    }
  }
}
const tag = `${process.platform}-${process.arch}`;
const prebuilds = join(root, "prebuilds", tag);
rmSync(prebuilds, { recursive: true, force: true });
mkdirSync(prebuilds, { recursive: true });
copyFileSync(
  join(root, "build", "Release", "maskwise_native.node"),
  join(prebuilds, "maskwise_native.node"),
);
say(`prebuilds/${tag}/maskwise_native.node copied from build/Release`);
