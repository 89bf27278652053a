// Reading the examples of `maskwise train --task summarization|dialogue|qa|lm` and the text of
// `maskwise pretrain`. Fielded files are JSON lines (fields by name; `a.b` reaches into objects)
// or TSV (columns by 0-based index, or by name from a header line), chosen by extension.
import { extname } from "node:path";
import { MaskwiseError } from "../util/errors.js";
import { fileLines } from "./lines.js";
import { type ReadOptions, readJsonl, readTsv } from "./readers.js";

const JSONL = new Set([".jsonl", ".json", ".ndjson"]);
const TSV = new Set([".tsv", ".tab", ".txt"]);

/** Rows of the chosen fields, in the order asked for. */
export async function readFields(
  path: string,
  fields: readonly string[],
  options: ReadOptions = {},
): Promise<string[][]> {
  const ext = extname(path).toLowerCase();
  const rows: string[][] = [];
  if (JSONL.has(ext)) {
    for await (const ex of readJsonl(path, fields, options)) rows.push(ex.texts);
    return rows;
  }
  if (!TSV.has(ext)) {
    throw new MaskwiseError(`cannot tell the format of ${path}`, {
      code: "E_ARG",
      where: path,
      hint: "name JSON-lines files *.jsonl and tab-separated files *.tsv",
    });
  }
  const byIndex = fields.every((f) => /^\d+$/.test(f));
  let columns = fields.map(Number);
  if (!byIndex) {
    // Column names come from the first line.
    let header: string[] | null = null;
    for await (const { text } of fileLines(path)) {
      header = text.replace(/^\uFEFF/, "").split("\t");
      break;
    }
    columns = fields.map((f) => {
      const c = header?.indexOf(f) ?? -1;
      if (c < 0) {
        throw new MaskwiseError(`no column named '${f}'`, {
          code: "E_DATA",
          where: `${path}:1`,
          hint: `the header has ${(header ?? []).join(", ")}; or give 0-based column numbers`,
        });
      }
      return c;
    });
  }
  for await (const ex of readTsv(path, columns, options)) {
    if (!byIndex && ex.line === 1) continue;
    rows.push(ex.texts);
  }
  return rows;
}

/** Non-empty lines of plain-text files (one sentence or document a line), in file order. */
export async function readTextLines(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    for await (const { text } of fileLines(path)) {
      const t = text.trim();
      if (t.length > 0) out.push(t);
    }
  }
  return out;
}

/** Which fields make an example's source and target (from flags, the run, or the task). */
export interface TaskFields {
  /** One or more source fields; several are joined as "name: text" lines. */
  source: string[];
  /** The target field; absent for a causal LM on one text field. */
  target?: string;
}

/**
 * The fields of a fielded task: the flags' (or a resumed run's), else the task's defaults for
 * JSON lines, or columns 0 and 1 of a TSV file given no field at all.
 */
export function taskFields(
  path: string,
  defaults: { source: string; target?: string },
  given: { source?: string; target?: string },
  hasTarget: boolean,
): TaskFields {
  const tsv = TSV.has(extname(path).toLowerCase());
  const any = given.source !== undefined || given.target !== undefined;
  const source = (given.source ?? (tsv && !any ? "0" : defaults.source))
    .split(",")
    .map((s) => s.trim());
  const target = given.target ?? (!hasTarget ? undefined : tsv && !any ? "1" : defaults.target);
  return target === undefined ? { source } : { source, target };
}

/** (source, target) texts of a fielded file; several source fields become "name: text" lines. */
export async function readTaskPairs(
  path: string,
  fields: TaskFields,
): Promise<[string, string | null][]> {
  const { source, target } = fields;
  const names = target === undefined ? source : [...source, target];
  return (await readFields(path, names)).map((row) => {
    const src = row.slice(0, source.length);
    const joined = src.length === 1 ? src[0] : src.map((t, i) => `${source[i]}: ${t}`).join("\n");
    return [joined, target === undefined ? null : row[source.length]];
  });
}
