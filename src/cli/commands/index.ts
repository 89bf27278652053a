// The table of `maskwise` subcommands. Each entry loads its module only when it runs, so
// `maskwise --help` stays fast and one command's dependencies never slow another.
import type { Command } from "../command.js";

export interface CommandEntry {
  path: string[];
  summary: string;
  load: () => Promise<Command>;
}

export const commands: CommandEntry[] = [
  {
    path: ["masks", "show"],
    summary: "draw an attention mask (ascii, json, svg, png)",
    load: async () => (await import("./masks-show.js")).command,
  },
  {
    path: ["forward"],
    summary: "run a saved model on given ids; write logits and loss",
    load: async () => (await import("./forward.js")).command,
  },
  {
    path: ["info"],
    summary: "show the version, the active backend and its threads",
    load: async () => (await import("./info.js")).command,
  },
];
