// Where the native addon's file is looked for, in order. The package carries a prebuilt binary
// per platform (prebuilds/<platform>-<arch>/, the layout of better-sqlite3 and onnxruntime-node),
// so installing it compiles nothing; a compile from the shipped sources (native/, `maskwise
// build-native`, or `npm run build:native` in a checkout) lands in build/Release and is
// preferred, since it was made on this machine. The binary uses Node-API 8 only, so one file
// serves every Node.js version from 20 on, and it picks AVX-512, AVX2 or portable kernels at
// run time, so one file serves every x86-64 CPU. MASKWISE_NATIVE_ADDON names one file to load
// instead (a test build, such as the AVX-512 emulation of scripts/build-native.mjs).
import { join, resolve } from "node:path";

export const ADDON_FILE = "maskwise_native.node";

/** The package's root: src/node/ in a checkout, dist/node/ in an installed package. */
export const PACKAGE_ROOT = join(import.meta.dirname, "..", "..");

/** "linux-x64", "darwin-arm64", …: the folder under prebuilds/ for this process. */
export function platformTag(
  platform: string = process.platform,
  arch: string = process.arch,
): string {
  return `${platform}-${arch}`;
}

/** A file the addon may be loaded from, and how it got there. */
export interface NativeCandidate {
  /**
   * "build": compiled on this machine from native/; "prebuild": shipped in the package; "env":
   * the file MASKWISE_NATIVE_ADDON names.
   */
  source: "build" | "prebuild" | "env";
  path: string;
}

/** The files to try, best first; only the named one when MASKWISE_NATIVE_ADDON is set. */
export function nativeCandidates(
  root: string = PACKAGE_ROOT,
  tag: string = platformTag(),
  named: string | null = process.env.MASKWISE_NATIVE_ADDON || null,
): NativeCandidate[] {
  if (named) return [{ source: "env", path: resolve(named) }];
  return [
    { source: "build", path: join(root, "build", "Release", ADDON_FILE) },
    { source: "prebuild", path: join(root, "prebuilds", tag, ADDON_FILE) },
  ];
}
