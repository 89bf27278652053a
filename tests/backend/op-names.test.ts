// The element-wise ops are looked up by name across the seam: the addon's list
// (native/kernels.h) must be exactly src/tensor/backend.ts's, and each name must reach the op of
// that name (checked against the reference on one value per op).
import assert from "node:assert/strict";
import { test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import { BINARY_OPS, UNARY_OPS } from "../../src/tensor/backend.js";

const loaded = loadNativeAddon();
const required = process.env.MASKWISE_REQUIRE_NATIVE === "1" || process.env.CI === "true";
const skip = "error" in loaded && !required ? `native addon not loaded: ${loaded.error}` : false;

test("the addon knows the element-wise ops by backend.ts's names, and each is that op", {
  skip,
}, () => {
  if ("error" in loaded) throw new Error(loaded.error);
  const ops = loaded.addon.elementwiseOps();
  assert.deepEqual([...ops.unary].sort(), [...UNARY_OPS].sort());
  assert.deepEqual([...ops.binary].sort(), [...BINARY_OPS].sort());
  const nat = new NativeBackend(loaded.addon);
  const ref = new ReferenceBackend();
  // Values where every pair of unary ops differs (so a name wired to another op shows).
  const x = Float32Array.of(0.37, 1.9);
  for (const op of UNARY_OPS) {
    const a = new Float32Array(2);
    const b = new Float32Array(2);
    ref.unary(op, x, a, 2);
    nat.unary(op, x, b, 2);
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${op}: ${a} vs ${b}`);
  }
  for (const op of BINARY_OPS) {
    const a = new Float32Array(1);
    const b = new Float32Array(1);
    ref.binary(op, Float32Array.of(3), [0], Float32Array.of(1.5), [0], a, [1]);
    nat.binary(op, Float32Array.of(3), [0], Float32Array.of(1.5), [0], b, [1]);
    assert.ok(Math.abs(a[0] - b[0]) < 1e-6, `${op}: ${a[0]} vs ${b[0]}`);
  }
});
