// Thousands of mutated and truncated safetensors files: every one either parses (a mutation in the
// data bytes is still a valid file) or ends in a MaskwiseError; none crashes, hangs, or throws
// anything else.
import assert from "node:assert/strict";
import { test } from "node:test";
import { memorySource } from "../../src/io/byte-source.js";
import {
  parseSafetensors,
  readSafetensors,
  type SafetensorsFile,
  serializeSafetensors,
} from "../../src/io/safetensors.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { Rng } from "../../src/util/rng.js";

test("mutated and truncated files end in a MaskwiseError or parse", () => {
  const rng = new Rng(2024);
  const base = serializeSafetensors(
    [
      ["a.weight", { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i * 0.5) }],
      ["a.bias", { shape: [4], data: Float32Array.of(1, 2, 3, 4) }],
      ["ids", { shape: [2, 2], data: Int32Array.of(1, 2, 3, 4), dtype: "I64" }],
    ],
    { format: "pt" },
  );
  const headerEnd = 8 + Number(new DataView(base.buffer).getBigUint64(0, true));
  let errors = 0;
  let parsed = 0;
  const trials = 4000;
  for (let trial = 0; trial < trials; trial++) {
    let bytes = base.slice();
    const kind = trial % 4;
    if (kind === 0) {
      bytes = bytes.subarray(0, rng.int(bytes.length));
    } else if (kind === 1) {
      const flips = 1 + rng.int(4);
      for (let f = 0; f < flips; f++) bytes[rng.int(headerEnd)] = rng.int(256);
    } else if (kind === 2) {
      // Change a digit or a character of the JSON header.
      const pos = 8 + rng.int(headerEnd - 8);
      bytes[pos] = '0123456789[]{},:"-.e '.charCodeAt(rng.int(21));
    } else {
      const view = new DataView(bytes.buffer);
      const choices = [
        0n,
        1n,
        BigInt(headerEnd),
        BigInt(bytes.length),
        2n ** 63n - 1n,
        BigInt(rng.int(1000)),
      ];
      view.setBigUint64(0, choices[rng.int(choices.length)], true);
    }
    // Reading through a ByteSource must agree: the same tensors, or an error too.
    let streamed: SafetensorsFile | MaskwiseError;
    try {
      streamed = readSafetensors(memorySource(bytes), "fuzz.safetensors");
    } catch (e) {
      assert.ok(e instanceof MaskwiseError, `trial ${trial} (source): ${(e as Error)?.message}`);
      streamed = e;
    }
    try {
      const f = parseSafetensors(bytes, "fuzz.safetensors");
      assert.ok(
        !(streamed instanceof MaskwiseError),
        `trial ${trial}: only the source read failed`,
      );
      assert.deepEqual(streamed, f);
      parsed++;
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.ok(streamed instanceof MaskwiseError, `trial ${trial}: only the source read parsed`);
      assert.ok(
        e instanceof MaskwiseError,
        `trial ${trial}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`,
      );
      errors++;
    }
  }
  assert.equal(errors + parsed, trials);
  assert.ok(errors > trials / 2, `only ${errors} of ${trials} mutations were rejected`);
});
