// Test helper: a zip archive laid out as torch.save lays one out (stored entries, one folder), so
// tests can hand-write pickles that torch itself would never write.
import { deflateRawSync } from "node:zlib";

/**
 * A stored (or, with `deflate`, deflated) zip of the given entries. With
 * `zip64`, every size and offset is written the ZIP64 way (0xFFFFFFFF in the 32-bit fields, the
 * values in extra field 0x0001, a ZIP64 end record and its locator), as archives over 4 GiB are.
 */
export function makeZip(
  entries: [string, Uint8Array][],
  deflate = false,
  zip64 = false,
): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const FULL = 0xffffffff;
  let offset = 0;
  for (const [name, content] of entries) {
    const packed = deflate ? deflateRawSync(content) : Buffer.from(content);
    const nameBytes = Buffer.from(name);
    const localExtra = Buffer.alloc(zip64 ? 20 : 0);
    if (zip64) {
      localExtra.writeUInt16LE(0x0001, 0);
      localExtra.writeUInt16LE(16, 2);
      localExtra.writeBigUInt64LE(BigInt(content.length), 4);
      localExtra.writeBigUInt64LE(BigInt(packed.length), 12);
    }
    const crc = crc32(content);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt32LE(crc, 14);
    h.writeUInt16LE(zip64 ? 45 : 20, 4);
    h.writeUInt16LE(deflate ? 8 : 0, 8);
    h.writeUInt32LE(zip64 ? FULL : packed.length, 18);
    h.writeUInt32LE(zip64 ? FULL : content.length, 22);
    h.writeUInt16LE(nameBytes.length, 26);
    h.writeUInt16LE(localExtra.length, 28);
    const centralExtra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      centralExtra.writeUInt16LE(0x0001, 0);
      centralExtra.writeUInt16LE(24, 2);
      centralExtra.writeBigUInt64LE(BigInt(content.length), 4);
      centralExtra.writeBigUInt64LE(BigInt(packed.length), 12);
      centralExtra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(zip64 ? 45 : 20, 4);
    c.writeUInt16LE(zip64 ? 45 : 20, 6);
    c.writeUInt16LE(deflate ? 8 : 0, 10);
    c.writeUInt32LE(crc, 16);
    c.writeUInt32LE(zip64 ? FULL : packed.length, 20);
    c.writeUInt32LE(zip64 ? FULL : content.length, 24);
    c.writeUInt16LE(nameBytes.length, 28);
    c.writeUInt16LE(centralExtra.length, 30);
    c.writeUInt32LE(zip64 ? FULL : offset, 42);
    locals.push(h, nameBytes, localExtra, packed);
    centrals.push(c, nameBytes, centralExtra);
    offset += 30 + nameBytes.length + localExtra.length + packed.length;
  }
  const cd = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    locator.writeUInt32LE(1, 16);
    tail.push(rec, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(zip64 ? FULL : cd.length, 12);
  end.writeUInt32LE(zip64 ? FULL : offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, ...tail, end]));
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** Pickle opcodes spelled out, for hand-written programs. */
export const op = {
  proto2: [0x80, 2],
  global: (module: string, name: string) => [0x63, ...Buffer.from(`${module}\n${name}\n`)],
  str: (s: string) => {
    const b = Buffer.from(s);
    return [0x58, b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b];
  },
  int1: (n: number) => [0x4b, n],
  emptyTuple: [0x29],
  emptyDict: [0x7d],
  mark: [0x28],
  tuple: [0x74],
  tuple1: [0x85],
  reduce: [0x52],
  build: [0x62],
  setitem: [0x73],
  binpersid: [0x51],
  newfalse: [0x89],
  stop: [0x2e],
};

/** A torch-style archive holding `pickle` as archive/data.pkl and the given storages. */
export function torchArchive(pickle: number[], storages: [string, Uint8Array][] = []): Uint8Array {
  return makeZip([
    ["archive/data.pkl", Uint8Array.from(pickle)],
    ["archive/byteorder", Buffer.from("little")],
    ...storages.map(([k, b]): [string, Uint8Array] => [`archive/data/${k}`, b]),
    ["archive/version", Buffer.from("3\n")],
  ]);
}
