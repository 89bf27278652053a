// `maskwise info`: the version, the platform and the backend, so a bug report can say what ran.
import { loadNativeAddon } from "../../node/native-addon.js";
import { getBackend } from "../../tensor/dispatch.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { VERSION } from "../version.js";

export const command: Command = {
  path: ["info"],
  summary: "show the version, the active backend and its threads",
  help: [
    "Usage: maskwise info [--json]",
    "",
    "Prints the maskwise version, Node.js version, platform, backend and threads, and where the",
    "native addon was loaded from: 'prebuild' (shipped in the package for this platform) or",
    "'build' (compiled on this machine by 'maskwise build-native' or 'npm run build:native'),",
    "or why it is not available.",
  ].join("\n"),
  async run(argv) {
    const { values } = parseFlags("info", argv, { json: { type: "boolean" } });
    const backend = getBackend();
    const native = loadNativeAddon();
    const info = {
      maskwise: VERSION,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      backend: backend.name,
      threads: backend.threads,
      native_source: "addon" in native ? native.source : null,
      native_path: "addon" in native ? native.path : null,
      ...("error" in native ? { native_error: native.error } : {}),
    };
    console.log(
      values.json
        ? JSON.stringify(info)
        : Object.entries(info)
            .filter(([, v]) => v !== null)
            .map(([k, v]) => `${k}: ${v}`)
            .join("\n"),
    );
    return 0;
  },
};
