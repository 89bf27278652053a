// Test helper: a zip archive laid out as torch.save lays one out (stored entries, one folder), so
// tests can hand-write pickles that torch itself would never write.
import { deflateRawSync } from "node:zlib";

/** A stored (or, with `deflate`, deflated) zip of the given entries, CRC fields left zero. */
export function makeZip(entries: [string, Uint8Array][], deflate = false): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const packed = deflate ? deflateRawSync(content) : Buffer.from(content);
    const nameBytes = Buffer.from(name);
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(deflate ? 8 : 0, 8);
    h.writeUInt32LE(packed.length, 18);
    h.writeUInt32LE(content.length, 22);
    h.writeUInt16LE(nameBytes.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(deflate ? 8 : 0, 10);
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
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
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
