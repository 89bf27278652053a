// `maskwise info`: the version, the platform and the backend, so a bug report can say what ran.
import { getBackend } from "../../tensor/dispatch.js";
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { VERSION } from "../version.js";

export const command: Command = {
  path: ["info"],
  summary: "show the version, the active backend and its threads",
  help: "Usage: maskwise info [--json]\n\nPrints the maskwise version, Node.js version, platform, backend and threads.",
  async run(argv) {
    const { values } = parseFlags("info", argv, { json: { type: "boolean" } });
    const backend = getBackend();
    const info = {
      maskwise: VERSION,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      backend: backend.name,
      threads: backend.threads,
    };
    console.log(
      values.json
        ? JSON.stringify(info)
        : Object.entries(info)
            .map(([k, v]) => `${k}: ${v}`)
            .join("\n"),
    );
    return 0;
  },
};
