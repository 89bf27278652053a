// Reading through a ByteSource: safetensors and .bin files are read range by range (each tensor
// or storage once, never the whole file in one piece), with the same result as from memory.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type ByteSource, memorySource } from "../../src/io/byte-source.js";
import { parseSafetensors, readSafetensors } from "../../src/io/safetensors.js";
import { parseTorchStateDict } from "../../src/io/torch-bin.js";

const root = join(import.meta.dirname, "..", "..");

/** A source that records every range read. */
function counting(bytes: Uint8Array) {
  const reads: [number, number][] = [];
  const inner = memorySource(bytes);
  const src: ByteSource = {
    length: bytes.length,
    read(offset, length) {
      reads.push([offset, length]);
      return inner.read(offset, length).slice();
    },
  };
  return { src, reads };
}

test("safetensors through a source: the header, then each tensor's bytes once, equal to parsing", () => {
  const file = new Uint8Array(
    readFileSync(join(root, "..", "shared", "ref", "hf", "bart", "model.safetensors")),
  );
  const { src, reads } = counting(file);
  const got = readSafetensors(src, "bart");
  const want = parseSafetensors(file, "bart");
  assert.deepEqual(got.metadata, want.metadata);
  assert.deepEqual([...got.tensors.keys()], [...want.tensors.keys()]);
  for (const [n, t] of want.tensors) assert.deepEqual(got.tensors.get(n), t, n);
  const header = 8 + Number(new DataView(file.buffer).getBigUint64(0, true));
  const tensorReads = reads.filter(([o]) => o >= header);
  assert.equal(tensorReads.length, want.tensors.size);
  assert.equal(
    tensorReads.reduce((s, [, n]) => s + n, 0),
    file.length - header,
    "every data byte read once",
  );
  assert.ok(Math.max(...reads.map(([, n]) => n)) < file.length / 4, "no read of the whole file");
});

test("a .bin through a source: directory, pickle and each storage, equal to reading from memory", () => {
  const file = new Uint8Array(readFileSync(join(root, "tests", "fixtures", "bin", "bart_f16.bin")));
  const { src, reads } = counting(file);
  const got = parseTorchStateDict(src, "bart_f16.bin");
  const want = parseTorchStateDict(file, "bart_f16.bin");
  assert.deepEqual([...got.keys()], [...want.keys()]);
  for (const [n, t] of want) assert.deepEqual(got.get(n), t, n);
  // One read is the archive's tail (up to 64 KiB, where the directory's end record may be);
  // apart from it, no read comes near the file's size.
  const tail = reads.filter(([o, n]) => o + n === file.length);
  assert.equal(tail.length, 1);
  assert.ok(tail[0][1] <= 22 + 65535);
  const others = reads.filter((r) => r !== tail[0]);
  assert.ok(Math.max(...others.map(([, n]) => n)) < file.length / 2, "no read of half the file");
  // Tied names share a storage: it is read once, not once per name (nothing is read twice).
  const large = others.filter(([, n]) => n > 30).map(([o, n]) => `${o}+${n}`);
  assert.equal(new Set(large).size, large.length);
});
