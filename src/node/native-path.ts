// Where the native addon's file is looked for, in order. The package carries a prebuilt binary
// per platform (prebuilds/<platform>-<arch>/, the layout of better-sqlite3 and onnxruntime-node),
// so installing it compiles nothing; a compile from the shipped sources (native/, `maskwise
// build-native`, or `npm run build:native` in a checkout) lands in build/Release and is
// preferred, since it was made on this machine. The binary uses Node-API 8 only, so one file
// serves every Node.js version from 20 on, and it picks AVX-512, AVX2 or portable kernels at
// run time, so one file serves every x86-64 CPU.
import { join } from "node:path";

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
  /** "build": compiled on this machine from native/; "prebuild": shipped in the package. */
  source: "build" | "prebuild";
  path: string;
}

/** The files to try, best first. */
export function nativeCandidates(
  root: string = PACKAGE_ROOT,
  tag: string = platformTag(),
): NativeCandidate[] {
  return [
    { source: "build", path: join(root, "build", "Release", ADDON_FILE) },
    { source: "prebuild", path: join(root, "prebuilds", tag, ADDON_FILE) },
  ];
}
