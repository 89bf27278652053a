// Writing safetensors the way Hugging Face's `safetensors` library (and so `save_pretrained`)
// writes them, so a file read and written back is byte for byte the file it was:
//   - tensors sorted by dtype, widest first in the library's own dtype order (U64, I64, F64, F32,
//     U32, I32, BF16, F16, U16, I16, I8, U8, BOOL), then by name compared as UTF-8 bytes;
//   - the data laid out in that order, and the header's keys in that order after "__metadata__";
//   - compact JSON, padded with spaces to a multiple of 8 bytes (serializeSafetensors does this).
// transformers' save_pretrained passes `{"format": "pt"}` as metadata.
import { type SafeDType, serializeSafetensors, type TensorToWrite } from "./safetensors.js";

// The position of each dtype in the library's dtype enum; the file puts higher ranks first.
const RANK: Record<SafeDType, number> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 3,
  F16: 5,
  BF16: 6,
  I32: 7,
  F32: 9,
  F64: 10,
  I64: 11,
};

const utf8 = new TextEncoder();

/** Compares two names as their UTF-8 bytes (Rust's string order), not as UTF-16 code units. */
export function compareUtf8(a: string, b: string): number {
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** The tensors in the order Hugging Face's writer lays them out. */
export function hfTensorOrder<T extends TensorToWrite>(
  tensors: Iterable<[string, T]>,
): [string, T][] {
  const dtype = (t: TensorToWrite): SafeDType =>
    t.dtype ?? (t.data instanceof Float32Array ? "F32" : "I32");
  return [...tensors].sort(
    ([an, a], [bn, b]) => RANK[dtype(b)] - RANK[dtype(a)] || compareUtf8(an, bn),
  );
}

/**
 * safetensors bytes as `save_pretrained` writes them: HF's tensor order and `{"format": "pt"}`
 * metadata unless other metadata is given. Each tensor is stored in its `dtype` (a tensor read
 * from a file keeps the dtype it was read from).
 */
export function serializeSafetensorsLikeHf(
  tensors: Iterable<[string, TensorToWrite]>,
  metadata: Record<string, string> = { format: "pt" },
): Uint8Array {
  return serializeSafetensors(hfTensorOrder(tensors), metadata);
}
