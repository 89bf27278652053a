// Unicode normal forms applied with alignments, character by character as tokenizers does it
// (through the unicode-normalization-alignments crate): each character is decomposed (its first
// part replaces it, the rest are inserted), marks are put in canonical order, and for NFC/NFKC a
// starter absorbs the marks it composes with (it then replaces all of them). JavaScript's
// String.prototype.normalize gives the decompositions and tells whether two characters compose.
import { type Change, codePoints, type NormalizedString } from "./normalized-string.js";
import { combiningClass } from "./unicode-ccc.js";

export type UnicodeForm = "NFC" | "NFD" | "NFKC" | "NFKD";

/**
 * Marks with a combining class in Unicode 14 that the unicode-normalization-alignments crate
 * (older tables) treats as starters, so it never reorders them; found by comparing the order
 * NFD/NFC give every mark beside U+0301 and U+0334 with the tokenizers package's (a test checks
 * all of them). Hex, `a-b` for a range.
 */
const CRATE_STARTERS =
  "7fd,898-89f,8ca-8d3,9fe,c3c,d3b-d3c,eba,1715,1abf-1ace,1df6-1dfa,a82c,10d24-10d27,10eab-10eac,10f46-10f50,10f82-10f85,11070,1133b,1145e,11839-1183a,1193d-1193e,11943,119e0,11a34,11a47,11a99,11d42,11d44-11d45,11d97,16ff0-16ff1,1e130-1e136,1e2ae,1e2ec-1e2ef";
const starters = new Set<number>();
for (const run of CRATE_STARTERS.split(",")) {
  const [a, b] = run.split("-").map((x) => Number.parseInt(x, 16));
  for (let cp = a; cp <= (b ?? a); cp++) starters.add(cp);
}

const ccc = (ch: string): number => {
  const cp = ch.codePointAt(0) as number;
  return starters.has(cp) ? 0 : combiningClass(cp);
};

const composeCache = new Map<string, string | null>();

/** The primary composite of a + b, or null when they do not compose. */
function compose(a: string, b: string): string | null {
  const key = a + b;
  let r = composeCache.get(key);
  if (r === undefined) {
    const n = key.normalize("NFC");
    r = n !== key && codePoints(n).length === 1 ? n : null;
    if (composeCache.size < 50_000) composeCache.set(key, r);
  }
  return r;
}

/** Decomposes every character, then sorts each run of marks by combining class (stably). */
function decompose(chars: string[], compat: boolean): Change[] {
  const out: Change[] = [];
  let runStart = 0;
  const sortRun = () => {
    if (out.length - runStart > 1) {
      const run = out.slice(runStart).map((c, i) => ({ c, k: ccc(c[0]), i }));
      run.sort((x, y) => x.k - y.k || x.i - y.i);
      for (let i = 0; i < run.length; i++) out[runStart + i] = run[i].c;
    }
  };
  for (const ch of chars) {
    const parts = codePoints(ch.normalize(compat ? "NFKD" : "NFD"));
    parts.forEach((d, i) => {
      if (ccc(d) === 0) {
        sortRun();
        runStart = out.length + 1;
      }
      out.push([d, i === 0 ? 0 : 1]);
    });
  }
  sortRun();
  return out;
}

/** Canonical composition over the decomposed stream; changes add up as characters merge. */
function recompose(decomposed: Change[]): Change[] {
  const out: Change[] = [];
  let composee: Change | null = null;
  let lastClass = -1;
  let buffer: Change[] = [];
  for (const [ch, change] of decomposed) {
    const cls = ccc(ch);
    if (composee === null) {
      if (cls !== 0) out.push([ch, change]);
      else composee = [ch, change];
      continue;
    }
    if (lastClass < 0) {
      const r = compose(composee[0], ch);
      if (r !== null) {
        composee = [r, composee[1] + change - 1];
        continue;
      }
      if (cls === 0) {
        out.push(composee);
        composee = [ch, change];
        continue;
      }
      buffer.push([ch, change]);
      lastClass = cls;
      continue;
    }
    if (lastClass >= cls) {
      // Blocked: a mark of the same or higher class stands between.
      if (cls === 0) {
        out.push(composee, ...buffer);
        buffer = [];
        composee = [ch, change];
        lastClass = -1;
        continue;
      }
      buffer.push([ch, change]);
      lastClass = cls;
      continue;
    }
    const r = compose(composee[0], ch);
    if (r !== null) {
      composee = [r, composee[1] + change - 1];
      continue;
    }
    buffer.push([ch, change]);
    lastClass = cls;
  }
  if (composee !== null) out.push(composee);
  out.push(...buffer);
  return out;
}

/** True when every code unit is below U+00A0: such text is unchanged by every form. */
function inert(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0xa0) return false;
  return true;
}

export function normalizeAligned(ns: NormalizedString, form: UnicodeForm): void {
  if (inert(ns.text)) return;
  // Text already in the form maps character to character with no change: nothing to align.
  if (ns.text.normalize(form) === ns.text) return;
  const compat = form === "NFKC" || form === "NFKD";
  const decomposed = decompose(codePoints(ns.text), compat);
  const dest = form === "NFC" || form === "NFKC" ? recompose(decomposed) : decomposed;
  ns.transform(dest);
}
