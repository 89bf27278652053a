// The command line of a benchmark script run on its own (bench/translate-compare.ts,
// bench/int8-fidelity.ts): `--name value` flags and bare switches, anything else refused, and
// one-line failures that name the script, where and what to do.

export interface ScriptArgs {
  /** Prints `SCRIPT: what (where): todo` and exits with status 2. */
  fail(what: string, where: string, todo: string): never;
  /** The value after flag `name` (with its dashes), or undefined when it is not given. */
  value(name: string): string | undefined;
  /** Whether switch `name` (with its dashes) is given. */
  has(name: string): boolean;
  /** Flag `name` as a positive integer, `fallback` when it is not given. */
  positiveInt(name: string, fallback: number): number;
}

/** Checks process.argv against the flags taking a value and the bare switches. */
export function scriptArgs(
  me: string,
  withValue: readonly string[],
  switches: readonly string[],
): ScriptArgs {
  const fail = (what: string, where: string, todo: string): never => {
    console.error(`${me}: ${what} (${where}): ${todo}`);
    process.exit(2);
  };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (withValue.includes(a)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) fail(`${a} needs a value`, a, "give one");
      i++;
    } else if (!switches.includes(a)) {
      fail(
        `unknown argument ${a}`,
        "command line",
        `use ${[...withValue, ...switches].join(", ")}`,
      );
    }
  }
  const value = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at < 0 ? undefined : argv[at + 1];
  };
  const positiveInt = (name: string, fallback: number): number => {
    const text = value(name);
    if (text === undefined) return fallback;
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1)
      fail(`${name} must be a positive integer, not ${text}`, name, "pass e.g. 5");
    return n;
  };
  return { fail, value, has: (name) => argv.includes(name), positiveInt };
}
