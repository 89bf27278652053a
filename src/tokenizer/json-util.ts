// Small helpers for reading tokenizer.json components: type checks that name the field at fault,
// and the `pattern` objects ({String} or {Regex}) that Replace and Split take.
import { MaskwiseError } from "../util/errors.js";
import { onigToJs } from "./onig-regex.js";

export type Obj = Record<string, unknown>;
/** The file being read, named in every error. */
export type ComponentSource = string;

export const isObj = (x: unknown): x is Obj =>
  typeof x === "object" && x !== null && !Array.isArray(x);

export function fail(src: ComponentSource, where: string, what: string, hint: string): never {
  throw new MaskwiseError(what, { code: "E_TOKENIZER", where: `${src}: ${where}`, hint });
}

export function unsupported(src: ComponentSource, kind: string, x: unknown): never {
  const type = isObj(x) ? x.type : x;
  return fail(
    src,
    `${kind}.type`,
    `${kind} ${JSON.stringify(type)} is not supported`,
    "see docs/tokenizer.md for the components maskwise reads",
  );
}

export function field<T extends "string" | "number" | "boolean">(
  o: Obj,
  key: string,
  type: T,
  src: ComponentSource,
  where: string,
): T extends "string" ? string : T extends "number" ? number : boolean {
  const v = o[key];
  if (typeof v !== type)
    fail(src, `${where}.${key}`, `${where}.${key} is not a ${type}`, "check the file");
  return v as never;
}

/** A global RegExp for a tokenizer.json pattern: a literal string or an Oniguruma regex. */
export function patternRegex(p: unknown, src: ComponentSource, where: string): RegExp {
  if (isObj(p) && typeof p.String === "string")
    return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&"), "gu");
  if (isObj(p) && typeof p.Regex === "string") {
    try {
      return onigToJs(p.Regex);
    } catch (e) {
      fail(src, where, `regex cannot be used: ${(e as Error).message}`, "simplify the pattern");
    }
  }
  return fail(src, where, `${where} is neither {String} nor {Regex}`, "check the file");
}
