// Where the reference figures live (../shared, beside the repository), and how the tests read
// the corpora: as sacreBLEU's command line does, UTF-8 lines split at "\n".
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const SHARED = join(import.meta.dirname, "..", "..", "..", "shared");

/** A reason to skip when ../shared is missing, else undefined (run). */
export const skipWithoutShared: string | undefined = existsSync(join(SHARED, "ref"))
  ? undefined
  : `../shared not found at ${SHARED}: reference figures unavailable`;

if (skipWithoutShared) console.log(`# skipping reference tests: ${skipWithoutShared}`);

export function readJson<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(join(SHARED, ...parts), "utf8")) as T;
}

export function readLines(...parts: string[]): string[] {
  const lines = readFileSync(join(SHARED, ...parts), "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}
