// The published package, as a user gets it: `npm pack` (which runs `npm run build`), installed
// into an empty project from its lockfile with nothing compiled, then used the two ways a user
// uses it: the `maskwise` command (info names the prebuilt addon; a short quickstart on a corpus
// written here; serve answers with the page built into dist/web) and the library, imported by
// name and typechecked against the declarations it ships. Last, the fallback where no prebuild
// fits: the reference backend, then `maskwise build-native`.
import assert from "node:assert/strict";
import { type SpawnSyncOptions, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { nativeBackend } from "../../src/node/backend.js";
import { tempDir } from "../helpers/tmp.js";

const repo = join(import.meta.dirname, "..", "..");
const tag = `${process.platform}-${process.arch}`;
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const NPM_KEEP =
  /^npm_config_(cache|userconfig|globalconfig|registry|cafile|proxy|https_proxy|noproxy|strict_ssl|node_gyp|nodedir)$/i;

function sh(cmd: string, args: string[], cwd: string, opts: SpawnSyncOptions = {}) {
  const env = { ...process.env };
  // The installed package picks its own backend; nothing from the test run may steer it.
  delete env.MASKWISE_BACKEND;
  // Under `npm test` the environment describes this repository's script run (npm_package_*,
  // npm_lifecycle_*, npm_config_local_prefix, …); the empty project is another npm project. The
  // settings of how npm reaches its cache and registry are kept.
  for (const k of Object.keys(env)) {
    if (k.toLowerCase().startsWith("npm_") && !NPM_KEEP.test(k)) delete env[k];
  }
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: 300_000,
    shell: process.platform === "win32",
    env,
    ...opts,
  });
  const out = { status: r.status, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
  assert.equal(out.status, 0, `${cmd} ${args.join(" ")} in ${cwd}:\n${out.stderr}\n${out.stdout}`);
  return out;
}

/**
 * A lockfile for a project whose one dependency is the tarball: the tarball's integrity, and the
 * entries of its dependencies copied from this repository's lockfile, so `npm ci` resolves
 * nothing and can install from the npm cache that the repository's own `npm ci` filled.
 */
function consumerLock(tarball: string, spec: string) {
  const lock = JSON.parse(readFileSync(join(repo, "package-lock.json"), "utf8"));
  const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
  const integrity = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  const packages: Record<string, unknown> = {
    "": { name: "app", dependencies: { maskwise: spec } },
    "node_modules/maskwise": {
      version: pkg.version,
      resolved: spec,
      integrity,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  const todo = Object.keys(pkg.dependencies);
  while (todo.length > 0) {
    const name = todo.pop() as string;
    const entry = lock.packages[`node_modules/${name}`];
    assert.ok(entry, `${name} is missing from package-lock.json`);
    packages[`node_modules/${name}`] = entry;
    todo.push(...Object.keys(entry.dependencies ?? {}));
  }
  return { name: "app", lockfileVersion: 3, requires: true, packages };
}

/** Sentences over a few words and their word-by-word translations, Multi30k's file names. */
function writeCorpus(dir: string) {
  const de = ["ein", "hund", "katze", "läuft", "spielt", "im", "schnee", "park", "zwei", "kinder"];
  const en = ["a", "dog", "cat", "runs", "plays", "in the", "snow", "park", "two", "children"];
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed;
  };
  const split = (name: string, n: number) => {
    const src: string[] = [];
    const tgt: string[] = [];
    for (let i = 0; i < n; i++) {
      const ids = Array.from({ length: 3 + (next() % 5) }, () => next() % de.length);
      src.push(`${ids.map((k) => de[k]).join(" ")} .`);
      tgt.push(`${ids.map((k) => en[k]).join(" ")} .`);
    }
    writeFileSync(join(dir, `${name}.de`), `${src.join("\n")}\n`);
    writeFileSync(join(dir, `${name}.en`), `${tgt.join("\n")}\n`);
  };
  split("train", 300);
  split("val", 10);
  split("test_2016_flickr", 10);
}

/** Starts `maskwise serve`, fetches `paths` from it, stops it. */
async function serveAndFetch(app: string, model: string, paths: string[]) {
  const bin = join(app, "node_modules", ".bin", "maskwise");
  const child = spawn(bin, ["serve", "--model", model, "--port", "0"], { cwd: app });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = "";
      let err = "";
      child.stdout.on("data", (b) => {
        out += b;
        const m = /maskwise serve: (http:\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      child.stderr.on("data", (b) => {
        err += b;
      });
      child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    });
    const replies: { status: number; type: string; body: string }[] = [];
    for (const p of paths) {
      const r = await fetch(new URL(p, url));
      replies.push({
        status: r.status,
        type: r.headers.get("content-type") ?? "",
        body: await r.text(),
      });
    }
    return replies;
  } finally {
    child.kill("SIGTERM");
  }
}

test("the packed package installs without compiling and runs its CLI and library", async (t) => {
  const native = nativeBackend();
  if (typeof native === "string") {
    // The package carries the addon compiled here; without one there is nothing to pack.
    if (process.env.CI === "true" || process.env.MASKWISE_REQUIRE_NATIVE === "1") {
      assert.fail(`the native backend must be available here: ${native}`);
    }
    t.skip(`the native addon is not built, so no package can be made: ${native}`);
    return;
  }
  const dir = tempDir("package");

  // 1. The tarball: what it carries and what it leaves out.
  sh(npm, ["pack", "--pack-destination", dir], repo);
  const tgz = readdirSync(dir).find((f) => f.endsWith(".tgz"));
  assert.ok(tgz, `npm pack wrote no tarball into ${dir}`);
  const tarball = join(dir, tgz);
  const files = new Set(sh("tar", ["-tzf", tarball], dir).stdout.trim().split("\n"));
  for (const f of [
    "package/package.json",
    "package/LICENSE",
    "package/README.md",
    "package/bin/maskwise.mjs",
    "package/dist/index.js",
    "package/dist/index.d.ts",
    "package/dist/core.js",
    "package/dist/cli/main.js",
    "package/dist/web/app.js",
    "package/dist/web/index.html",
    "package/dist/web/style.css",
    "package/dist/binding.gyp",
    "package/native/addon.cc",
    `package/prebuilds/${tag}/maskwise_native.node`,
  ]) {
    assert.ok(files.has(f), `${f} is missing from the tarball`);
  }
  for (const f of files) {
    // No sources (they need tsx), no tests, and no binding.gyp at the root: npm would compile it
    // on install.
    assert.doesNotMatch(f, /^package\/(src|tests|scripts|bench|build)\/|^package\/binding\.gyp$/);
  }
  const shipped = JSON.parse(sh("tar", ["-xzOf", tarball, "package/package.json"], dir).stdout);
  for (const s of ["preinstall", "install", "postinstall"])
    assert.equal(shipped.scripts?.[s], undefined);
  assert.equal(shipped.gypfile, false);

  // 2. An empty project installs it from its lockfile.
  const app = join(dir, "app");
  mkdirSync(app);
  const spec = `file:../${tgz}`;
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({
      name: "app",
      private: true,
      type: "module",
      dependencies: { maskwise: spec },
    }),
  );
  writeFileSync(join(app, "package-lock.json"), JSON.stringify(consumerLock(tarball, spec)));
  sh(npm, ["ci", "--prefer-offline", "--no-audit", "--no-fund"], app);
  const installed = join(app, "node_modules", "maskwise");
  assert.ok(!existsSync(join(installed, "build")), "the install compiled the addon");

  // 3. The command: the prebuilt addon is the one in use.
  const info = JSON.parse(sh("npx", ["--no-install", "maskwise", "info", "--json"], app).stdout);
  assert.equal(info.backend, "native");
  assert.equal(info.native_source, "prebuild");
  assert.equal(
    realpathSync(info.native_path),
    realpathSync(join(installed, "prebuilds", tag, "maskwise_native.node")),
  );

  // A few steps of the quickstart on a corpus written here (the packaged corpus is not used).
  const data = join(dir, "data");
  mkdirSync(data);
  writeCorpus(data);
  const run = join(dir, "run");
  const qs = sh(
    "npx",
    [
      "--no-install",
      "maskwise",
      "quickstart",
      "--data-dir",
      data,
      "--out",
      run,
      "--config",
      "tiny",
      "--vocab-size",
      "80",
      "--max-steps",
      "3",
      "--beam",
      "2",
    ],
    app,
  );
  assert.match(qs.stdout, /trained 3 steps \(max_steps\)/);
  assert.match(
    qs.stdout,
    /BLEU\|nrefs:1\|case:mixed\|eff:no\|tok:13a\|smooth:exp\|version:2\.6\.0 = /,
  );

  // The inspector's page comes from dist/web (esbuild is not installed here).
  assert.ok(!existsSync(join(app, "node_modules", "esbuild")));
  const [page, script] = await serveAndFetch(app, join(run, "checkpoints", "last"), [
    "/",
    "/app.js",
  ]);
  assert.equal(page.status, 200);
  assert.match(page.body, /<script[^>]+app\.js/);
  assert.equal(script.status, 200);
  assert.match(script.type, /javascript/);
  assert.equal(script.body, readFileSync(join(installed, "dist", "web", "app.js"), "utf8"));

  // 4. The library: imported by name, typechecked against the shipped declarations, compiled
  // and run. A wrong argument must fail the typecheck, so the declarations are not `any`.
  writeFileSync(
    join(app, "use.ts"),
    [
      'import { attention as A, initBackend, type MaskwiseError } from "maskwise";',
      'import { attention as B } from "maskwise/core";',
      "const mask: A.AttendMask = A.causal().and(A.keyPadding([4, 6]));",
      "const described: string = mask.describe();",
      "const backend: string = initBackend().name;",
      "const same: boolean = B.causal().describe() === A.causal().describe();",
      "const error: MaskwiseError | null = null;",
      "console.log(JSON.stringify({ described, backend, same, error }));",
      "",
    ].join("\n"),
  );
  writeFileSync(
    join(app, "wrong.ts"),
    'import { attention as A } from "maskwise";\nA.keyPadding("4");\n',
  );
  const tsconfig = (file: string) => ({
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      outDir: "out",
      types: ["node"],
      typeRoots: [join(repo, "node_modules", "@types")],
    },
    files: [file],
  });
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify(tsconfig("use.ts")));
  writeFileSync(join(app, "tsconfig.wrong.json"), JSON.stringify(tsconfig("wrong.ts")));
  const tsc = join(repo, "node_modules", "typescript", "bin", "tsc");
  sh(process.execPath, [tsc, "-p", "tsconfig.json"], app);
  const wrong = spawnSync(process.execPath, [tsc, "-p", "tsconfig.wrong.json", "--noEmit"], {
    cwd: app,
    encoding: "utf8",
  });
  assert.notEqual(wrong.status, 0, "a wrong argument typechecked");
  assert.match(wrong.stdout, /wrong\.ts\(2,\d+\): error TS2345/);
  const used = JSON.parse(sh(process.execPath, [join("out", "use.js")], app).stdout);
  assert.deepEqual(used, {
    described: "causal(offset=0) & padding([4, 6])",
    backend: "native",
    same: true,
    error: null,
  });

  // 5. Where no prebuild fits (here: the package's prebuilds/ removed), the reference backend
  // runs and says how to get the native one; `maskwise build-native` compiles it from the
  // shipped sources into build/Release, which is then the file in use.
  rmSync(join(installed, "prebuilds"), { recursive: true });
  const bare = JSON.parse(sh("npx", ["--no-install", "maskwise", "info", "--json"], app).stdout);
  assert.equal(bare.backend, "reference");
  assert.equal(bare.native_source, null);
  assert.match(bare.native_error, /no native addon .* for .*'maskwise build-native' compiles/);
  const built = sh("npx", ["--no-install", "maskwise", "build-native"], app);
  const compiled = join(installed, "build", "Release", "maskwise_native.node");
  assert.equal(realpathSync(built.stdout.trim()), realpathSync(compiled));
  assert.ok(!existsSync(join(installed, "binding.gyp")), "build-native left binding.gyp behind");
  const after = JSON.parse(sh("npx", ["--no-install", "maskwise", "info", "--json"], app).stdout);
  assert.equal(after.backend, "native");
  assert.equal(after.native_source, "build");
  assert.equal(realpathSync(after.native_path), realpathSync(compiled));
});
