// Reference streams as sacreBLEU takes them: refs[k][i] is the k-th reference of segment i, one
// stream per reference file. A segment may leave some references out (null or undefined); it is
// then scored against the others, and the signature says `nrefs:var`. An empty string is a
// reference like any other (an empty one: its length 0 competes for the closest reference
// length), as in sacreBLEU 2.6.0. A segment with no reference at all is an error (sacreBLEU
// fails there with a TypeError).
import { MaskwiseError } from "../util/errors.js";
import type { NRefs } from "./signature.js";

export type RefStreams = readonly (readonly (string | null | undefined)[])[];

/** "1 line", "2 lines". */
export function lineCount(n: number): string {
  return n === 1 ? "1 line" : `${n} lines`;
}

/** Checks that every stream has one line per hypothesis. */
export function checkStreams(hyps: readonly string[], refs: RefStreams, metric: string): void {
  if (refs.length === 0) {
    throw new MaskwiseError(`${metric} needs at least one reference stream`, {
      code: "E_INPUT",
      where: metric,
      hint: "pass one array of reference lines per reference",
    });
  }
  refs.forEach((stream, k) => {
    if (stream.length !== hyps.length) {
      throw new MaskwiseError(
        `reference ${k + 1} has ${lineCount(stream.length)} but the hypothesis has ${lineCount(hyps.length)}`,
        {
          code: "E_LENGTH",
          where: metric,
          hint: "give every reference the same number of lines as the hypothesis",
        },
      );
    }
  });
}

/** The references of segment i that are present; none at all is an error naming the segment. */
export function segmentRefs(refs: RefStreams, i: number, metric: string): string[] {
  const lines: string[] = [];
  for (const stream of refs) {
    const r = stream[i];
    if (r !== null && r !== undefined) lines.push(r);
  }
  if (lines.length === 0) {
    throw new MaskwiseError("no reference", {
      code: "E_INPUT",
      where: `${metric}, segment ${i + 1}`,
      hint: "every segment needs at least one reference (null marks a missing one)",
    });
  }
  return lines;
}

/** `nrefs` for the signature from the per-segment reference counts. */
export function nrefsOf(counts: Set<number>): NRefs {
  return counts.size === 1 ? (counts.values().next().value as number) : "var";
}
