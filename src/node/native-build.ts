// `maskwise build-native`: compiles the addon from the sources the package carries (native/) with
// node-gyp, into build/Release, where src/node/native-path.ts looks first. The way to a native
// backend where no prebuild fits this platform, or where the prebuild does not load (an older C
// library, say). Needs Python 3 and a C++17 compiler, as node-gyp does.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { MaskwiseError } from "../util/errors.js";
import { ADDON_FILE, PACKAGE_ROOT } from "./native-path.js";

/** How to run node-gyp: the program and the arguments before the subcommand. */
export function findNodeGyp(root: string = PACKAGE_ROOT): { program: string; args: string[] } {
  const node = process.execPath;
  // npm names its own copy to the scripts it runs.
  const fromNpm = process.env.npm_config_node_gyp;
  if (fromNpm && existsSync(fromNpm)) return { program: node, args: [fromNpm] };
  try {
    const local = createRequire(join(root, "package.json")).resolve("node-gyp/bin/node-gyp.js");
    return { program: node, args: [local] };
  } catch {}
  // The copy npm carries, beside the node executable of a standard install (bin/node and
  // lib/node_modules/npm on Unix, node.exe and node_modules/npm on Windows).
  const npmDirs = [
    join(dirname(node), "..", "lib", "node_modules", "npm"),
    join(dirname(node), "node_modules", "npm"),
  ];
  for (const npm of npmDirs) {
    const bundled = join(npm, "node_modules", "node-gyp", "bin", "node-gyp.js");
    if (existsSync(bundled)) return { program: node, args: [bundled] };
  }
  return { program: "node-gyp", args: [] };
}

/**
 * Compiles the addon into `root`/build/Release and returns its path. The package keeps its
 * binding.gyp in dist/ (at the root npm would compile it on every install); it is put at the
 * root for node-gyp and removed after. node-gyp's output goes to stderr.
 */
export function buildNative(root: string = PACKAGE_ROOT): string {
  const where = "maskwise build-native";
  if (!existsSync(join(root, "native", "addon.cc"))) {
    throw new MaskwiseError(`the native sources are missing from ${root}`, {
      code: "E_NATIVE",
      where,
      hint: "reinstall maskwise; the package carries native/",
      kind: "failure",
    });
  }
  const gyp = join(root, "binding.gyp");
  const shipped = join(root, "dist", "binding.gyp");
  const placed = !existsSync(gyp);
  if (placed) {
    if (!existsSync(shipped)) {
      throw new MaskwiseError(`neither ${gyp} nor ${shipped} exists`, {
        code: "E_NATIVE",
        where,
        hint: "reinstall maskwise, or run 'npm run build' in a checkout",
        kind: "failure",
      });
    }
    copyFileSync(shipped, gyp);
  }
  const { program, args } = findNodeGyp(root);
  let r: ReturnType<typeof spawnSync>;
  try {
    r = spawnSync(program, [...args, "rebuild"], {
      cwd: root,
      stdio: ["ignore", 2, 2],
      shell: process.platform === "win32" && args.length === 0,
    });
  } finally {
    if (placed) rmSync(gyp, { force: true });
  }
  const addon = join(root, "build", "Release", ADDON_FILE);
  if (r.error || r.status !== 0 || !existsSync(addon)) {
    const why = r.error ? r.error.message : `node-gyp exited with ${r.status ?? r.signal}`;
    throw new MaskwiseError(`the native backend did not compile (${why})`, {
      code: "E_NATIVE",
      where,
      hint: "node-gyp needs Python 3 and a C++17 compiler (its messages above say what failed); maskwise keeps running on the reference backend meanwhile",
      kind: "failure",
    });
  }
  return addon;
}
