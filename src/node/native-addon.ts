// Loads the C++ addon (native/, built by `npm install` into build/Release) and applies
// MASKWISE_THREADS. The only place that touches the .node file, so src/backend/native.ts stays
// free of `node:` imports.
import { createRequire } from "node:module";
import { join } from "node:path";
import type { NativeAddon } from "../backend/native.js";

export type { NativeAddon };

export const NATIVE_ADDON_PATH = join(
  import.meta.dirname,
  "..",
  "..",
  "build",
  "Release",
  "maskwise_native.node",
);

let cached: { addon: NativeAddon } | { error: string } | null = null;

/**
 * Loads the addon once. MASKWISE_THREADS, when set, must be a positive integer and sizes the
 * addon's thread pool; a bad value is reported as the load error rather than ignored.
 */
export function loadNativeAddon(): { addon: NativeAddon } | { error: string } {
  if (cached !== null) return cached;
  cached = load();
  return cached;
}

function load(): { addon: NativeAddon } | { error: string } {
  const threadsEnv = process.env.MASKWISE_THREADS;
  let threads: number | null = null;
  if (threadsEnv !== undefined && threadsEnv !== "") {
    threads = Number(threadsEnv);
    if (!/^\d+$/.test(threadsEnv.trim()) || !Number.isInteger(threads) || threads < 1) {
      return { error: `MASKWISE_THREADS must be a positive integer, got '${threadsEnv}'` };
    }
    threads = Math.min(threads, 1024);
  }
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
  } catch (e) {
    const first = ((e as Error).message ?? String(e)).split("\n")[0];
    return { error: `cannot load ${NATIVE_ADDON_PATH}: ${first}` };
  }
  if (threads !== null) addon.setThreads(threads);
  return { addon };
}
