// Loads the C++ addon (native/) and applies MASKWISE_THREADS. The only place that touches the
// .node file, so src/backend/native.ts stays free of `node:` imports; which files are tried, in
// which order, is src/node/native-path.ts.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import type { NativeAddon } from "../backend/native.js";
import { type NativeCandidate, nativeCandidates, platformTag } from "./native-path.js";

export type { NativeAddon };

/** The addon and the file it came from, or why there is none. */
export type LoadedNative = ({ addon: NativeAddon } & NativeCandidate) | { error: string };

let cached: LoadedNative | null = null;

/**
 * Loads the addon once. MASKWISE_THREADS, when set, must be a positive integer and sizes the
 * addon's thread pool; a bad value is reported as the load error rather than ignored.
 */
export function loadNativeAddon(): LoadedNative {
  if (cached !== null) return cached;
  cached = load();
  return cached;
}

function load(): LoadedNative {
  const threadsEnv = process.env.MASKWISE_THREADS;
  let threads: number | null = null;
  if (threadsEnv !== undefined && threadsEnv !== "") {
    threads = Number(threadsEnv);
    if (!/^\d+$/.test(threadsEnv.trim()) || !Number.isInteger(threads) || threads < 1) {
      return { error: `MASKWISE_THREADS must be a positive integer, got '${threadsEnv}'` };
    }
    threads = Math.min(threads, 1024);
  }
  const loaded = loadFirst(nativeCandidates());
  if ("addon" in loaded && threads !== null) loaded.addon.setThreads(threads);
  return loaded;
}

/** The first candidate file that exists and loads; a file that fails to load is skipped. */
export function loadFirst(candidates: NativeCandidate[]): LoadedNative {
  const failed: string[] = [];
  const require = createRequire(import.meta.url);
  for (const c of candidates) {
    if (!existsSync(c.path)) {
      if (c.source === "env")
        failed.push(`MASKWISE_NATIVE_ADDON names ${c.path}, which does not exist`);
      continue;
    }
    try {
      return { addon: require(c.path) as NativeAddon, ...c };
    } catch (e) {
      failed.push(`cannot load ${c.path}: ${((e as Error).message ?? String(e)).split("\n")[0]}`);
    }
  }
  const compile = "'maskwise build-native' compiles one from the sources";
  if (failed.length > 0) return { error: `${failed.join("; ")}; ${compile}` };
  return { error: `no native addon was built or shipped for ${platformTag()}; ${compile}` };
}
