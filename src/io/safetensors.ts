// The safetensors format (Hugging Face): an 8-byte little-endian header length N, a JSON header
// of N bytes mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets
// relative to the end of the header) plus an optional "__metadata__" map of strings, then the
// raw little-endian bytes. This module parses and builds the bytes; reading and writing files
// (atomically) lives in src/node/.
//
// Everything is validated on read: header length, JSON, dtypes, shapes, offsets inside the
// buffer, sizes equal to shape x dtype width, no overlaps, no holes. Every float dtype (F64, F16,
// BF16) becomes float32, every integer dtype int32 (I64 values outside int32 are an error); the
// tensor keeps the dtype it was stored in, so a writer can store it the same way again.
import { MaskwiseError } from "../util/errors.js";
import type { ByteSource } from "./byte-source.js";

export type SafeDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";
const WIDTH: Record<SafeDType, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Bytes per element of a safetensors dtype. */
export function dtypeWidth(dtype: SafeDType): number {
  return WIDTH[dtype];
}

/** Whether a dtype holds floating-point values (read into a Float32Array). */
export function isFloatDType(dtype: SafeDType): boolean {
  return dtype === "F64" || dtype === "F32" || dtype === "F16" || dtype === "BF16";
}

export interface SafeTensor {
  /** The dtype the tensor was stored in; `data` holds it converted. */
  dtype: SafeDType;
  shape: number[];
  /** Float32Array for F64/F32/F16/BF16, Int32Array for the integer dtypes and BOOL (0/1). */
  data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

function fail(
  what: string,
  where: string,
  hint = "the file is not valid safetensors; re-export it",
): never {
  throw new MaskwiseError(what, { code: "E_SAFETENSORS", where, hint });
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

const scratch = new DataView(new ArrayBuffer(4));

/** float32 -> bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function floatToBfloat16(x: number): number {
  scratch.setFloat32(0, x);
  const bits = scratch.getUint32(0);
  if (Number.isNaN(x)) return 0x7fc0;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** float32 -> IEEE half bits, rounding to nearest even; overflow gives infinity. */
export function floatToHalf(x: number): number {
  scratch.setFloat32(0, x);
  const f = scratch.getUint32(0);
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  let mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: shift the mantissa (with its implicit 1) into place, rounding to even.
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (half + (rem > mid || (rem === mid && half & 1) ? 1 : 0));
  }
  const rem = mant & 0x1fff;
  mant >>>= 13;
  if (rem > 0x1000 || (rem === 0x1000 && mant & 1)) {
    mant++;
    if (mant === 0x400) {
      mant = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | mant;
}

/** One tensor's entry in a safetensors header; offsets are relative to the start of the data. */
export interface SafeEntry {
  name: string;
  dtype: SafeDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** The tensors in header order. */
  entries: SafeEntry[];
  metadata: Record<string, string>;
  /** Byte offset of the data in the file: 8 + the header length. */
  dataStart: number;
}

/**
 * Reads and checks the header of a safetensors file of `fileLength` bytes from its first bytes
 * (`bytes` must hold at least the 8-byte length and the header itself): every entry's dtype,
 * shape and offsets, and that the tensors tile the data with no overlap and no gap. Lets a
 * reader fetch each tensor's bytes on its own instead of holding the whole file.
 */
export function parseSafetensorsHeader(
  bytes: Uint8Array,
  fileLength = bytes.length,
  source = "safetensors",
): SafetensorsHeader {
  if (fileLength < 8 || bytes.length < 8)
    fail(`file is ${fileLength} bytes, shorter than the 8-byte header length`, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > fileLength - 8)
    fail(`header length ${n} runs past the end of the ${fileLength}-byte file`, source);
  if (n > bytes.length - 8)
    fail(`only ${bytes.length - 8} of the ${n} header bytes were read`, source);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`, source);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    fail("header is not a JSON object", source);
  const dataStart = 8 + n;
  const dataLen = fileLength - dataStart;
  const entries: SafeEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    const where = `${source}: tensor '${name}'`;
    if (name === "__metadata__") {
      if (
        entry === null ||
        typeof entry !== "object" ||
        Object.values(entry).some((v) => typeof v !== "string")
      ) {
        fail("__metadata__ must map strings to strings", source);
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== "object" || e === null) fail("entry is not an object", where);
    if (typeof e.dtype !== "string" || !(e.dtype in WIDTH)) {
      fail(
        `dtype ${JSON.stringify(e.dtype)} is not supported`,
        where,
        `use one of ${Object.keys(WIDTH).join(", ")}`,
      );
    }
    const dtype = e.dtype as SafeDType;
    if (!Array.isArray(e.shape) || e.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      fail(`shape ${JSON.stringify(e.shape)} is not a list of non-negative integers`, where);
    }
    const shape = e.shape as number[];
    const offs = e.data_offsets;
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      offs.some((d) => !Number.isSafeInteger(d) || d < 0)
    ) {
      fail(`data_offsets ${JSON.stringify(offs)} must be [begin, end]`, where);
    }
    const [begin, end] = offs as [number, number];
    const count = shape.reduce((p, d) => p * d, 1);
    if (end < begin || end > dataLen)
      fail(`data_offsets [${begin}, ${end}] fall outside the ${dataLen} data bytes`, where);
    if (end - begin !== count * WIDTH[dtype]) {
      fail(
        `${end - begin} bytes for shape [${shape.join(", ")}] of ${dtype} (needs ${count * WIDTH[dtype]})`,
        where,
      );
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  const spans = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const { begin, end, name } of spans) {
    if (begin < cursor) fail(`tensor '${name}' overlaps the one before it`, source);
    if (begin > cursor)
      fail(`${begin - cursor} bytes before tensor '${name}' belong to no tensor`, source);
    cursor = end;
  }
  if (cursor !== dataLen)
    fail(`${dataLen - cursor} bytes after the last tensor belong to no tensor`, source);
  return { entries, metadata, dataStart };
}

/** Parses safetensors bytes. `source` names the file in error messages. */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors"): SafetensorsFile {
  const { entries, metadata, dataStart } = parseSafetensorsHeader(bytes, bytes.length, source);
  const tensors = new Map<string, SafeTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const count = (end - begin) / WIDTH[dtype];
    const data = decodeTensorData(
      bytes,
      dataStart + begin,
      count,
      dtype,
      `${source}: tensor '${name}'`,
    );
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata };
}

/** The largest header read, as the safetensors library allows: 100 MB. */
const MAX_HEADER = 100_000_000;

/**
 * Reads a safetensors file through a ByteSource, one tensor at a time, so the file never has to
 * fit in one buffer (Node reads at most 2 GiB at once). Same checks and result as
 * parseSafetensors.
 */
export function readSafetensors(src: ByteSource, source = "safetensors"): SafetensorsFile {
  if (src.length < 8)
    fail(`file is ${src.length} bytes, shorter than the 8-byte header length`, source);
  const lengthBytes = src.read(0, 8);
  const n = Number(
    new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true),
  );
  if (n > src.length - 8)
    fail(`header length ${n} runs past the end of the ${src.length}-byte file`, source);
  if (n > MAX_HEADER) fail(`header length ${n} is over the ${MAX_HEADER}-byte limit`, source);
  const { entries, metadata, dataStart } = parseSafetensorsHeader(
    src.read(0, 8 + n),
    src.length,
    source,
  );
  const tensors = new Map<string, SafeTensor>();
  for (const { name, dtype, shape, begin, end } of entries) {
    const count = (end - begin) / WIDTH[dtype];
    const bytes = src.read(dataStart + begin, end - begin);
    tensors.set(name, {
      dtype,
      shape,
      data: decodeTensorData(bytes, 0, count, dtype, `${source}: tensor '${name}'`),
    });
  }
  return { tensors, metadata };
}

// Whether this machine stores typed arrays little-endian (as safetensors does), so float32 data can
// be copied in one go instead of element by element.
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Converts `count` little-endian elements of `dtype` at `bytes[at]` to float32 (float dtypes) or
 * int32 (integer dtypes, BOOL as 0/1). The caller has checked that the bytes are there.
 */
export function decodeTensorData(
  bytes: Uint8Array,
  at: number,
  count: number,
  dtype: SafeDType,
  where: string,
): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, count * WIDTH[dtype]);
  switch (dtype) {
    case "F32": {
      if (LITTLE_ENDIAN) {
        // Copy into a fresh buffer (a Node Buffer's slice would share memory, and be unaligned).
        const out = new Float32Array(count);
        new Uint8Array(out.buffer).set(bytes.subarray(at, at + count * 4));
        return out;
      }
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case "F64": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case "BF16": {
      // A bfloat16 is the top half of a float32: shift its bits up and reinterpret.
      const out = new Float32Array(count);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < count; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return out;
    }
    case "I32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case "I16": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      return out;
    }
    case "I8": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      return out;
    }
    case "U8":
    case "BOOL": {
      const out = new Int32Array(count);
      // torch reads any nonzero byte of a bool tensor as true.
      for (let i = 0; i < count; i++)
        out[i] = dtype === "BOOL" ? +(view.getUint8(i) !== 0) : view.getUint8(i);
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v < -2147483648n || v > 2147483647n) {
          throw new MaskwiseError(`I64 value ${v} at element ${i} does not fit in int32`, {
            code: "E_DTYPE",
            where,
            hint: "maskwise keeps integer tensors as int32; this tensor cannot be loaded",
          });
        }
        out[i] = Number(v);
      }
      return out;
    }
  }
}

export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array | Int32Array;
  /**
   * Defaults: F32 for Float32Array, I32 for Int32Array. I64 widens int32 for PyTorch's long; F16
   * and BF16 narrow float32 with round-to-nearest-even (half the size, for sharing weights); F64
   * widens float32 exactly. Integer dtypes narrower than int32 must hold values in their range.
   */
  dtype?: SafeDType;
}

function dtypeOf(t: TensorToWrite): SafeDType {
  return t.dtype ?? (t.data instanceof Float32Array ? "F32" : "I32");
}

/** Builds safetensors bytes; tensors are laid out in the order given, the header padded to 8 bytes. */
export function serializeSafetensors(
  tensors: Iterable<[string, TensorToWrite]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const list = [...tensors];
  let offset = 0;
  for (const [name, t] of list) {
    const dtype = dtypeOf(t);
    const count = t.shape.reduce((p, d) => p * d, 1);
    if (count !== t.data.length) {
      throw new MaskwiseError(
        `tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(", ")}]`,
        { code: "E_SHAPE", where: "serializeSafetensors" },
      );
    }
    if (isFloatDType(dtype) !== t.data instanceof Float32Array) {
      throw new MaskwiseError(
        `tensor '${name}' holds ${t.data.constructor.name} values and cannot be stored as ${dtype}`,
        { code: "E_DTYPE", where: "serializeSafetensors" },
      );
    }
    const size = count * WIDTH[dtype];
    header[name] = { dtype, shape: [...t.shape], data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hbytes = enc.encode(json);
  const pad = (8 - ((8 + hbytes.length) % 8)) % 8;
  json += " ".repeat(pad);
  hbytes = enc.encode(json);
  const out = new Uint8Array(8 + hbytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hbytes.length), true);
  out.set(hbytes, 8);
  let at = 8 + hbytes.length;
  for (const [name, t] of list) {
    encode(view, at, t.data, dtypeOf(t), name);
    at += t.data.length * WIDTH[dtypeOf(t)];
  }
  return out;
}

function encode(
  view: DataView,
  at: number,
  data: Float32Array | Int32Array,
  dtype: SafeDType,
  name: string,
): void {
  const range = INT_RANGE[dtype];
  if (range && data.some((v) => v < range[0] || v > range[1])) {
    throw new MaskwiseError(`tensor '${name}' has values outside the range of ${dtype}`, {
      code: "E_DTYPE",
      where: "serializeSafetensors",
      hint: "store it as I32 or I64",
    });
  }
  const n = data.length;
  switch (dtype) {
    case "F32":
      for (let i = 0; i < n; i++) view.setFloat32(at + i * 4, data[i], true);
      return;
    case "F64":
      for (let i = 0; i < n; i++) view.setFloat64(at + i * 8, data[i], true);
      return;
    case "F16":
      for (let i = 0; i < n; i++) view.setUint16(at + i * 2, floatToHalf(data[i]), true);
      return;
    case "BF16":
      for (let i = 0; i < n; i++) view.setUint16(at + i * 2, floatToBfloat16(data[i]), true);
      return;
    case "I64":
      for (let i = 0; i < n; i++) view.setBigInt64(at + i * 8, BigInt(data[i]), true);
      return;
    case "I32":
      for (let i = 0; i < n; i++) view.setInt32(at + i * 4, data[i], true);
      return;
    case "I16":
      for (let i = 0; i < n; i++) view.setInt16(at + i * 2, data[i], true);
      return;
    case "I8":
      for (let i = 0; i < n; i++) view.setInt8(at + i, data[i]);
      return;
    case "U8":
    case "BOOL":
      for (let i = 0; i < n; i++) view.setUint8(at + i, data[i]);
      return;
  }
}

const INT_RANGE: Partial<Record<SafeDType, [number, number]>> = {
  I16: [-32768, 32767],
  I8: [-128, 127],
  U8: [0, 255],
  BOOL: [0, 1],
};
