// Streaming line readers: a file larger than memory is read a chunk at a time. Lines are split on
// bytes (\n, with a trailing \r dropped) and each line is decoded strictly, so invalid UTF-8 is
// reported with the file and line it is on instead of turning silently into U+FFFD. A byte-order
// mark at the start of the first line is removed (the Tatoeba file has one).
import { createReadStream } from "node:fs";
import { MaskwiseError } from "../util/errors.js";

export interface Line {
  /** 1-based line number. */
  n: number;
  text: string;
}

const stripBom = new TextDecoder("utf-8", { fatal: true });
const keepBom = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function decodeLine(bytes: Uint8Array, n: number, source: string): string {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  try {
    return (n === 1 ? stripBom : keepBom).decode(bytes.subarray(0, end));
  } catch {
    throw new MaskwiseError("invalid UTF-8", {
      code: "E_UTF8",
      where: `${source}:${n}`,
      hint: "re-save the file as UTF-8",
    });
  }
}

/** Lines of a byte stream; `source` names it in errors. A final line without \n counts. */
export async function* linesOf(
  chunks: AsyncIterable<Uint8Array | string>,
  source: string,
): AsyncGenerator<Line> {
  let carry = new Uint8Array(0);
  let n = 0;
  for await (const raw of chunks) {
    const chunk = typeof raw === "string" ? new TextEncoder().encode(raw) : raw;
    const buf = carry.length === 0 ? chunk : concat(carry, chunk);
    let start = 0;
    for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, start)) {
      n++;
      yield { n, text: decodeLine(buf.subarray(start, i), n, source) };
      start = i + 1;
    }
    carry = buf.slice(start);
  }
  if (carry.length > 0) {
    n++;
    yield { n, text: decodeLine(carry, n, source) };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Lines of a file, streamed; a missing or unreadable file is a MaskwiseError naming it. */
export async function* fileLines(path: string): AsyncGenerator<Line> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  try {
    yield* linesOf(stream, path);
  } catch (e) {
    if (e instanceof MaskwiseError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new MaskwiseError(
      code === "ENOENT" ? "file not found" : `cannot read file: ${(e as Error).message}`,
      {
        code: "E_FILE",
        where: path,
        hint: code === "ENOENT" ? "check the path" : "check the file's permissions",
      },
    );
  } finally {
    stream.destroy();
  }
}
