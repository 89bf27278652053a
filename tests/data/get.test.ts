// `maskwise data get` against a server on 127.0.0.1 that serves the shared copies packed as their
// publishers pack them (gzip for Multi30k, a zip for Tatoeba, plain JSON lines for DialogSum):
// checksums, the cache, resuming an interrupted download, a corrupted file, and offline use.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { deflateRawSync, gzipSync } from "node:zlib";
import { DATASETS } from "../../src/data/datasets.js";
import { getDataset } from "../../src/node/datasets.js";
import { MaskwiseError } from "../../src/util/errors.js";

const data = join(import.meta.dirname, "..", "..", "..", "shared", "data");
const tmp = mkdtempSync(join(tmpdir(), "maskwise-get-"));
const files = new Map<string, Uint8Array>();
/** Paths whose next response stops halfway (once each). */
const cut = new Set<string>();
const log: { path: string; range: string | undefined }[] = [];
let server: Server;
let mirror: string;

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A zip archive with deflated entries, as the manythings.org file is made. */
function zip(entries: [string, Uint8Array][]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const packed = deflateRawSync(content);
    const nameBytes = Buffer.from(name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(8, 8);
    h.writeUInt32LE(crc32(content), 14);
    h.writeUInt32LE(packed.length, 18);
    h.writeUInt32LE(content.length, 22);
    h.writeUInt16LE(nameBytes.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(8, 10);
    c.writeUInt32LE(crc32(content), 16);
    c.writeUInt32LE(packed.length, 20);
    c.writeUInt32LE(content.length, 24);
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt32LE(offset, 42);
    locals.push(h, nameBytes, packed);
    centrals.push(c, nameBytes);
    offset += 30 + nameBytes.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

before(async () => {
  for (const d of DATASETS) {
    for (const f of d.files) {
      const path = new URL(f.url).pathname;
      const local = join(data, d.name === "tatoeba-zh" ? "tatoeba-cmn" : d.name, f.name);
      const content = readFileSync(local);
      files.set(
        path,
        f.packing === "gzip"
          ? gzipSync(content)
          : f.packing === "zip"
            ? zip([
                ["_about.txt", Buffer.from("about\n")],
                ["cmn.txt", content],
              ])
            : content,
      );
    }
  }
  server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    log.push({ path, range: req.headers.range });
    const body = files.get(path);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (m) start = Number(m[1]);
    if (start >= body.length && m) {
      res.writeHead(416).end();
      return;
    }
    const slice = body.subarray(start);
    res.writeHead(m ? 206 : 200, { "content-length": slice.length });
    if (cut.delete(path)) {
      res.write(slice.subarray(0, slice.length >> 1), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
  rmSync(tmp, { recursive: true, force: true });
});

test("all three datasets: unpacked, checked, equal to the shared copies; a second run fetches nothing", async () => {
  const cacheDir = join(tmp, "cache-all");
  for (const d of DATASETS) {
    const paths = await getDataset(d.name, { cacheDir, mirror });
    assert.equal(paths.length, d.files.length);
    for (const [i, f] of d.files.entries()) {
      assert.equal(paths[i], join(cacheDir, d.name, f.name));
      const folder = d.name === "tatoeba-zh" ? "tatoeba-cmn" : d.name;
      assert.ok(readFileSync(paths[i]).equals(readFileSync(join(data, folder, f.name))));
    }
  }
  const before = log.length;
  await getDataset("multi30k", { cacheDir, mirror });
  assert.equal(log.length, before);
});

test("an interrupted download fails clearly, and the next run asks only for the rest", async () => {
  const cacheDir = join(tmp, "cache-resume");
  const path = "/cylnlp/dialogsum/main/DialogSum_Data/dialogsum.train.jsonl";
  cut.add(path);
  await assert.rejects(getDataset("dialogsum", { cacheDir, mirror }), (e: unknown) => {
    assert.ok(e instanceof MaskwiseError);
    assert.equal(e.code, "E_NETWORK");
    assert.match(e.hint ?? "", /run the same command again/);
    return true;
  });
  const n = log.length;
  const paths = await getDataset("dialogsum", { cacheDir, mirror });
  const resumed = log.slice(n).find((r) => r.path === path);
  assert.match(resumed?.range ?? "", /^bytes=[1-9]\d*-$/);
  assert.ok(
    readFileSync(paths[0]).equals(readFileSync(join(data, "dialogsum", "dialogsum.train.jsonl"))),
  );
});

test("a corrupted file is a checksum error, is not kept, and --no-verify accepts it", async () => {
  const cacheDir = join(tmp, "cache-bad");
  const path = "/anki/cmn-eng.zip";
  const good = files.get(path) as Uint8Array;
  const text = Buffer.from(readFileSync(join(data, "tatoeba-cmn", "cmn.txt")));
  text[100] ^= 1;
  files.set(path, zip([["cmn.txt", text]]));
  try {
    await assert.rejects(getDataset("tatoeba-zh", { cacheDir, mirror }), (e: unknown) => {
      assert.ok(e instanceof MaskwiseError);
      assert.equal(e.code, "E_CHECKSUM");
      assert.match(e.message, /checksum mismatch for cmn\.txt/);
      return true;
    });
    assert.ok(
      !existsSync(join(cacheDir, "tatoeba-zh", "cmn.txt")),
      "the corrupted file is not kept",
    );
    const [p] = await getDataset("tatoeba-zh", { cacheDir, mirror, verify: false });
    assert.ok(readFileSync(p).equals(text));
  } finally {
    files.set(path, good);
  }
});

test("data get from the command line: a corrupted file is one line, status 1, and not kept", async () => {
  const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
  const cacheDir = join(tmp, "cache-cli-bad");
  const path = "/anki/cmn-eng.zip";
  const good = files.get(path) as Uint8Array;
  const text = Buffer.from(readFileSync(join(data, "tatoeba-cmn", "cmn.txt")));
  text[100] ^= 1;
  files.set(path, zip([["cmn.txt", text]]));
  try {
    const args = [bin, "data", "get", "tatoeba-zh", "--cache", cacheDir, "--mirror", mirror];
    await assert.rejects(promisify(execFile)(process.execPath, args), (e: unknown) => {
      const err = e as { code: number; stderr: string; stdout: string };
      assert.equal(err.code, 1);
      assert.equal(err.stdout, "");
      assert.match(
        err.stderr.trimEnd().split("\n").at(-1) ?? "",
        /^maskwise: checksum mismatch for cmn\.txt/,
      );
      return true;
    });
    const folder = join(cacheDir, "tatoeba-zh");
    // Not the file, not the archive it came in (an empty staging folder may stay).
    const kept = existsSync(folder)
      ? readdirSync(folder, { recursive: true, encoding: "utf8" }).filter((f) =>
          statSync(join(folder, f)).isFile(),
        )
      : [];
    assert.deepEqual(kept, [], "neither the corrupted file nor its archive is kept");
    assert.ok(!existsSync(join(folder, "cmn.txt")));
  } finally {
    files.set(path, good);
  }
});

test("offline: the error says where to put the files, and files put there by hand are used", async () => {
  const cacheDir = join(tmp, "cache-offline");
  const closed = "http://127.0.0.1:9";
  await assert.rejects(getDataset("multi30k", { cacheDir, mirror: closed }), (e: unknown) => {
    assert.ok(e instanceof MaskwiseError);
    assert.equal(e.code, "E_NETWORK");
    assert.ok(e.hint?.includes(join(cacheDir, "multi30k", "train.de")), e.hint);
    return true;
  });
  const d = DATASETS.find((x) => x.name === "multi30k");
  for (const f of d?.files ?? []) {
    mkdirSync(join(cacheDir, "multi30k"), { recursive: true });
    copyFileSync(join(data, "multi30k", f.name), join(cacheDir, "multi30k", f.name));
  }
  const paths = await getDataset("multi30k", { cacheDir, mirror: closed });
  assert.equal(paths.length, 10);
});

test("the CLI prints the paths; an unknown dataset is status 2", async () => {
  const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
  const cacheDir = join(tmp, "cache-cli");
  const run = promisify(execFile);
  const r = await run(process.execPath, [
    bin,
    "data",
    "get",
    "tatoeba-zh",
    "--cache",
    cacheDir,
    "--mirror",
    mirror,
  ]);
  assert.equal(r.stdout, `${join(cacheDir, "tatoeba-zh", "cmn.txt")}\n`);
  await assert.rejects(
    run(process.execPath, [bin, "data", "get", "wmt99", "--cache", cacheDir]),
    (e: unknown) => {
      const err = e as { code: number; stderr: string };
      assert.equal(err.code, 2);
      assert.match(
        // The last line: a backend notice may come before the error.
        err.stderr.trimEnd().split("\n").at(-1) ?? "",
        /^maskwise: unknown dataset 'wmt99' \(maskwise data get\): choose one of multi30k, tatoeba-zh, dialogsum$/,
      );
      return true;
    },
  );
});
