import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.js";

const shared = join(import.meta.dirname, "..", "..", "..", "shared");

test("round trip of F32, I32 and I64 with metadata", () => {
  const bytes = serializeSafetensors(
    [
      ["w", { shape: [2, 3], data: Float32Array.of(1, -2, 3.5, 0, 1e-8, -0) }],
      ["ids", { shape: [2], data: Int32Array.of(-7, 2147483647) }],
      ["long", { shape: [1, 2], data: Int32Array.of(-1, 5), dtype: "I64" }],
      ["empty", { shape: [0, 4], data: new Float32Array(0) }],
    ],
    { format: "pt" },
  );
  assert.equal(new DataView(bytes.buffer).getBigUint64(0, true) % 8n, 0n);
  const f = parseSafetensors(bytes);
  assert.deepEqual(f.metadata, { format: "pt" });
  assert.deepEqual(Array.from(f.tensors.get("w")?.data ?? []), [
    1,
    -2,
    3.5,
    0,
    Math.fround(1e-8),
    -0,
  ]);
  assert.deepEqual(f.tensors.get("ids")?.data, Int32Array.of(-7, 2147483647));
  assert.equal(f.tensors.get("long")?.dtype, "I64");
  assert.deepEqual(f.tensors.get("long")?.data, Int32Array.of(-1, 5));
  assert.deepEqual(f.tensors.get("empty")?.shape, [0, 4]);
});

test("F16 and BF16 widen to float32", () => {
  const header = JSON.stringify({
    h: { dtype: "F16", shape: [4], data_offsets: [0, 8] },
    b: { dtype: "BF16", shape: [2], data_offsets: [8, 12] },
  });
  const hb = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + hb.length + 12);
  const v = new DataView(bytes.buffer);
  v.setBigUint64(0, BigInt(hb.length), true);
  bytes.set(hb, 8);
  const d = 8 + hb.length;
  // 1, -2, 65504, 2^-24 in F16; 1, -5 in BF16
  for (const [i, h] of [0x3c00, 0xc000, 0x7bff, 0x0001].entries()) v.setUint16(d + i * 2, h, true);
  for (const [i, h] of [0x3f80, 0xc0a0].entries()) v.setUint16(d + 8 + i * 2, h, true);
  const f = parseSafetensors(bytes);
  assert.deepEqual(Array.from(f.tensors.get("h")?.data ?? []), [1, -2, 65504, 2 ** -24]);
  assert.deepEqual(Array.from(f.tensors.get("b")?.data ?? []), [1, -5]);
});

test("invalid files are rejected with the reason", () => {
  const good = serializeSafetensors([["x", { shape: [2], data: Float32Array.of(1, 2) }]]);
  assert.throws(
    () => parseSafetensors(good.subarray(0, 5), "a.safetensors"),
    /shorter than the 8-byte header/,
  );
  const long = good.slice();
  new DataView(long.buffer).setBigUint64(0, 1n << 40n, true);
  assert.throws(() => parseSafetensors(long), /runs past the end/);
  assert.throws(() => parseSafetensors(good.subarray(0, good.length - 1)), /fall outside/);
  const extra = new Uint8Array(good.length + 4);
  extra.set(good);
  assert.throws(() => parseSafetensors(extra), /after the last tensor/);
  const make = (h: object, dataBytes: number) => {
    const hb = new TextEncoder().encode(JSON.stringify(h));
    const b = new Uint8Array(8 + hb.length + dataBytes);
    new DataView(b.buffer).setBigUint64(0, BigInt(hb.length), true);
    b.set(hb, 8);
    return b;
  };
  assert.throws(
    () => parseSafetensors(make({ x: { dtype: "F8_E4M3", shape: [1], data_offsets: [0, 1] } }, 1)),
    /dtype "F8_E4M3" is not supported/,
  );
  assert.throws(
    () => parseSafetensors(make({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, 8)),
    /8 bytes for shape \[3\] of F32/,
  );
  assert.throws(
    () =>
      parseSafetensors(
        make(
          {
            x: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            y: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
          },
          8,
        ),
      ),
    /overlaps/,
  );
});

test("reads the PyTorch-written reference fixtures", (t) => {
  const file = join(shared, "ref", "attention", "self_causal_padding.safetensors");
  if (!existsSync(file)) {
    t.skip(`${file} is absent`);
    return;
  }
  const f = parseSafetensors(readFileSync(file), file);
  assert.deepEqual(f.tensors.get("q")?.shape, [2, 2, 6, 8]);
  assert.deepEqual(f.tensors.get("attend")?.shape, [2, 6, 6]);
});

test("F16 and BF16 written with round-to-nearest-even read back as the nearest values", () => {
  const values = [0, -0, 1, -2.5, 65504, 70000, 1e-8, 6.1e-5, 3.3, -1e-3, Number.POSITIVE_INFINITY];
  const bytes = serializeSafetensors([
    ["h", { shape: [values.length], data: Float32Array.from(values), dtype: "F16" }],
    ["b", { shape: [values.length], data: Float32Array.from(values), dtype: "BF16" }],
  ]);
  const f = parseSafetensors(bytes);
  const h = Array.from(f.tensors.get("h")?.data ?? []);
  const b = Array.from(f.tensors.get("b")?.data ?? []);
  assert.deepEqual(h.slice(0, 5), [0, -0, 1, -2.5, 65504]);
  assert.equal(h[5], Number.POSITIVE_INFINITY, "beyond the half range");
  assert.equal(h[6], 0, "below the smallest subnormal");
  assert.ok(Math.abs(h[7] - 6.1e-5) < 2 ** -24);
  assert.ok(Math.abs(h[8] - 3.3) <= 2 ** -9);
  assert.ok(Math.abs(b[8] - 3.3) <= 2 ** -6);
  assert.ok(Math.abs(b[4] - 65504) <= 256);
  assert.equal(b[10], Number.POSITIVE_INFINITY);
});

test("half rounding ties go to the even neighbour", () => {
  const ties = [1 + 2 ** -11, 1 + 3 * 2 ** -11];
  const f = parseSafetensors(
    serializeSafetensors([["h", { shape: [2], data: Float32Array.from(ties), dtype: "F16" }]]),
  );
  assert.deepEqual(Array.from(f.tensors.get("h")?.data ?? []), [1, 1 + 2 ** -9]);
});

test("F64 narrows to float32 and the narrow integer dtypes widen to int32, keeping the stored dtype", () => {
  const header = JSON.stringify({
    d: { dtype: "F64", shape: [2], data_offsets: [0, 16] },
    s: { dtype: "I16", shape: [2], data_offsets: [16, 20] },
    c: { dtype: "I8", shape: [2], data_offsets: [20, 22] },
    u: { dtype: "U8", shape: [2], data_offsets: [22, 24] },
    b: { dtype: "BOOL", shape: [3], data_offsets: [24, 27] },
  });
  const hb = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + hb.length + 27);
  const v = new DataView(bytes.buffer);
  v.setBigUint64(0, BigInt(hb.length), true);
  bytes.set(hb, 8);
  const d = 8 + hb.length;
  v.setFloat64(d, 0.1, true);
  v.setFloat64(d + 8, -1e300, true);
  v.setInt16(d + 16, -300, true);
  v.setInt16(d + 18, 32767, true);
  v.setInt8(d + 20, -128);
  v.setInt8(d + 21, 5);
  v.setUint8(d + 22, 255);
  v.setUint8(d + 23, 0);
  bytes.set([1, 0, 7], d + 24);
  const f = parseSafetensors(bytes).tensors;
  assert.deepEqual(
    [...f.values()].map((t) => t.dtype),
    ["F64", "I16", "I8", "U8", "BOOL"],
  );
  assert.deepEqual(Array.from(f.get("d")?.data ?? []), [
    Math.fround(0.1),
    Number.NEGATIVE_INFINITY,
  ]);
  assert.ok(f.get("d")?.data instanceof Float32Array);
  assert.deepEqual(f.get("s")?.data, Int32Array.of(-300, 32767));
  assert.deepEqual(f.get("c")?.data, Int32Array.of(-128, 5));
  assert.deepEqual(f.get("u")?.data, Int32Array.of(255, 0));
  assert.deepEqual(f.get("b")?.data, Int32Array.of(1, 0, 1), "torch reads a nonzero byte as true");
  // Written back in the dtypes they were read in, the same bytes come out (F64 only where the
  // value is a float32).
  const again = serializeSafetensors([...f].filter(([n]) => n !== "d" && n !== "b"));
  const back = parseSafetensors(again).tensors;
  assert.deepEqual(back.get("s")?.data, Int32Array.of(-300, 32767));
  assert.equal(back.get("c")?.dtype, "I8");
  assert.throws(
    () => serializeSafetensors([["x", { shape: [1], data: Int32Array.of(300), dtype: "I8" }]]),
    /outside the range of I8/,
  );
  assert.throws(
    () => serializeSafetensors([["x", { shape: [1], data: Float32Array.of(1), dtype: "I32" }]]),
    /cannot be stored as I32/,
  );
});
