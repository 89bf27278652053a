// Counts the grids that combined (`and`) masks build while a function runs: a model should build
// each mask's grid once per forward, however many layers read it.
import { and, causal, keyPadding } from "../../src/attention/masks.js";

/** Grids built by `and` masks whose description matches `pattern` while `fn` runs. */
export function countAndGrids(pattern: RegExp, fn: () => void): number {
  const proto = Object.getPrototypeOf(and(causal(), keyPadding([1])));
  const original = proto.attendGrid;
  let grids = 0;
  proto.attendGrid = function (this: { describe(): string }, ...a: unknown[]) {
    if (pattern.test(this.describe())) grids++;
    return original.apply(this, a);
  };
  try {
    fn();
  } finally {
    proto.attendGrid = original;
  }
  return grids;
}
