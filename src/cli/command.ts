// What a `maskwise` subcommand is, and the argument parsing every subcommand shares.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { MaskwiseError } from "../util/errors.js";

export interface Command {
  /** The words that name it: ["bench", "matmul"]. */
  path: string[];
  /** One line for the command list. */
  summary: string;
  /** The full `--help` text. */
  help: string;
  /** Runs with the arguments after the command words; resolves to the exit status. */
  run(argv: string[]): Promise<number>;
  /**
   * false: the command computes nothing and runs before any backend is chosen, so that
   * MASKWISE_BACKEND=native without an addon cannot stop the command that builds one.
   */
  backend?: false;
}

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** What parseFlags returns for `options` (written out so the declarations can name it). */
export type ParsedFlags<O extends Options> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>
>;

/**
 * Parses `argv` against `options` (node:util parseArgs, strict). Unknown flags and missing values
 * become a MaskwiseError naming the command, so the user sees one clear line and status 2.
 */
export function parseFlags<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
): ParsedFlags<O> {
  // "--max-steps -3": parseArgs takes -3 for an option and fails with a message about dashes;
  // joined as "--max-steps=-3", the value reaches the flag's own check ("must be >= 1").
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (next !== undefined && /^-\.?\d/.test(next) && isValueFlag(options, argv[i])) {
      args.push(`${argv[i]}=${next}`);
      i++;
    } else {
      args.push(argv[i]);
    }
  }
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (e) {
    throw new MaskwiseError((e as Error).message.replace(/\. To specify.*$/s, ""), {
      code: "E_ARG",
      where: `maskwise ${command}`,
      hint: `see 'maskwise ${command} --help'`,
    });
  }
}

/** Whether `arg` is a long option of `options` that takes a value ("--max-steps"). */
function isValueFlag(options: Options, arg: string | undefined): boolean {
  if (!arg?.startsWith("--") || arg.includes("=")) return false;
  return options[arg.slice(2)]?.type === "string";
}

export { numberFlag } from "../util/flags.js";
