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
}

export type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `argv` against `options` (node:util parseArgs, strict). Unknown flags and missing values
 * become a MaskwiseError naming the command, so the user sees one clear line and status 2.
 */
export function parseFlags<O extends Options>(
  command: string,
  argv: string[],
  options: O,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (e) {
    throw new MaskwiseError((e as Error).message.replace(/\. To specify.*$/s, ""), {
      code: "E_ARG",
      where: `maskwise ${command}`,
      hint: `see 'maskwise ${command} --help'`,
    });
  }
}

export { numberFlag } from "../util/flags.js";
