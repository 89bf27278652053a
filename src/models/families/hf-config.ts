// Reading a transformers config.json as transformers writes it: the keys a family uses, by their
// names or their aliases (GPT-2's n_embd for hidden size), each checked for its type, with the
// defaults transformers' config class has; every other key is kept as it was, so a config
// written back holds it unchanged. A key with the wrong type is an error naming it.
import { MaskwiseError } from "../../util/errors.js";

export type HfType = "integer" | "number" | "boolean" | "string";

export interface HfKey {
  type: HfType;
  /** transformers' default when the key is absent; undefined: the key is required. */
  default?: number | boolean | string | null;
  /** Other names of the key (attribute_map in transformers). */
  aliases?: readonly string[];
  /** null is allowed (an absent token id, say). */
  nullable?: boolean;
  /** The values allowed, for a string. */
  oneOf?: readonly string[];
  /** The name of the value in maskwise's config (default: the same name). */
  as?: string;
}

export type HfSchema = Readonly<Record<string, HfKey>>;

function typeOk(v: unknown, t: HfType): boolean {
  if (t === "integer") return typeof v === "number" && Number.isInteger(v);
  return typeof v === t;
}

/**
 * The values of the schema's keys in `raw` (defaults filled in), under their maskwise names
 * (`as`); `source` names the file.
 */
export function readHfConfig(
  raw: Readonly<Record<string, unknown>>,
  schema: HfSchema,
  source: string,
): Record<string, number | boolean | string | null> {
  const out: Record<string, number | boolean | string | null> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const name = [key, ...(spec.aliases ?? [])].find((k) => raw[k] !== undefined);
    const value = name === undefined ? undefined : raw[name];
    if (value === undefined) {
      if (spec.default === undefined) {
        throw new MaskwiseError(`config.json lacks '${key}'`, {
          code: "E_CONFIG",
          where: source,
          hint: "a transformers config.json of this model type has it",
        });
      }
      out[spec.as ?? key] = spec.default;
      continue;
    }
    if (value === null && spec.nullable) {
      out[spec.as ?? key] = null;
      continue;
    }
    const ok = typeOk(value, spec.type) && (!spec.oneOf || spec.oneOf.includes(value as string));
    if (!ok) {
      const want = spec.oneOf ? `one of ${spec.oneOf.join(", ")}` : `a ${spec.type}`;
      throw new MaskwiseError(`'${name}' must be ${want}, got ${JSON.stringify(value)}`, {
        code: "E_CONFIG",
        where: `${source}: ${name}`,
        hint: spec.oneOf ? "maskwise does not compute this setting yet" : undefined,
      });
    }
    out[spec.as ?? key] = value as number | boolean | string;
  }
  return out;
}

/**
 * The config.json to write: the one read (every key kept as it was), with the schema's keys set
 * from maskwise's values where they were present or differ from transformers' default; an id
 * that was null stays null. `values` holds maskwise's names.
 */
export function writeHfConfig(
  source: Readonly<Record<string, unknown>>,
  schema: HfSchema,
  values: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...source };
  for (const [key, spec] of Object.entries(schema)) {
    const name = [key, ...(spec.aliases ?? [])].find((k) => source[k] !== undefined) ?? key;
    const value = values[spec.as ?? key];
    if (value === undefined || (source[name] === null && spec.nullable)) continue;
    if (name in source || value !== spec.default) out[name] = value;
  }
  return out;
}

/** The value of an integer key that may be null, or `fallback` for null. */
export function idOr(v: number | boolean | string | null, fallback: number): number {
  return typeof v === "number" ? v : fallback;
}
