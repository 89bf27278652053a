// Entry point of the `maskwise` command: finds the subcommand, prints help, and turns errors into
// the one-line form `maskwise: <what is wrong> (<where>): <what to do>` with status 2 for bad
// input and 1 for other failures.
import { initBackend } from "../node/backend.js";
import { MaskwiseError } from "../util/errors.js";
import { type CommandEntry, commands } from "./commands/index.js";
import { VERSION } from "./version.js";

function listing(prefix: string[]): string {
  const rows = commands.filter((c) => prefix.every((w, i) => c.path[i] === w));
  const width = Math.max(...rows.map((c) => c.path.join(" ").length));
  return rows.map((c) => `  maskwise ${c.path.join(" ").padEnd(width)}  ${c.summary}`).join("\n");
}

function topHelp(): string {
  return [
    `maskwise ${VERSION}: Transformers with attention masks done right, on a CPU.`,
    "",
    "Usage: maskwise <command> [options]",
    "",
    "Commands:",
    listing([]),
    "",
    "Every command takes --help. Environment: MASKWISE_BACKEND=native|reference,",
    "MASKWISE_THREADS=N.",
  ].join("\n");
}

function find(argv: string[]): { entry: CommandEntry; rest: string[] } | null {
  let best: CommandEntry | null = null;
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.path.length)) {
      best = c;
    }
  }
  return best ? { entry: best, rest: argv.slice(best.path.length) } : null;
}

export async function main(argv: string[]): Promise<number> {
  try {
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
      console.log(topHelp());
      return 0;
    }
    if (argv[0] === "--version" || argv[0] === "-v") {
      console.log(VERSION);
      return 0;
    }
    const found = find(argv);
    if (!found) {
      // A group word alone ("maskwise eval") or with --help lists what the group holds.
      const words = argv.filter((a) => !a.startsWith("-"));
      for (let n = words.length; n > 0; n--) {
        const prefix = words.slice(0, n);
        if (commands.some((c) => prefix.every((w, i) => c.path[i] === w))) {
          const helpAsked = argv.includes("--help") || argv.includes("-h");
          const text = `Usage: maskwise ${prefix.join(" ")} <command>\n\n${listing(prefix)}`;
          if (helpAsked || n === words.length) {
            (helpAsked ? console.log : console.error)(text);
            return helpAsked ? 0 : 2;
          }
        }
      }
      throw new MaskwiseError(`unknown command '${argv.join(" ")}'`, {
        code: "E_ARG",
        where: "maskwise",
        hint: "see 'maskwise --help'",
      });
    }
    const command = await found.entry.load();
    if (found.rest.includes("--help") || found.rest.includes("-h")) {
      console.log(command.help);
      return 0;
    }
    if (command.backend !== false) initBackend();
    return await command.run(found.rest);
  } catch (e) {
    if (e instanceof MaskwiseError) {
      console.error(e.toLine());
      return e.kind === "input" ? 2 : 1;
    }
    const err = e as Error;
    console.error(
      `maskwise: ${err?.message ?? String(e)} (internal): run with MASKWISE_DEBUG=1 for the stack`,
    );
    if (process.env.MASKWISE_DEBUG) console.error(err?.stack);
    return 1;
  }
}
