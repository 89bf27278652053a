// Python `str` behaviour that the reference tools depend on. sacreBLEU and rouge-score are
// Python, and their answers hinge on Python's idea of whitespace (`str.split()`, `strip()`) and
// of rounding (`f"{x:.2f}"`), which differ from JavaScript's in small ways:
// - `str.isspace()` counts U+001C..U+001F and U+0085 as whitespace; JS `\s` does not, and JS `\s`
//   counts U+FEFF (the BOM), which Python does not.
// - `format(x, ".1f")` rounds an exact tie to even (12.25 -> "12.2"); `Number#toFixed` rounds it
//   up (12.25 -> "12.3"). Precisions such as 100 * 49 / 400 are exact ties, so lines differ.

/** The characters for which Python's `str.isspace()` is true (Unicode 14, Python 3.11). */
export const PY_WHITESPACE =
  "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const WS_RUN_G = new RegExp(`[${PY_WHITESPACE}]+`, "gu");
const WS_LEAD = new RegExp(`^[${PY_WHITESPACE}]+`, "u");
const WS_TRAIL = new RegExp(`[${PY_WHITESPACE}]+$`, "u");

/** Whether a UTF-16 unit is Python whitespace (none of them is a surrogate). */
export function isPyWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c >= 0x1c;
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/**
 * `s.split()`: the pieces between runs of whitespace, never an empty piece. A scan by char code
 * (about four times faster than splitting on a Unicode regular expression; BLEU splits every
 * line it scores).
 */
export function pySplit(s: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < s.length; i++) {
    if (isPyWhitespace(s.charCodeAt(i))) {
      if (start >= 0) {
        out.push(s.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(s.slice(start));
  return out;
}

/** `' '.join(s.split())`: one space between words, none at the ends. */
export function pyNormalizeSpace(s: string): string {
  return pyStrip(s).replace(WS_RUN_G, " ");
}

/** `''.join(s.split())`: every whitespace character removed. */
export function pyRemoveSpace(s: string): string {
  return s.replace(WS_RUN_G, "");
}

/** `s.strip()`. */
export function pyStrip(s: string): string {
  return s.replace(WS_LEAD, "").replace(WS_TRAIL, "");
}

/** `s.rstrip()`. */
export function pyRstrip(s: string): string {
  return s.replace(WS_TRAIL, "");
}

/**
 * `format(x, f".{digits}f")`: fixed-point with ties rounded to even, as Python does. A tie is only
 * possible when the binary value has an exact decimal expansion of `digits + 1` places ending
 * in 5, which `toFixed` with extra places reveals.
 */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x > 0 ? "inf" : x < 0 ? "-inf" : "nan";
  const rounded = x.toFixed(digits);
  const extra = Math.min(100, digits + 25);
  const exact = Math.abs(x).toFixed(extra);
  const cut = exact.length - (extra - digits);
  // The digit just past the kept ones is 5 and everything after it is 0: an exact tie.
  if (exact[cut] !== "5" || !/^0*$/.test(exact.slice(cut + 1))) return rounded;
  const down = (Math.sign(x) * Number(exact.slice(0, cut))).toFixed(digits);
  const lastKept = Number(down[down.length - 1]);
  // toFixed rounded the tie away from zero; Python keeps the even neighbour.
  return lastKept % 2 === 0 ? down : rounded;
}
