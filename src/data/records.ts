// Turning one line of a TSV or JSON-lines file into the text fields a task needs, with errors
// that name the file, the line and what is wrong. Pure functions: the streaming that feeds them
// lines lives in src/node/readers.ts.
import { MaskwiseError } from "../util/errors.js";

/** Picks columns (0-based) from a tab-separated line. */
export function tsvFields(line: string, columns: readonly number[], where: string): string[] {
  const cells = line.split("\t");
  return columns.map((c) => {
    if (c >= cells.length) {
      throw new MaskwiseError(`column ${c + 1} is missing (the line has ${cells.length})`, {
        code: "E_DATA",
        where,
        hint: "check that the file is tab-separated and the column numbers are right",
      });
    }
    return cells[c];
  });
}

/** Picks string fields from a JSON-lines line; `a.b` reaches into nested objects. */
export function jsonlFields(line: string, fields: readonly string[], where: string): string[] {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    throw new MaskwiseError(`not valid JSON (${(e as Error).message})`, {
      code: "E_JSON",
      where,
      hint: "each line must be one JSON object",
    });
  }
  return fields.map((field) => {
    let v: unknown = obj;
    for (const part of field.split(".")) {
      v =
        typeof v === "object" && v !== null && !Array.isArray(v)
          ? (v as Record<string, unknown>)[part]
          : undefined;
    }
    if (v === undefined) {
      const keys = typeof obj === "object" && obj !== null ? Object.keys(obj).join(", ") : "none";
      throw new MaskwiseError(`field "${field}" is missing`, {
        code: "E_DATA",
        where,
        hint: `the line has fields: ${keys}`,
      });
    }
    if (typeof v !== "string") {
      throw new MaskwiseError(
        `field "${field}" is ${Array.isArray(v) ? "a list" : typeof v}, not text`,
        {
          code: "E_DATA",
          where,
          hint: "choose a field that holds a string",
        },
      );
    }
    return v;
  });
}

/** What to do with an empty line or field: skip it and count it, or fail (strict). */
export type EmptyPolicy = "skip" | "fail";

/** Counts what a reader skipped, for the one line it reports at the end. */
export interface ReadStats {
  read: number;
  skippedEmpty: number;
  /** The first few skipped places (file:line), for the report. */
  skippedAt: string[];
}

export const newStats = (): ReadStats => ({ read: 0, skippedEmpty: 0, skippedAt: [] });

/**
 * Applies the empty policy to one example: true to keep it. An example is empty when any of its
 * fields is empty or whitespace only.
 */
export function keepExample(
  fields: readonly string[],
  policy: EmptyPolicy,
  where: string,
  stats: ReadStats,
): boolean {
  if (fields.every((f) => f.trim().length > 0)) {
    stats.read++;
    return true;
  }
  if (policy === "fail") {
    throw new MaskwiseError("empty line", {
      code: "E_DATA",
      where,
      hint: "remove it, or read without --strict to skip empty lines",
    });
  }
  stats.skippedEmpty++;
  if (stats.skippedAt.length < 5) stats.skippedAt.push(where);
  return false;
}
