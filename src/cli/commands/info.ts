// `maskwise info`: the version and the platform, so a bug report can say what ran.
import type { Command } from "../command.js";
import { parseFlags } from "../command.js";
import { VERSION } from "../version.js";

export const command: Command = {
  path: ["info"],
  summary: "show the version, the active backend and its threads",
  help: "Usage: maskwise info [--json]\n\nPrints the maskwise version, Node.js version and platform.",
  async run(argv) {
    const { values } = parseFlags("info", argv, { json: { type: "boolean" } });
    const info = {
      maskwise: VERSION,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
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
