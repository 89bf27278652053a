// Reading one file out of a zip archive (PKWARE APPNOTE: end of central directory, central
// directory entries, local headers; stored or deflated entries). Enough for dataset archives such
// as Tatoeba's cmn-eng.zip; ZIP64 and encryption are reported, not guessed at.
import { inflateRawSync } from "node:zlib";
import { MaskwiseError } from "../util/errors.js";

export function zipEntry(zip: Uint8Array, entry: string, source: string): Uint8Array {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const fail = (what: string): never => {
    throw new MaskwiseError(what, {
      code: "E_ZIP",
      where: source,
      hint: "delete the file and download it again",
    });
  };
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail("not a zip archive (no end of central directory)");
  const count = view.getUint16(eocd + 10, true);
  let p = view.getUint32(eocd + 16, true);
  if (p === 0xffffffff) fail("ZIP64 archives are not supported");
  const names: string[] = [];
  for (let k = 0; k < count; k++) {
    if (p + 46 > zip.length || view.getUint32(p, true) !== 0x02014b50)
      fail("damaged central directory");
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const size = view.getUint32(p + 20, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    const local = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(zip.subarray(p + 46, p + 46 + nameLen));
    names.push(name);
    p += 46 + nameLen + extraLen + commentLen;
    if (name !== entry) continue;
    if (flags & 1) fail(`${entry} is encrypted`);
    if (view.getUint32(local, true) !== 0x04034b50) fail("damaged local header");
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = zip.subarray(start, start + size);
    if (method === 0) return data;
    if (method === 8) return inflateRawSync(data);
    fail(`${entry} uses compression method ${method} (only stored and deflate are supported)`);
  }
  return fail(`${entry} is not in the archive (it holds ${names.join(", ")})`);
}
