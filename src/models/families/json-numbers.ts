// transformers validates its configs' field types strictly: a float field written as `0` (an
// integer) fails to load, while JavaScript reads `0.0` and `0` as the same number and writes both
// as `0`. A config.json read from a file therefore records where its text held a number with a
// fraction or an exponent, and writing it back keeps those numbers floats (`0.0`).

/** JSON paths ("a/b/0") of the number literals in `text` that have a fraction or an exponent. */
export function floatPaths(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const str = (): string => {
    const start = i;
    i++; // "
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        const key = str();
        ws();
        i++; // :
        value(path ? `${path}/${key}` : key);
        ws();
        if (text[i++] === "}") return;
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(path ? `${path}/${n}` : String(n));
        ws();
        if (text[i++] === "]") return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?|^(true|false|null)/.exec(text.slice(i, i + 64));
    if (!m) throw new Error(`not JSON at ${i}`);
    if (m[1] !== undefined || m[2] !== undefined) out.push(path);
    i += m[0].length;
  };
  try {
    value("");
  } catch {
    // Text JSON.parse already accepted but this scanner cannot follow: no float is recorded.
    return [];
  }
  return out;
}

/** `value` as indented JSON text, the numbers at `floats` written as floats (1 as 1.0). */
export function stringifyConfig(value: unknown, floats: ReadonlySet<string>): string {
  const write = (v: unknown, path: string, indent: string): string => {
    if (typeof v === "number" && floats.has(path) && Number.isInteger(v)) return `${v}.0`;
    if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
    const inner = `${indent}  `;
    const at = (k: string) => (path ? `${path}/${k}` : k);
    if (Array.isArray(v)) {
      if (v.length === 0) return "[]";
      return `[\n${v.map((x, n) => inner + write(x, at(String(n)), inner)).join(",\n")}\n${indent}]`;
    }
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return "{}";
    return `{\n${entries
      .map(([k, x]) => `${inner}${JSON.stringify(k)}: ${write(x, at(k), inner)}`)
      .join(",\n")}\n${indent}}`;
  };
  return `${write(value, "", "")}\n`;
}
