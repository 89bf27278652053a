// 2,000 seeded mutations of a real torch.save checkpoint (byte changes, truncations, inserted
// bytes), aimed half at the pickle program and half anywhere in the file: every one ends in a
// MaskwiseError or a valid state dict, never another exception, a hang or a huge allocation.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseTorchStateDict } from "../../src/io/torch-bin.js";
import { openZip } from "../../src/io/zip-archive.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { Rng } from "../../src/util/rng.js";
import { makeZip } from "./torch-zip.js";

const file = join(import.meta.dirname, "..", "fixtures", "bin", "views.bin");

test("mutated, truncated and padded .bin files end in a MaskwiseError or parse", () => {
  const base = new Uint8Array(readFileSync(file));
  // The pickle is the first entry: its bytes follow the 30-byte local header and the name.
  const nameLen = base[26] | (base[27] << 8);
  const extraLen = base[28] | (base[29] << 8);
  const pklStart = 30 + nameLen + extraLen;
  const pklLen = base[18] | (base[19] << 8) | (base[20] << 16);
  const rng = new Rng(24);
  const trials = 2000;
  let errors = 0;
  let parsed = 0;
  let slowest = 0;
  const codes: Record<string, number> = {};
  for (let trial = 0; trial < trials; trial++) {
    let bytes = base.slice();
    const pick = () => (rng.int(2) === 0 ? pklStart + rng.int(pklLen) : rng.int(bytes.length));
    switch (trial % 4) {
      case 0:
        bytes = bytes.subarray(0, rng.int(bytes.length));
        break;
      case 1:
        for (let f = 1 + rng.int(4); f > 0; f--) bytes[pick()] = rng.int(256);
        break;
      case 2: {
        // Small integers are the pickle's lengths, counts and memo keys: push them to extremes.
        const at = pick();
        bytes[at] = [0, 1, 0x7f, 0x80, 0xff, 0x28, 0x2e, 0x52, 0x62][rng.int(9)];
        break;
      }
      default: {
        const at = pick();
        const n = 1 + rng.int(8);
        const extra = Uint8Array.from({ length: n }, () => rng.int(256));
        const grown = new Uint8Array(bytes.length + n);
        grown.set(bytes.subarray(0, at));
        grown.set(extra, at);
        grown.set(bytes.subarray(at), at + n);
        bytes = grown;
      }
    }
    const t0 = performance.now();
    try {
      const tensors = parseTorchStateDict(bytes, "fuzz.bin");
      let elements = 0;
      for (const t of tensors.values()) elements += t.data.length;
      assert.ok(elements <= 16 * bytes.length + (1 << 20), `trial ${trial}: ${elements} elements`);
      parsed++;
    } catch (e) {
      assert.ok(
        e instanceof MaskwiseError,
        `trial ${trial}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`,
      );
      codes[(e as MaskwiseError).code] = (codes[(e as MaskwiseError).code] ?? 0) + 1;
      errors++;
    }
    slowest = Math.max(slowest, performance.now() - t0);
  }
  assert.equal(errors + parsed, trials);
  assert.ok(errors > trials / 3, `only ${errors} of ${trials} mutations were rejected`);
  assert.ok(
    (codes.E_PICKLE ?? 0) > trials / 10,
    `the pickle reader saw few mutations: ${JSON.stringify(codes)}`,
  );
  assert.ok(parsed > 0, "some mutations (in tensor data) still parse");
  assert.ok(slowest < 2000, `the slowest file took ${slowest.toFixed(0)} ms`);
});

test("mutations of a ZIP64 archive's directory and end records end in a MaskwiseError or parse", () => {
  const base = new Uint8Array(readFileSync(file));
  const zip = openZip(base, "views.bin");
  const z64 = makeZip(
    [...zip.entries.keys()].map((n): [string, Uint8Array] => [n, zip.read(n)]),
    false,
    true,
  );
  const rng = new Rng(64);
  // The central directory, the ZIP64 end record, its locator and the end record: the last bytes.
  const tail = Math.min(z64.length, 1200);
  let errors = 0;
  for (let trial = 0; trial < 500; trial++) {
    const bytes = z64.slice();
    for (let f = 1 + rng.int(3); f > 0; f--) {
      const at = z64.length - 1 - rng.int(tail);
      bytes[at] = [0, 0xff, 0x7f, rng.int(256)][rng.int(4)];
    }
    try {
      parseTorchStateDict(bytes, "fuzz64.bin");
    } catch (e) {
      assert.ok(e instanceof MaskwiseError, `trial ${trial}: ${(e as Error)?.message}`);
      errors++;
    }
  }
  assert.ok(errors > 100, `only ${errors} of 500 were rejected`);
});
