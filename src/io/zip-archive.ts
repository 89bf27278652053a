// Reading a zip archive held in memory (PKWARE APPNOTE), as torch.save writes one: the end of
// central directory record, one central directory entry per file, and each entry's local header
// followed by its bytes. torch stores entries uncompressed (and pads local headers so that data is
// 64-byte aligned); a deflated entry is read only when the caller passes an inflater (the Node
// side has one in node:zlib; this file must also run in a browser). Archives over 4 GiB use the
// ZIP64 records (torch writes them for large checkpoints): a locator just before the end record
// points at a 64-bit end record, and a central directory field that reads 0xFFFFFFFF has its
// 64-bit value in the entry's extra field 0x0001. Encryption is reported, not guessed at. Every offset and size is checked against the archive's length.
// The archive is read through a ByteSource: only the directory and the entries asked for are
// read, so an archive larger than memory allows still opens.
import { MaskwiseError } from "../util/errors.js";
import { type ByteSource, memorySource } from "./byte-source.js";

export interface ZipEntry {
  name: string;
  /** 0 stored, 8 deflated. */
  method: number;
  /** Bytes in the archive (compressed size). */
  size: number;
  /** Bytes once inflated. */
  uncompressedSize: number;
  /** Offset of the entry's local header. */
  local: number;
}

export interface ZipArchive {
  entries: Map<string, ZipEntry>;
  /** The bytes of one entry (a view into the archive when stored). */
  read(name: string): Uint8Array;
}

/** Raw-deflate decompressor, given by callers that have one (node:zlib's inflateRawSync). */
export type InflateRaw = (data: Uint8Array, expectedSize: number) => Uint8Array;

export function openZip(
  archive: Uint8Array | ByteSource,
  source: string,
  inflateRaw?: InflateRaw,
): ZipArchive {
  const src = archive instanceof Uint8Array ? memorySource(archive) : archive;
  const total = src.length;
  const fail = (what: string): never => {
    throw new MaskwiseError(what, {
      code: "E_ZIP",
      where: source,
      hint: "the file is damaged or not a zip archive; download it again",
    });
  };
  /** A little-endian 64-bit field, refused beyond 2^53 (no archive is that large). */
  const u64 = (view: DataView, at: number): number => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a ZIP64 field holds ${v}`);
    return Number(v);
  };
  /** `n` bytes at `at`, checked against the archive's length, with a little-endian view. */
  const readAt = (at: number, n: number, what: string) => {
    if (at < 0 || at + n > total) fail(`${what} runs past the end of the archive`);
    const bytes = src.read(at, n);
    return { bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
  };
  // The end of central directory record is 22 bytes plus a comment of up to 65535 bytes.
  const tailStart = Math.max(0, total - 22 - 65535);
  const tail = readAt(tailStart, total - tailStart, "the end of central directory");
  let eocd = -1;
  for (let i = tail.bytes.length - 22; i >= 0; i--) {
    if (tail.view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("not a zip archive (no end of central directory)");
  let count = tail.view.getUint16(eocd + 10, true);
  let cdSize = tail.view.getUint32(eocd + 12, true);
  let cdStart = tail.view.getUint32(eocd + 16, true);
  // ZIP64: locator (20 bytes) right before the end record -> the 64-bit end record.
  if (eocd >= 20 && tail.view.getUint32(eocd - 20, true) === 0x07064b50) {
    const at = u64(tail.view, eocd - 20 + 8);
    const rec = readAt(at, 56, "the ZIP64 end record").view;
    if (rec.getUint32(0, true) !== 0x06064b50) fail("damaged ZIP64 end record");
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdStart = u64(rec, 48);
  } else if (count === 0xffff || cdStart === 0xffffffff || cdSize === 0xffffffff) {
    fail("the end record needs ZIP64 values but the archive has no ZIP64 locator");
  }
  // Each central directory entry takes at least 46 bytes: a larger count is a damaged record.
  if (count > cdSize / 46)
    fail(`${count} entries cannot fit in a ${cdSize}-byte central directory`);
  const { bytes: cd, view } = readAt(cdStart, cdSize, "the central directory");
  let p = 0;
  const entries = new Map<string, ZipEntry>();
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || view.getUint32(p, true) !== 0x02014b50)
      fail("damaged central directory");
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    let size = view.getUint32(p + 20, true);
    let uncompressedSize = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen > cd.length) fail("damaged central directory");
    const name = new TextDecoder().decode(cd.subarray(p + 46, p + 46 + nameLen));
    if (flags & 1) fail(`${name} is encrypted`);
    if (size === 0xffffffff || uncompressedSize === 0xffffffff || local === 0xffffffff) {
      // The ZIP64 extra field holds, in this order, the 64-bit values of the fields that read
      // 0xFFFFFFFF: uncompressed size, compressed size, local header offset.
      let e = p + 46 + nameLen;
      const end = e + extraLen;
      let found = false;
      while (e + 4 <= end) {
        const id = view.getUint16(e, true);
        const len = view.getUint16(e + 2, true);
        if (e + 4 + len > end) break;
        if (id === 0x0001) {
          let q = e + 4;
          const next = (): number => {
            if (q + 8 > e + 4 + len) fail(`${name}: ZIP64 extra field too short`);
            const v = u64(view, q);
            q += 8;
            return v;
          };
          if (uncompressedSize === 0xffffffff) uncompressedSize = next();
          if (size === 0xffffffff) size = next();
          if (local === 0xffffffff) local = next();
          found = true;
          break;
        }
        e += 4 + len;
      }
      if (!found) fail(`${name} has 0xFFFFFFFF sizes but no ZIP64 extra field`);
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (entries.has(name)) fail(`the archive holds ${name} twice`);
    entries.set(name, { name, method, size, uncompressedSize, local });
  }
  return {
    entries,
    read(name: string): Uint8Array {
      const e = entries.get(name);
      if (!e) return fail(`${name} is not in the archive`);
      const local = readAt(e.local, 30, `local header of ${name}`).view;
      if (local.getUint32(0, true) !== 0x04034b50) fail(`damaged local header of ${name}`);
      const start = e.local + 30 + local.getUint16(26, true) + local.getUint16(28, true);
      const data = readAt(start, e.size, name).bytes;
      if (e.method === 0) {
        if (e.size !== e.uncompressedSize) fail(`${name} is stored with two different sizes`);
        return data;
      }
      if (e.method === 8 && inflateRaw) {
        // Deflate packs at most about 1032:1, so a larger claim is a damaged (or hostile) header.
        if (e.uncompressedSize > e.size * 1032 + 64)
          fail(`${name} claims ${e.uncompressedSize} bytes from ${e.size} deflated bytes`);
        let out: Uint8Array;
        try {
          out = inflateRaw(data, e.uncompressedSize);
        } catch (err) {
          return fail(`${name} does not inflate (${(err as Error).message})`);
        }
        if (out.length !== e.uncompressedSize)
          fail(`${name} inflates to ${out.length} bytes, the directory says ${e.uncompressedSize}`);
        return out;
      }
      return fail(
        `${name} uses compression method ${e.method} (${e.method === 8 ? "deflate needs the Node reader" : "only stored and deflate are supported"})`,
      );
    },
  };
}
