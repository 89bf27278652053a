// `maskwise hub get` against a server on 127.0.0.1 that answers as the hub does: the revision API,
// resolve URLs that redirect LFS files to storage with X-Linked-Etag/X-Linked-Size, git-sha1 etags
// for small files, Range requests, a private repository. The cache layout is huggingface_hub's.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { cachedSnapshot, hubCacheDir, hubDownload, resolveModelPath } from "../../src/node/hub.js";
import { loadWeights } from "../../src/node/weights.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { tempDir } from "../helpers/tmp.js";

const root = join(import.meta.dirname, "..", "..");
const gpt2 = join(root, "..", "shared", "ref", "hf", "gpt2");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const TOKEN = "hf_secret";

interface RepoFile {
  bytes: Uint8Array;
  lfs: boolean;
}
/** repo -> path -> file; "acme/private" needs the token. */
const repos = new Map<string, Map<string, RepoFile>>();
/** Storage paths whose next GET stops halfway (once each). */
const cut = new Set<string>();
/** Storage paths served with one byte changed (a corrupt mirror). */
const corrupt = new Set<string>();
const log: { method: string; path: string; range?: string; auth?: string }[] = [];
let server: Server;
let endpoint: string;

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const gitSha1 = (b: Uint8Array) =>
  createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

function serveBytes(
  req: import("node:http").IncomingMessage,
  res: import("node:http").ServerResponse,
  body: Uint8Array,
  headers: Record<string, string>,
  key: string,
) {
  if (corrupt.has(key)) {
    body = Uint8Array.from(body); // a copy: a Buffer's slice() would share the original
    body[body.length >> 1] ^= 0xff;
  }
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
  const start = m ? Number(m[1]) : 0;
  const slice = body.subarray(start);
  res.writeHead(m ? 206 : 200, { ...headers, "content-length": slice.length });
  if (req.method === "HEAD") return res.end();
  if (cut.delete(key)) {
    // Half the bytes, then the connection drops (after the client has had time to store them).
    res.write(slice.subarray(0, slice.length >> 1), () => setTimeout(() => res.destroy(), 50));
    return;
  }
  res.end(slice);
}

before(async () => {
  // The tests say what they want; the caller's hub settings must not change them.
  for (const k of ["HF_HUB_OFFLINE", "HF_TOKEN", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HOME"])
    delete process.env[k];
  const files = new Map<string, RepoFile>();
  for (const name of ["config.json", "generation_config.json", "model.safetensors"])
    files.set(name, { bytes: readFileSync(join(gpt2, name)), lfs: name.endsWith(".safetensors") });
  files.set("sub/dir/notes.txt", { bytes: Buffer.from("nested file\n"), lfs: false });
  // Weights maskwise does not read by default: other frameworks, and the .bin copy.
  files.set("tf_model.h5", { bytes: Buffer.from("not read"), lfs: true });
  files.set("pytorch_model.bin", {
    bytes: readFileSync(join(root, "tests", "fixtures", "bin", "gpt2_f32.bin")),
    lfs: true,
  });
  repos.set("acme/tiny-gpt2", files);
  repos.set("acme/private", new Map([["config.json", files.get("config.json") as RepoFile]]));
  // A hub that answers for another commit than the one asked for.
  repos.set("acme/drifting", new Map([["config.json", files.get("config.json") as RepoFile]]));

  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = decodeURIComponent(url.pathname);
    log.push({
      method: req.method ?? "",
      path,
      range: req.headers.range,
      auth: req.headers.authorization,
    });
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/(.+)$/.exec(path);
    const repoOf = (id: string) => {
      const repo = repos.get(id);
      if (!repo) {
        res.writeHead(404, { "x-error-code": "RepoNotFound" }).end();
        return null;
      }
      if (id === "acme/private" && req.headers.authorization !== `Bearer ${TOKEN}`) {
        res.writeHead(401).end();
        return null;
      }
      return repo;
    };
    if (m) {
      const repo = repoOf(m[1]);
      if (!repo) return;
      if (m[2] !== "main" && m[2] !== COMMIT) return res.writeHead(404).end();
      const body = JSON.stringify({
        id: m[1],
        sha: COMMIT,
        siblings: [...repo.keys()].map((rfilename) => ({ rfilename })),
      });
      return res.writeHead(200, { "content-type": "application/json" }).end(body);
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([0-9a-f]{40})\/(.+)$/.exec(path);
    if (m) {
      const repo = repoOf(m[1]);
      if (!repo) return;
      const file = repo.get(m[3]);
      if (!file || m[2] !== COMMIT) return res.writeHead(404).end();
      if (file.lfs) {
        // LFS: the hub redirects to storage; the redirect carries the sha256 and the size.
        return res
          .writeHead(302, {
            location: `/storage/${sha256(file.bytes)}`,
            etag: `"${gitSha1(Buffer.from("pointer"))}"`,
            "x-linked-etag": `"${sha256(file.bytes)}"`,
            "x-linked-size": String(file.bytes.length),
            "x-repo-commit": COMMIT,
          })
          .end();
      }
      return serveBytes(
        req,
        res,
        file.bytes,
        {
          etag: `"${gitSha1(file.bytes)}"`,
          "x-repo-commit": m[1] === "acme/drifting" ? "f".repeat(40) : COMMIT,
        },
        path,
      );
    }
    m = /^\/storage\/([0-9a-f]{64})$/.exec(path);
    if (m) {
      for (const repo of repos.values())
        for (const f of repo.values())
          if (f.lfs && sha256(f.bytes) === m[1])
            return serveBytes(req, res, f.bytes, { etag: `"cdn-etag"` }, path);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

const storagePath = () => `/storage/${sha256(readFileSync(join(gpt2, "model.safetensors")))}`;

test("a repository lands in huggingface_hub's cache layout and reads as a model folder", async () => {
  const cacheDir = tempDir("hub");
  const snapshot = await hubDownload("acme/tiny-gpt2", { endpoint, cacheDir });
  const folder = join(cacheDir, "models--acme--tiny-gpt2");
  assert.equal(snapshot, join(folder, "snapshots", COMMIT));
  assert.equal(readFileSync(join(folder, "refs", "main"), "utf8"), COMMIT);
  const weights = join(snapshot, "model.safetensors");
  assert.ok(lstatSync(weights).isSymbolicLink());
  assert.equal(
    readlinkSync(weights),
    `../../blobs/${sha256(readFileSync(join(gpt2, "model.safetensors")))}`,
  );
  assert.equal(
    readlinkSync(join(snapshot, "sub", "dir", "notes.txt")),
    `../../../../blobs/${gitSha1(Buffer.from("nested file\n"))}`,
  );
  assert.ok(readFileSync(weights).equals(readFileSync(join(gpt2, "model.safetensors"))));
  assert.ok(
    readFileSync(join(snapshot, "config.json")).equals(readFileSync(join(gpt2, "config.json"))),
  );
  assert.equal(readdirSync(join(folder, "blobs")).length, 4, "no tf_model.h5, no .bin copy");
  assert.ok(!existsSync(join(snapshot, "pytorch_model.bin")));
  assert.ok(!readdirSync(join(folder, "blobs")).some((n) => n.endsWith(".incomplete")));
  assert.equal(loadWeights(snapshot).tensors.size, 28);

  // A second run asks only for the revision: every file is in place.
  const n = log.length;
  assert.equal(await hubDownload("acme/tiny-gpt2", { endpoint, cacheDir }), snapshot);
  assert.deepEqual(
    log.slice(n).map((r) => r.path),
    ["/api/models/acme/tiny-gpt2/revision/main"],
  );
});

test("--all fetches the other weights too; --include fetches only what matches", async () => {
  const cacheDir = tempDir("hub-choice");
  const all = await hubDownload("acme/tiny-gpt2", { endpoint, cacheDir, all: true });
  assert.ok(existsSync(join(all, "tf_model.h5")));
  assert.equal(loadWeights(join(all, "pytorch_model.bin")).tensors.size, 29);
  const only = await hubDownload("acme/tiny-gpt2", {
    endpoint,
    cacheDir: tempDir("hub-include"),
    include: ["*.json"],
  });
  assert.deepEqual(readdirSync(only).sort(), ["config.json", "generation_config.json"]);
});

test("a cut connection leaves an .incomplete blob, and the next run asks only for the rest", async () => {
  const cacheDir = tempDir("hub-resume");
  cut.add(storagePath());
  await assert.rejects(hubDownload("acme/tiny-gpt2", { endpoint, cacheDir }), (e: unknown) => {
    assert.ok(e instanceof MaskwiseError);
    assert.equal(e.code, "E_NETWORK", e.message);
    return true;
  });
  const blobs = join(cacheDir, "models--acme--tiny-gpt2", "blobs");
  assert.ok(
    readdirSync(blobs).some((f) => f.endsWith(".incomplete")),
    readdirSync(blobs).join(" "),
  );
  assert.equal(cachedSnapshot("acme/tiny-gpt2", { cacheDir }), null, "no ref before it is whole");
  const n = log.length;
  const snapshot = await hubDownload("acme/tiny-gpt2", { endpoint, cacheDir });
  const resumed = log.slice(n).find((r) => r.method === "GET" && r.path === storagePath());
  assert.match(resumed?.range ?? "", /^bytes=[1-9]\d*-$/);
  assert.ok(
    readFileSync(join(snapshot, "model.safetensors")).equals(
      readFileSync(join(gpt2, "model.safetensors")),
    ),
  );
  assert.ok(!readdirSync(blobs).some((f) => f.endsWith(".incomplete")));
});

test("a file whose bytes do not match the etag is refused and nothing of it is kept", async () => {
  const cacheDir = tempDir("hub-bad");
  corrupt.add(storagePath());
  try {
    await assert.rejects(hubDownload("acme/tiny-gpt2", { endpoint, cacheDir }), (e: unknown) => {
      assert.ok(e instanceof MaskwiseError);
      assert.equal(e.code, "E_CHECKSUM");
      assert.match(e.message, /checksum mismatch for model\.safetensors: sha256 [0-9a-f]{64}/);
      return true;
    });
  } finally {
    corrupt.delete(storagePath());
  }
  const blobs = join(cacheDir, "models--acme--tiny-gpt2", "blobs");
  const sha = sha256(readFileSync(join(gpt2, "model.safetensors")));
  assert.ok(!readdirSync(blobs).some((f) => f.startsWith(sha)), readdirSync(blobs).join(" "));
  assert.ok(
    !existsSync(
      join(cacheDir, "models--acme--tiny-gpt2", "snapshots", COMMIT, "model.safetensors"),
    ),
  );

  // A small (non-LFS) file is checked against its git blob hash.
  const config = `/acme/tiny-gpt2/resolve/${COMMIT}/config.json`;
  corrupt.add(config);
  try {
    await assert.rejects(
      hubDownload("acme/tiny-gpt2", { endpoint, cacheDir: tempDir("hub-bad2") }),
      /git blob sha1/,
    );
  } finally {
    corrupt.delete(config);
  }
});

test("401 without a token, then the token is sent as a bearer; 404 for an unknown repository or revision", async () => {
  const cacheDir = tempDir("hub-auth");
  await assert.rejects(
    hubDownload("acme/private", { endpoint, cacheDir, token: "" }),
    (e: unknown) => {
      assert.ok(e instanceof MaskwiseError);
      assert.equal(e.code, "E_HUB_AUTH");
      assert.match(
        e.toLine(),
        /^maskwise: the hub refused access to acme\/private \(HTTP 401\) \(.*\): .*HF_TOKEN/,
      );
      return true;
    },
  );
  const snapshot = await hubDownload("acme/private", { endpoint, cacheDir, token: TOKEN });
  assert.ok(existsSync(join(snapshot, "config.json")));
  assert.ok(
    log
      .filter((r) => r.path.startsWith("/acme/private/"))
      .every((r) => r.auth === `Bearer ${TOKEN}`),
  );

  for (const [repo, revision] of [
    ["acme/missing", "main"],
    ["acme/tiny-gpt2", "v9"],
  ]) {
    await assert.rejects(hubDownload(repo, { endpoint, cacheDir, revision }), (e: unknown) => {
      assert.ok(e instanceof MaskwiseError);
      assert.equal(e.code, "E_HUB_NOT_FOUND");
      assert.equal(e.kind, "input");
      assert.match(e.message, new RegExp(`${repo} has no model at revision ${revision}`));
      return true;
    });
  }
  await assert.rejects(
    hubDownload("../etc", { endpoint, cacheDir }),
    /not a model repository name/,
  );
  await assert.rejects(
    hubDownload("acme/tiny-gpt2", { endpoint, cacheDir, revision: "../../x" }),
    /is not a revision/,
  );
  await assert.rejects(
    hubDownload("acme/drifting", { endpoint, cacheDir }),
    /served config\.json from commit f{40}, not 0123/,
  );
});

test("offline: a cached repository resolves from refs/main without the network", async () => {
  const cacheDir = tempDir("hub-offline");
  assert.throws(
    () => resolveModelPath("acme/tiny-gpt2", { cacheDir }),
    (e: unknown) =>
      e instanceof MaskwiseError && /maskwise hub get acme\/tiny-gpt2/.test(e.hint ?? ""),
  );
  const snapshot = await hubDownload("acme/tiny-gpt2", { endpoint, cacheDir });
  const n = log.length;
  assert.equal(resolveModelPath("acme/tiny-gpt2", { cacheDir }), snapshot);
  assert.equal(resolveModelPath("acme/tiny-gpt2", { cacheDir, revision: COMMIT }), snapshot);
  assert.equal(resolveModelPath(snapshot, { cacheDir }), snapshot, "a folder is itself");
  assert.equal(log.length, n, "no request was made");
  assert.throws(
    () => resolveModelPath("acme/tiny-gpt2", { cacheDir, revision: "dev" }),
    (e: unknown) => e instanceof MaskwiseError && /--revision dev/.test(e.hint ?? ""),
  );
});

test("unreachable hub or HF_HUB_OFFLINE: a cached snapshot is the answer, an uncached one an error", async () => {
  const cacheDir = tempDir("hub-unreachable");
  const closed = "http://127.0.0.1:9";
  await assert.rejects(
    hubDownload("acme/tiny-gpt2", { endpoint: closed, cacheDir }),
    (e: unknown) => {
      assert.ok(e instanceof MaskwiseError);
      assert.equal(e.code, "E_NETWORK");
      return true;
    },
  );
  await assert.rejects(
    hubDownload("acme/tiny-gpt2", { endpoint, cacheDir, offline: true }),
    /is not in the cache, and HF_HUB_OFFLINE is set/,
  );
  const snapshot = await hubDownload("acme/tiny-gpt2", { endpoint, cacheDir });
  assert.equal(await hubDownload("acme/tiny-gpt2", { endpoint: closed, cacheDir }), snapshot);
  const n = log.length;
  assert.equal(
    await hubDownload("acme/tiny-gpt2", { endpoint, cacheDir, offline: true }),
    snapshot,
  );
  assert.equal(log.length, n, "offline asks nothing");
});

test("the cache folder follows HF_HUB_CACHE, then HF_HOME, then ~/.cache", () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: "/a", HF_HOME: "/b" }), "/a");
  assert.equal(hubCacheDir({ HF_HOME: "/b" }), join("/b", "hub"));
  assert.match(hubCacheDir({ HOME: "/h" }), /\.cache[/\\]huggingface[/\\]hub$/);
});

test("the CLI prints the snapshot folder, honours HF_ENDPOINT and HF_HUB_CACHE; 404 is one line, status 2", async () => {
  const cacheDir = tempDir("hub-cli");
  const run = (args: string[]) =>
    promisify(execFile)(process.execPath, [join(root, "bin", "maskwise.mjs"), ...args], {
      env: { ...process.env, HF_ENDPOINT: endpoint, HF_HUB_CACHE: cacheDir, HF_TOKEN: "" },
    });
  const { stdout } = await run(["hub", "get", "acme/tiny-gpt2"]);
  assert.equal(stdout.trim(), join(cacheDir, "models--acme--tiny-gpt2", "snapshots", COMMIT));
  await assert.rejects(
    run(["hub", "get", "acme/missing"]),
    (e: { code?: number; stderr?: string }) => {
      assert.equal(e.code, 2);
      const lines = (e.stderr ?? "").trim().split("\n");
      assert.equal(lines.length, 1, e.stderr);
      assert.match(
        lines[0],
        /^maskwise: acme\/missing has no model at revision main on the hub \(HTTP 404\)/,
      );
      return true;
    },
  );
});
