// tokenizers compiles Split/Replace regexes with Oniguruma; JavaScript's RegExp (with the `u`
// flag) reads most of the same syntax. This rewrites the parts that differ: Unicode meanings of
// \s \d \w (Oniguruma's are Unicode-wide, JavaScript's ASCII or its own list), and scoped
// case-insensitive groups `(?i:...)`, which Node 20 lacks, become explicit letter classes.

const SHORTHAND: Record<string, string> = {
  s: "\\p{White_Space}",
  S: "\\P{White_Space}",
  d: "\\p{Nd}",
  D: "\\P{Nd}",
  // Oniguruma's Unicode \w: letters, marks, numbers of every kind, connector punctuation.
  w: "\\p{L}\\p{M}\\p{N}\\p{Pc}",
  h: "0-9a-fA-F",
};

/** Characters that keep their backslash in a `u`-mode RegExp. */
const SYNTAX = new Set("^$\\.*+?()[]{}|/-".split(""));

function caseClass(ch: string): string {
  const lo = ch.toLowerCase();
  const up = ch.toUpperCase();
  if (lo === up || lo.length !== 1 || up.length !== 1) return ch;
  return `[${lo}${up}]`;
}

export function onigToJs(pattern: string): RegExp {
  let out = "";
  let inClass = 0;
  // One entry per open group: whether case folding is on inside it.
  const groups: boolean[] = [];
  let fold = false;
  let flags = "gu";
  let i = 0;
  if (pattern.startsWith("(?i)")) {
    flags += "i";
    i = 4;
  }
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "\\") {
      const n = pattern[i + 1] ?? "";
      if (n in SHORTHAND) {
        const body = SHORTHAND[n];
        // Inside a class the body joins it; outside, a multi-part body needs its own class.
        out += inClass > 0 || !(n === "w" || n === "h") ? body : `[${body}]`;
      } else if (n === "W") {
        out += `[^${SHORTHAND.w}]`;
      } else if (n === "A") {
        out += "^";
      } else if (n === "z" || n === "Z") {
        out += "$";
      } else if ((n === "p" || n === "P") && pattern[i + 2] === "{") {
        const close = pattern.indexOf("}", i);
        out += pattern.slice(i, close + 1);
        i = close + 1;
        continue;
      } else if (/[A-Za-z0-9]/.test(n)) {
        // \p{..}, \x.., \u...., \n, \t, \b, backreferences: the same in JavaScript.
        out += c + n;
      } else if (SYNTAX.has(n)) {
        out += c + n;
      } else {
        out += n;
      }
      i += 2;
      continue;
    }
    if (inClass > 0) {
      if (c === "[") inClass++;
      else if (c === "]") inClass--;
      out += c;
      i++;
      continue;
    }
    if (c === "[") {
      inClass = 1;
      out += c;
      // A leading ] or ^] is a literal in Oniguruma.
      if (pattern[i + 1] === "^") {
        out += "^";
        i++;
      }
      if (pattern[i + 1] === "]") {
        out += "\\]";
        i++;
      }
      i++;
      continue;
    }
    if (c === "(") {
      if (pattern.startsWith("(?i:", i)) {
        groups.push(fold);
        fold = true;
        out += "(?:";
        i += 4;
        continue;
      }
      if (pattern.startsWith("(?>", i) || /^\(\?[imx-]+[:)]/.test(pattern.slice(i))) {
        throw new Error(`unsupported group at ${i}: ${pattern.slice(i, i + 6)}`);
      }
      groups.push(fold);
      out += c;
      i++;
      continue;
    }
    if (c === ")") {
      fold = groups.pop() ?? false;
      out += c;
      i++;
      continue;
    }
    if ((c === "+" || c === "*" || c === "?" || c === "}") && pattern[i + 1] === "+") {
      throw new Error(`possessive quantifier at ${i}`);
    }
    out += fold ? caseClass(c) : c;
    i++;
  }
  return new RegExp(out, flags);
}
