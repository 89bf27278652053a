// Random access to the bytes of a file that may be too large to hold at once (Node cannot read a
// file over 2 GiB into one buffer, and a checkpoint shard is often larger). Readers of zip
// archives and safetensors ask for the ranges they need; src/node/file-source.ts serves them from
// an open file, `memorySource` from bytes already in memory (a browser's File contents, tests).

export interface ByteSource {
  /** Total length in bytes. */
  readonly length: number;
  /**
   * `length` bytes from `offset`. The caller has checked the range against `length`; the result
   * may share memory with the source, so callers copy what they keep.
   */
  read(offset: number, length: number): Uint8Array;
}

export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    length: bytes.length,
    read: (offset, length) => bytes.subarray(offset, offset + length),
  };
}
