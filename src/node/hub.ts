// Model repositories from the Hugging Face Hub, in the cache layout huggingface_hub uses, so
// transformers and maskwise share downloads:
//
//   <cache>/models--ORG--NAME/
//     refs/<revision>                 the commit the revision (e.g. "main") pointed at, no newline
//     blobs/<etag>                    each file's bytes, named by its hub etag
//     blobs/<etag>.incomplete         a download in progress (resumed with a Range request)
//     snapshots/<commit>/<path>       symlink -> ../../blobs/<etag> (one more ../ per subfolder)
//
// <cache> is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub.
//
// The hub's endpoints ($HF_ENDPOINT, default https://huggingface.co; $HF_TOKEN is sent as
// "Authorization: Bearer <token>"):
//   GET  /api/models/<repo>/revision/<rev>  -> {"sha": <commit>, "siblings": [{"rfilename"}, ...]}
//   HEAD /<repo>/resolve/<commit>/<path>    -> ETag (git blob sha1 of a small file) and
//        X-Repo-Commit; an LFS file answers with a redirect carrying X-Linked-Etag (its sha256)
//        and X-Linked-Size
//   GET  the same URL, redirects followed   -> the bytes
// A blob is moved into place only when its size and hash match the etag: a sha256 etag is
// checked against the file's SHA-256, a sha1 etag against its git blob hash. Which files are
// fetched is node/hub-files.ts's choice (weights for other frameworks are skipped by default).
import { createHash } from "node:crypto";
import {
  copyFileSync,
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { MaskwiseError } from "../util/errors.js";
import { download, fetchOrFail } from "./download.js";
import { chooseRepoFiles, type FileChoice } from "./hub-files.js";

export interface HubOptions extends FileChoice {
  /** The revision: a branch, tag or commit (default "main"). */
  revision?: string;
  /** The hub cache folder (default: hubCacheDir()). */
  cacheDir?: string;
  /** The hub's address (default $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** An access token (default $HF_TOKEN). */
  token?: string;
  userAgent?: string;
  /** Use only the cache (default: $HF_HUB_OFFLINE is 1, true or yes). */
  offline?: boolean;
  /** Told each file's bytes so far and its size (when known). */
  onProgress?: (file: string, bytes: number, total: number | null) => void;
}

/** The hub cache folder huggingface_hub uses: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, "hub");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "huggingface", "hub");
}

const REPO_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

function checkRepo(repo: string): void {
  if (!REPO_ID.test(repo) || repo.includes("..") || repo.includes("--")) {
    throw new MaskwiseError(`'${repo}' is not a model repository name`, {
      code: "E_ARG",
      where: repo,
      hint: "give ORG/NAME as on huggingface.co, e.g. facebook/bart-base",
    });
  }
}

/** models--ORG--NAME: the repository's folder in the cache. */
export function repoFolder(repo: string, cacheDir = hubCacheDir()): string {
  checkRepo(repo);
  return join(cacheDir, `models--${repo.split("/").join("--")}`);
}

const COMMIT = /^[0-9a-f]{40}$/;

/**
 * The snapshot folder of a repository already in the cache, found without the network: the
 * commit that refs/<revision> names (or the revision itself when it is a commit). Null when the
 * cache does not have it.
 */
export function cachedSnapshot(
  repo: string,
  options: { revision?: string; cacheDir?: string } = {},
): string | null {
  const folder = repoFolder(repo, options.cacheDir ?? hubCacheDir());
  const revision = options.revision ?? "main";
  let commit = COMMIT.test(revision) ? revision : null;
  const ref = join(folder, "refs", revision);
  if (!commit && existsSync(ref)) commit = readFileSync(ref, "utf8").trim();
  if (!commit || !COMMIT.test(commit)) return null;
  const snapshot = join(folder, "snapshots", commit);
  return existsSync(snapshot) ? snapshot : null;
}

/**
 * A model folder for a path or a hub name: an existing folder is itself; ORG/NAME is looked up in
 * the hub cache, offline. Fails with the command that downloads it.
 */
export function resolveModelPath(
  nameOrPath: string,
  options: { revision?: string; cacheDir?: string } = {},
): string {
  if (existsSync(nameOrPath) && statSync(nameOrPath).isDirectory()) return nameOrPath;
  const cacheDir = options.cacheDir ?? hubCacheDir();
  if (REPO_ID.test(nameOrPath) && !nameOrPath.includes("..")) {
    const snapshot = cachedSnapshot(nameOrPath, { ...options, cacheDir });
    if (snapshot) return snapshot;
    const rev =
      options.revision && options.revision !== "main" ? ` --revision ${options.revision}` : "";
    throw new MaskwiseError(
      `model ${nameOrPath} is neither a folder nor in the Hugging Face cache`,
      {
        code: "E_FILE",
        where: cacheDir,
        hint: `download it with 'maskwise hub get ${nameOrPath}${rev}', or give the path of a model folder`,
      },
    );
  }
  throw new MaskwiseError("model folder not found", {
    code: "E_FILE",
    where: nameOrPath,
    hint: "give the path of a model folder, or a hub name ORG/NAME",
  });
}

interface RevisionInfo {
  sha: string;
  files: string[];
}

function hubError(
  status: number,
  repo: string,
  revision: string,
  url: string,
  what: string,
): MaskwiseError {
  if (status === 401 || status === 403) {
    return new MaskwiseError(`the hub refused access to ${repo} (HTTP ${status})`, {
      code: "E_HUB_AUTH",
      where: url,
      hint: "the repository is private or gated: set HF_TOKEN to a token that can read it",
    });
  }
  if (status === 404) {
    return new MaskwiseError(
      `${repo} has no ${what} at revision ${revision} on the hub (HTTP 404)`,
      {
        code: "E_HUB_NOT_FOUND",
        where: url,
        hint: "check the repository name and --revision",
      },
    );
  }
  return new MaskwiseError(`the hub answered HTTP ${status} for ${what}`, {
    code: "E_NETWORK",
    where: url,
    hint: "try again later",
    kind: "failure",
  });
}

async function request(url: string, init: RequestInit): Promise<Response> {
  return fetchOrFail(
    url,
    init,
    "check the connection and HF_ENDPOINT; files already in the cache are used offline",
  );
}

async function revisionInfo(
  endpoint: string,
  repo: string,
  revision: string,
  headers: Record<string, string>,
): Promise<RevisionInfo> {
  const url = `${endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
  const res = await request(url, { headers });
  if (!res.ok) throw hubError(res.status, repo, revision, url, "model");
  let body: { sha?: unknown; siblings?: unknown };
  try {
    body = (await res.json()) as typeof body;
  } catch {
    throw new MaskwiseError("the hub's revision answer is not JSON", {
      code: "E_HUB",
      where: url,
      kind: "failure",
    });
  }
  const sha = body.sha;
  if (typeof sha !== "string" || !COMMIT.test(sha) || !Array.isArray(body.siblings)) {
    throw new MaskwiseError("the hub's revision answer has no commit sha or file list", {
      code: "E_HUB",
      where: url,
      kind: "failure",
    });
  }
  const files = body.siblings.map((s: { rfilename?: unknown }) => s?.rfilename);
  for (const f of files) {
    // Files land inside the snapshot folder: a name that would leave it is refused.
    if (typeof f !== "string" || f === "" || f.startsWith("/") || f.split(/[\\/]/).includes("..")) {
      throw new MaskwiseError(`the hub lists a file named ${JSON.stringify(f)}`, {
        code: "E_HUB",
        where: url,
        kind: "failure",
      });
    }
  }
  return { sha, files: files as string[] };
}

interface FileMeta {
  etag: string;
  size: number | null;
  commit: string | null;
}

/** An etag header without W/ and quotes. */
function cleanEtag(v: string | null): string | null {
  if (!v) return null;
  return v.replace(/^W\//, "").replace(/^"|"$/g, "");
}

/**
 * What a file is, from a HEAD request that does not follow the redirect to storage (the redirect
 * itself carries the LFS etag and size). Redirects within the hub (a renamed repository) are
 * followed.
 */
async function fileMeta(
  url: string,
  headers: Record<string, string>,
  repo: string,
  revision: string,
  path: string,
): Promise<FileMeta> {
  let at = url;
  for (let hop = 0; hop < 5; hop++) {
    const res = await request(at, { method: "HEAD", headers, redirect: "manual" });
    const linked = cleanEtag(res.headers.get("x-linked-etag"));
    const etag = linked ?? cleanEtag(res.headers.get("etag"));
    const sizeHeader =
      res.headers.get("x-linked-size") ??
      (res.status < 300 ? res.headers.get("content-length") : null);
    const commit = res.headers.get("x-repo-commit");
    if (res.status >= 300 && res.status < 400 && !linked) {
      const location = res.headers.get("location");
      if (!location) break;
      at = new URL(location, at).toString();
      continue;
    }
    if (res.status >= 400) throw hubError(res.status, repo, revision, url, `file ${path}`);
    if (!etag || !/^[\w.-]+$/.test(etag)) {
      throw new MaskwiseError(`the hub gave no usable ETag for ${path}`, {
        code: "E_HUB",
        where: url,
        kind: "failure",
      });
    }
    const size = sizeHeader === null ? null : Number(sizeHeader);
    return { etag, size: Number.isSafeInteger(size) ? size : null, commit };
  }
  throw new MaskwiseError(`too many redirects for ${path}`, {
    code: "E_HUB",
    where: url,
    kind: "failure",
  });
}

async function hashFile(
  path: string,
  algorithm: "sha256" | "sha1",
  prefix?: string,
): Promise<string> {
  const hash = createHash(algorithm);
  if (prefix) hash.update(prefix);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Checks a downloaded file against its etag: size, then SHA-256 (LFS) or git blob SHA-1. */
async function verifyBlob(path: string, meta: FileMeta, name: string, url: string): Promise<void> {
  const size = statSync(path).size;
  const bad = (what: string) =>
    new MaskwiseError(`checksum mismatch for ${name}: ${what}`, {
      code: "E_CHECKSUM",
      where: url,
      hint: "nothing was kept; run the command again, and report the repository if it persists",
      kind: "failure",
    });
  if (meta.size !== null && size !== meta.size)
    throw bad(`${size} bytes, the hub says ${meta.size}`);
  if (/^[0-9a-f]{64}$/.test(meta.etag)) {
    const got = await hashFile(path, "sha256");
    if (got !== meta.etag) throw bad(`sha256 ${got}, the hub says ${meta.etag}`);
  } else if (/^[0-9a-f]{40}$/.test(meta.etag)) {
    const got = await hashFile(path, "sha1", `blob ${size}\0`);
    if (got !== meta.etag) throw bad(`git blob sha1 ${got}, the hub says ${meta.etag}`);
  }
}

/** Points snapshots/<commit>/<path> at the blob (a relative symlink; a copy where links fail). */
function link(blob: string, target: string): void {
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target) || isLink(target)) rmSync(target, { force: true });
  try {
    symlinkSync(relative(dirname(target), blob), target);
  } catch {
    copyFileSync(blob, target);
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Downloads a model repository at a revision into the hub cache and returns its snapshot folder.
 * Files already there are not fetched again; an interrupted file continues where it stopped.
 */
export async function hubDownload(repo: string, options: HubOptions = {}): Promise<string> {
  checkRepo(repo);
  const revision = options.revision ?? "main";
  if (revision === "" || revision.startsWith("/") || revision.split("/").includes("..")) {
    throw new MaskwiseError(`'${revision}' is not a revision`, {
      code: "E_ARG",
      where: "--revision",
      hint: "give a branch, a tag or a commit hash",
    });
  }
  const endpoint = (
    options.endpoint ??
    process.env.HF_ENDPOINT ??
    "https://huggingface.co"
  ).replace(/\/+$/, "");
  const token = options.token ?? process.env.HF_TOKEN;
  const headers: Record<string, string> = { "user-agent": options.userAgent ?? "maskwise" };
  if (token) headers.authorization = `Bearer ${token}`;
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const folder = repoFolder(repo, cacheDir);

  // Offline (HF_HUB_OFFLINE=1, or the hub cannot be reached): a snapshot the cache already has
  // is the answer, as huggingface_hub does it.
  const cached = () => cachedSnapshot(repo, { revision, cacheDir });
  const offline =
    options.offline ??
    ["1", "true", "yes"].includes((process.env.HF_HUB_OFFLINE ?? "").toLowerCase());
  if (offline) {
    const snapshot = cached();
    if (snapshot) return snapshot;
    throw new MaskwiseError(
      `${repo} (revision ${revision}) is not in the cache, and HF_HUB_OFFLINE is set`,
      {
        code: "E_FILE",
        where: folder,
        hint: "unset HF_HUB_OFFLINE to download it",
      },
    );
  }
  let info: RevisionInfo;
  try {
    info = await revisionInfo(endpoint, repo, revision, headers);
  } catch (e) {
    const snapshot = e instanceof MaskwiseError && e.code === "E_NETWORK" ? cached() : null;
    if (snapshot) return snapshot;
    throw e;
  }
  const snapshot = join(folder, "snapshots", info.sha);
  mkdirSync(join(folder, "blobs"), { recursive: true });
  mkdirSync(snapshot, { recursive: true });
  for (const file of chooseRepoFiles(info.files, options)) {
    const target = join(snapshot, file);
    if (existsSync(target)) continue; // a link whose blob is in place: done before
    const url = `${endpoint}/${repo}/resolve/${info.sha}/${file.split("/").map(encodeURIComponent).join("/")}`;
    const meta = await fileMeta(url, headers, repo, revision, file);
    if (meta.commit && meta.commit !== info.sha) {
      throw new MaskwiseError(
        `the hub served ${file} from commit ${meta.commit}, not ${info.sha} as asked`,
        { code: "E_HUB", where: url, hint: "run the command again", kind: "failure" },
      );
    }
    const blob = join(folder, "blobs", meta.etag);
    if (!existsSync(blob)) {
      await download(url, blob, {
        headers,
        userAgent: headers["user-agent"],
        partial: `${blob}.incomplete`,
        onProgress: (b, t) => options.onProgress?.(file, b, t ?? meta.size),
        verify: (p) => verifyBlob(p, meta, file, url),
      });
    }
    link(blob, target);
  }
  // The ref is written last: a snapshot that refs/<revision> names is complete.
  if (revision !== info.sha) {
    mkdirSync(join(folder, "refs", dirname(revision)), { recursive: true });
    writeFileSync(join(folder, "refs", revision), info.sha);
  }
  return snapshot;
}
