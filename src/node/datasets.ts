// `maskwise data get`: fetches a known dataset into the cache (~/.cache/maskwise/NAME/, or
// $MASKWISE_CACHE, or --cache), unpacks it, and checks every file's SHA-256. Files already in the
// cache with the right checksum are not fetched again, so an offline user can put the files there
// by hand; an interrupted download continues on the next run.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { DATASETS, type DatasetFile, fileUrl, findDataset } from "../data/datasets.js";
import { MaskwiseError } from "../util/errors.js";
import { download } from "./download.js";
import { atomicWrite } from "./files.js";
import { zipEntry } from "./zip.js";

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MASKWISE_CACHE) return env.MASKWISE_CACHE;
  const base = env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "maskwise");
}

export interface GetOptions {
  cacheDir?: string;
  /** Fetch the same paths from this base URL instead (a local mirror or test server). */
  mirror?: string;
  /** false accepts files whose checksum differs (a publisher's newer version). Default true. */
  verify?: boolean;
  onProgress?: (file: string, bytes: number, total: number | null) => void;
  userAgent?: string;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

function unpack(file: DatasetFile, archive: string): Uint8Array {
  const bytes = readFileSync(archive);
  if (file.packing === "plain") return bytes;
  if (file.packing === "zip") return zipEntry(bytes, file.entry ?? file.name, archive);
  try {
    return gunzipSync(bytes);
  } catch (e) {
    throw new MaskwiseError(`not a valid gzip file (${(e as Error).message})`, {
      code: "E_GZIP",
      where: archive,
      hint: "run the command again to download it afresh",
    });
  }
}

/** Makes sure every file of `name` is in the cache and returns their paths. */
export async function getDataset(name: string, options: GetOptions = {}): Promise<string[]> {
  const dataset = findDataset(name);
  if (!dataset) {
    throw new MaskwiseError(`unknown dataset '${name}'`, {
      code: "E_ARG",
      where: "maskwise data get",
      hint: `choose one of ${DATASETS.map((d) => d.name).join(", ")}`,
    });
  }
  const { verify = true } = options;
  const dir = join(options.cacheDir ?? defaultCacheDir(), dataset.name);
  const staging = join(dir, ".download");
  mkdirSync(staging, { recursive: true });
  const paths: string[] = [];
  for (const file of dataset.files) {
    const path = join(dir, file.name);
    paths.push(path);
    if (existsSync(path) && (!verify || sha256(readFileSync(path)) === file.sha256)) continue;
    const url = fileUrl(file, options.mirror);
    const archive = join(staging, basename(new URL(url).pathname));
    if (!existsSync(archive)) {
      try {
        await download(url, archive, {
          onProgress: (b, t) => options.onProgress?.(file.name, b, t),
          userAgent: options.userAgent,
        });
      } catch (e) {
        if (e instanceof MaskwiseError && e.code === "E_NETWORK") {
          throw new MaskwiseError(e.message, {
            code: e.code,
            where: e.where,
            hint: `${e.hint}; offline, fetch ${file.url} elsewhere and put the ${file.packing === "plain" ? "file" : "unpacked file"} at ${path}`,
            kind: "failure",
          });
        }
        throw e;
      }
    }
    const bytes = unpack(file, archive);
    const got = sha256(bytes);
    if (verify && got !== file.sha256) {
      rmSync(archive, { force: true });
      throw new MaskwiseError(
        `checksum mismatch for ${file.name}: SHA-256 ${got}, expected ${file.sha256}`,
        {
          code: "E_CHECKSUM",
          where: url,
          hint: "run again to download afresh; if the publisher has changed the file, --no-verify accepts it",
          kind: "failure",
        },
      );
    }
    atomicWrite(path, bytes);
  }
  // Archives hold several files (a zip) or are cheap to fetch again: keep the cache lean.
  rmSync(staging, { recursive: true, force: true });
  return paths;
}
