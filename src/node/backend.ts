// Picks the backend for a Node process: MASKWISE_BACKEND=native|reference, default native when the
// addon (the package's prebuild, or a compile from source: src/node/native-path.ts) loads, the
// reference backend otherwise (with one line on a terminal's stderr
// that says so, once). MASKWISE_THREADS sizes the native thread pool (src/node/native-addon.ts).
import { NativeBackend } from "../backend/native.js";
import { ReferenceBackend } from "../backend/reference.js";
import type { Backend } from "../tensor/backend.js";
import { getBackend, setBackend } from "../tensor/dispatch.js";
import { MaskwiseError } from "../util/errors.js";
import { loadNativeAddon } from "./native-addon.js";

let chosen: Backend | null = null;
let warned = false;

/** The native backend, or the reason it is not available. */
export function nativeBackend(): NativeBackend | string {
  const r = loadNativeAddon();
  return "addon" in r ? new NativeBackend(r.addon) : r.error;
}

/** Chooses and activates the backend once per process; later calls return the same one. */
export function initBackend(env: NodeJS.ProcessEnv = process.env): Backend {
  if (chosen) return chosen;
  // A bad thread count used to make the addon "unavailable": a silent fall back to the reference
  // backend, ten times slower, said only on a terminal. It is a setting to fix, not to work around.
  const threads = (env.MASKWISE_THREADS ?? "").trim();
  if (threads !== "" && !/^[1-9]\d*$/.test(threads)) {
    throw new MaskwiseError(
      `MASKWISE_THREADS must be a positive integer, got '${env.MASKWISE_THREADS}'`,
      {
        code: "E_ENV",
        where: "MASKWISE_THREADS",
        hint: "unset it to use every core, or set the number of threads (e.g. 4)",
      },
    );
  }
  const wanted = (env.MASKWISE_BACKEND ?? "").trim().toLowerCase();
  if (wanted !== "" && wanted !== "native" && wanted !== "reference") {
    throw new MaskwiseError(
      `MASKWISE_BACKEND must be native or reference, got '${env.MASKWISE_BACKEND}'`,
      { code: "E_ENV", where: "MASKWISE_BACKEND", hint: "unset it to use the default" },
    );
  }
  if (wanted === "reference") {
    chosen = new ReferenceBackend();
  } else {
    const native = nativeBackend();
    if (typeof native === "string") {
      if (wanted === "native") {
        throw new MaskwiseError(`the native backend is not available: ${native}`, {
          code: "E_NATIVE",
          where: "MASKWISE_BACKEND=native",
          hint: "run 'maskwise build-native' to compile it and see why it does not",
          kind: "failure",
        });
      }
      // Said on a terminal, where a person may wonder why it is slow; `maskwise info` says it always.
      if (!warned && process.stderr.isTTY) {
        process.stderr.write(
          `maskwise: native backend unavailable (${native}); running on the slower reference backend\n`,
        );
        warned = true;
      }
      chosen = getBackend();
    } else {
      chosen = native;
    }
  }
  setBackend(chosen);
  return chosen;
}
