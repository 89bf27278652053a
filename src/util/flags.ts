// Numeric command-line flags, read one way by every command: a value that is not a number in
// range is one clear error naming the command, the flag and the value.
import { MaskwiseError } from "./errors.js";

/** The flag's number, or `fallback` when it was not given. */
export function numberFlag(
  command: string,
  name: string,
  value: string | undefined,
  fallback: number,
  { min = Number.NEGATIVE_INFINITY, integer = false } = {},
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new MaskwiseError(`--${name} must be ${integer ? "an integer" : "a number"} >= ${min}`, {
      code: "E_ARG",
      where: `maskwise ${command} --${name} ${value}`,
      hint: `see 'maskwise ${command} --help'`,
    });
  }
  return n;
}
