// The safetensors format (Hugging Face): an 8-byte little-endian header length N, a JSON header
// of N bytes mapping each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets
// relative to the end of the header) plus an optional "__metadata__" map of strings, then the
// raw little-endian bytes. This module parses and builds the bytes; reading and writing files
// (atomically) lives in src/node/.
//
// Everything is validated on read: header length, JSON, dtypes, shapes, offsets inside the
// buffer, sizes equal to shape x dtype width, no overlaps, no holes. F16 and BF16 widen to
// float32, I64 narrows to int32 (values outside int32 are an error).
import { MaskwiseError } from "../util/errors.js";

export type SafeDType = "F32" | "F16" | "BF16" | "I64" | "I32";
const WIDTH: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  /** Float32Array for F32/F16/BF16, Int32Array for I32/I64. */
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

/** Parses safetensors bytes. `source` names the file in error messages. */
export function parseSafetensors(bytes: Uint8Array, source = "safetensors"): SafetensorsFile {
  if (bytes.length < 8)
    fail(`file is ${bytes.length} bytes, shorter than the 8-byte header length`, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > bytes.length - 8)
    fail(`header length ${n} runs past the end of the ${bytes.length}-byte file`, source);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message})`, source);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header))
    fail("header is not a JSON object", source);
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
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
        "use F32, F16, BF16, I64 or I32",
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
    spans.push([begin, end, name]);
    tensors.set(name, {
      dtype,
      shape,
      data: decode(bytes, dataStart + begin, count, dtype, where),
    });
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cursor = 0;
  for (const [begin, end, name] of spans) {
    if (begin < cursor) fail(`tensor '${name}' overlaps the one before it`, source);
    if (begin > cursor)
      fail(`${begin - cursor} bytes before tensor '${name}' belong to no tensor`, source);
    cursor = end;
  }
  if (cursor !== dataLen)
    fail(`${dataLen - cursor} bytes after the last tensor belong to no tensor`, source);
  return { tensors, metadata };
}

function decode(
  bytes: Uint8Array,
  at: number,
  count: number,
  dtype: SafeDType,
  where: string,
): Float32Array | Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, count * WIDTH[dtype]);
  switch (dtype) {
    case "F32": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return out;
    }
    case "BF16": {
      const out = new Float32Array(count);
      const tmp = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        tmp.setUint32(0, view.getUint16(i * 2, true) << 16);
        out[i] = tmp.getFloat32(0);
      }
      return out;
    }
    case "I32": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case "I64": {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v < -2147483648n || v > 2147483647n)
          fail(`I64 value ${v} at element ${i} does not fit in int32`, where);
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
   * and BF16 narrow float32 with round-to-nearest-even (half the size, for sharing weights).
   */
  dtype?: SafeDType;
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
    const dtype = t.dtype ?? (t.data instanceof Float32Array ? "F32" : "I32");
    const count = t.shape.reduce((p, d) => p * d, 1);
    if (count !== t.data.length) {
      throw new MaskwiseError(
        `tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(", ")}]`,
        { code: "E_SHAPE", where: "serializeSafetensors" },
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
  for (const [, t] of list) {
    const dtype = t.dtype ?? (t.data instanceof Float32Array ? "F32" : "I32");
    for (let i = 0; i < t.data.length; i++) {
      if (dtype === "F32") view.setFloat32(at + i * 4, t.data[i], true);
      else if (dtype === "I32") view.setInt32(at + i * 4, t.data[i], true);
      else if (dtype === "I64") view.setBigInt64(at + i * 8, BigInt(t.data[i]), true);
      else if (dtype === "F16") view.setUint16(at + i * 2, floatToHalf(t.data[i]), true);
      else view.setUint16(at + i * 2, floatToBfloat16(t.data[i]), true);
    }
    at += t.data.length * WIDTH[dtype];
  }
  return out;
}
