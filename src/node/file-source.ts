// A ByteSource over an open file: each read is one readSync of exactly the range asked for, so a
// multi-gigabyte checkpoint is read tensor by tensor without holding the whole file.
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import type { ByteSource } from "../io/byte-source.js";
import { MaskwiseError } from "../util/errors.js";

/** Runs `use` with a ByteSource over the file at `path`, closing the file afterwards. */
export function withFileSource<T>(path: string, use: (source: ByteSource) => T): T {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MaskwiseError(
      code === "ENOENT" ? "file not found" : `cannot read file: ${(e as Error).message}`,
      {
        code: "E_FILE",
        where: path,
        hint: code === "ENOENT" ? "check the path" : "check the file's permissions",
      },
    );
  }
  try {
    const length = fstatSync(fd).size;
    return use({
      length,
      read(offset, n) {
        const out = new Uint8Array(n);
        let done = 0;
        while (done < n) {
          const got = readSync(fd, out, done, n - done, offset + done);
          if (got === 0) {
            throw new MaskwiseError(
              `the file ended ${n - done} bytes early (changed while read?)`,
              {
                code: "E_FILE",
                where: path,
                kind: "failure",
              },
            );
          }
          done += got;
        }
        return out;
      },
    });
  } finally {
    closeSync(fd);
  }
}
