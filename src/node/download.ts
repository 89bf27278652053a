// Downloads that survive interruption: bytes go to `dest.part` (or the `partial` path given); a
// later call asks the server for the rest with a Range request and appends, or starts again when
// the server sends the whole file. Only a complete download (that `verify` accepts, when given) is
// renamed to `dest`; one that `verify` refuses is deleted.
import { createWriteStream, existsSync, renameSync, rmSync, statSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { MaskwiseError } from "../util/errors.js";

/** `fetch(url)`, a failure to connect being one error naming the URL and its cause. */
export async function fetchOrFail(url: string, init: RequestInit, hint: string): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new MaskwiseError(
      `cannot reach ${url} (${cause?.code ?? cause?.message ?? (e as Error).message})`,
      { code: "E_NETWORK", where: url, hint, kind: "failure" },
    );
  }
}

export interface DownloadOptions {
  /** Told the bytes so far and the total (when known), for a progress line. */
  onProgress?: (bytes: number, total: number | null) => void;
  userAgent?: string;
  /** Extra request headers (e.g. Authorization). */
  headers?: Record<string, string>;
  /** Where the bytes go until the download is complete (default `dest.part`). */
  partial?: string;
  /** Checks the complete file before it is moved into place; throwing refuses it. */
  verify?: (partialPath: string) => void | Promise<void>;
}

export async function download(url: string, dest: string, options: DownloadOptions = {}) {
  const part = options.partial ?? `${dest}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  const headers: Record<string, string> = {
    ...options.headers,
    "user-agent": options.userAgent ?? "maskwise",
  };
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await fetchOrFail(
    url,
    { headers, redirect: "follow" },
    "check the connection, or put the files in the cache folder yourself (see 'maskwise data get --help')",
  );
  let append = false;
  if (res.status === 206) {
    append = true;
  } else if (res.status === 416 && have > 0) {
    // The part file is already whole (or longer than the file): start again to be sure.
    rmSync(part, { force: true });
    return download(url, dest, options);
  } else if (!res.ok) {
    throw new MaskwiseError(`download failed: HTTP ${res.status} ${res.statusText}`, {
      code: "E_NETWORK",
      where: url,
      hint: "try again later, or put the files in the cache folder yourself",
      kind: "failure",
    });
  }
  if (!res.body)
    throw new MaskwiseError("empty response", { code: "E_NETWORK", where: url, kind: "failure" });
  const length = Number(res.headers.get("content-length") ?? Number.NaN);
  const total = Number.isFinite(length) ? length + (append ? have : 0) : null;
  let bytes = append ? have : 0;
  const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  body.on("data", (chunk: Uint8Array) => {
    bytes += chunk.length;
    options.onProgress?.(bytes, total);
  });
  try {
    await pipeline(body, createWriteStream(part, { flags: append ? "a" : "w" }));
  } catch (e) {
    throw new MaskwiseError(`download interrupted after ${bytes} bytes (${(e as Error).message})`, {
      code: "E_NETWORK",
      where: url,
      hint: "run the same command again: it continues where it stopped",
      kind: "failure",
    });
  }
  if (total !== null && bytes !== total) {
    throw new MaskwiseError(`download incomplete: ${bytes} of ${total} bytes`, {
      code: "E_NETWORK",
      where: url,
      hint: "run the same command again: it continues where it stopped",
      kind: "failure",
    });
  }
  if (options.verify) {
    try {
      await options.verify(part);
    } catch (e) {
      rmSync(part, { force: true });
      throw e;
    }
  }
  renameSync(part, dest);
}
