// File helpers for everything maskwise writes: atomic writes (a temporary file in the same folder,
// then rename, so an interrupted run never leaves a half-written checkpoint), and reads that turn
// system errors and bad JSON into one clear MaskwiseError naming the file (and line, for JSON).
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { MaskwiseError } from "../util/errors.js";

export function atomicWrite(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new MaskwiseError(`cannot write ${path}: ${(e as Error).message}`, {
      code: "E_FILE",
      where: path,
      hint: "check that the folder is writable and the disk has space",
      kind: "failure",
    });
  }
}

export function readBytes(path: string, what = "file"): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MaskwiseError(
      code === "ENOENT" ? `${what} not found` : `cannot read ${what}: ${(e as Error).message}`,
      {
        code: "E_FILE",
        where: path,
        hint: code === "ENOENT" ? "check the path" : "check the file's permissions",
      },
    );
  }
}

export function readText(path: string, what = "file"): string {
  const bytes = readBytes(path, what);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new MaskwiseError(`${what} is not valid UTF-8`, {
      code: "E_UTF8",
      where: path,
      hint: "re-save the file as UTF-8",
    });
  }
}

/** Parses JSON, reporting the line and column of a syntax error. */
export function readJson(path: string, what = "JSON file"): unknown {
  const text = readText(path, what);
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /position (\d+)/.exec(msg);
    let where = path;
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const line = before.split("\n").length;
      const col = pos - before.lastIndexOf("\n");
      where = `${path}:${line}:${col}`;
    }
    throw new MaskwiseError(
      `${what} is not valid JSON (${msg.replace(/ in JSON at position \d+.*$/, "")})`,
      { code: "E_JSON", where, hint: "fix the JSON syntax" },
    );
  }
}
