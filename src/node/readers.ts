// Streaming example readers for training data: parallel text aligned by line, TSV columns, and
// JSON-lines fields. Each yields one example at a time (a file larger than memory works), applies
// the empty-line policy, and reports bad input with file and line.
import {
  type EmptyPolicy,
  jsonlFields,
  keepExample,
  newStats,
  type ReadStats,
  tsvFields,
} from "../data/records.js";
import { MaskwiseError } from "../util/errors.js";
import { fileLines, type Line } from "./lines.js";

export interface Example {
  /** 1-based line number in the file(s). */
  line: number;
  /** The chosen fields, in the order asked for. */
  texts: string[];
}

export interface ReadOptions {
  /** "skip" (default) counts empty examples in `stats`; "fail" is --strict. */
  empty?: EmptyPolicy;
  /** Filled in as the reader goes. */
  stats?: ReadStats;
}

/** Files aligned by line (train.de, train.en): one example per line number. */
export async function* readParallel(
  paths: readonly string[],
  options: ReadOptions = {},
): AsyncGenerator<Example> {
  const { empty = "skip", stats = newStats() } = options;
  const iters = paths.map((p) => fileLines(p)[Symbol.asyncIterator]());
  try {
    for (;;) {
      const results = await Promise.all(iters.map((it) => it.next()));
      const done = results.map((r) => r.done === true);
      if (done.every(Boolean)) return;
      if (done.some(Boolean)) {
        const shortIdx = done.indexOf(true);
        const longIdx = done.indexOf(false);
        const n = (results[longIdx].value as Line).n;
        throw new MaskwiseError(
          `files have different line counts: ${paths[shortIdx]} ends after ${n - 1} lines, ${paths[longIdx]} has more`,
          {
            code: "E_DATA",
            where: `${paths[longIdx]}:${n}`,
            hint: "parallel files must hold one sentence per line, aligned",
          },
        );
      }
      const lines = results.map((r) => r.value as Line);
      const n = lines[0].n;
      const texts = lines.map((l) => l.text);
      if (keepExample(texts, empty, paths.map((p) => `${p}:${n}`).join(", "), stats)) {
        yield { line: n, texts };
      }
    }
  } finally {
    await Promise.all(iters.map((it) => it.return?.(undefined)));
  }
}

/** A tab-separated file; `columns` are 0-based (Tatoeba cmn.txt: [0, 1] for English, Chinese). */
export async function* readTsv(
  path: string,
  columns: readonly number[],
  options: ReadOptions = {},
): AsyncGenerator<Example> {
  const { empty = "skip", stats = newStats() } = options;
  for await (const { n, text } of fileLines(path)) {
    const where = `${path}:${n}`;
    if (text.length === 0) {
      keepExample([""], empty, where, stats);
      continue;
    }
    const texts = tsvFields(text, columns, where);
    if (keepExample(texts, empty, where, stats)) yield { line: n, texts };
  }
}

/** A JSON-lines file; `fields` name string fields (DialogSum: ["dialogue", "summary"]). */
export async function* readJsonl(
  path: string,
  fields: readonly string[],
  options: ReadOptions = {},
): AsyncGenerator<Example> {
  const { empty = "skip", stats = newStats() } = options;
  for await (const { n, text } of fileLines(path)) {
    const where = `${path}:${n}`;
    if (text.trim().length === 0) {
      keepExample([""], empty, where, stats);
      continue;
    }
    const texts = jsonlFields(text, fields, where);
    if (keepExample(texts, empty, where, stats)) yield { line: n, texts };
  }
}
