// Names across the seam to the addon. The element-wise ops are looked up by name: the addon's
// list (native/kernels.h) must be exactly src/tensor/backend.ts's, and each name must reach the op
// of that name (checked against the reference on one value per op). The attention kernels read
// their fields by name in the order native.ts declares once: a field the order lacks is an error
// naming it, and a different order still reads every field right.
import assert from "node:assert/strict";
import { test } from "node:test";
import { attentionArgs } from "../../src/attention/fused.js";
import { causal } from "../../src/attention/masks.js";
import {
  ATTENTION_FIELDS,
  DECODE_ATTENTION_FIELDS,
  NativeBackend,
} from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import { BINARY_OPS, type DecodeAttentionArgs, UNARY_OPS } from "../../src/tensor/backend.js";
import { Rng } from "../../src/util/rng.js";
import { randomTensor } from "../helpers/gradcheck.js";

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

test("attention fields are read by name, in whatever order native.ts declares", { skip }, () => {
  if ("error" in loaded) throw new Error(loaded.error);
  const addon = loaded.addon;
  const nat = new NativeBackend(addon);
  const rng = new Rng(3);
  const q = randomTensor([1, 2, 5, 4], rng);
  const args = attentionArgs(q, q, q, causal(), { bias: randomTensor([2, 5, 5], rng), scale: 1 });
  const run = () => {
    const out = new Float32Array(40);
    nat.attentionForward(args, out, new Float32Array(10));
    return out;
  };
  const want = run();
  const raw = addon.attentionForward as (...x: unknown[]) => void;
  const byName = args as unknown as Record<string, unknown>;
  const out = new Float32Array(40);
  const lse = new Float32Array(10);
  try {
    // Reversed: the addon reads each field where the order puts it.
    const reversed = [...ATTENTION_FIELDS].reverse();
    addon.fieldOrder("attention", reversed);
    raw(...reversed.map((key) => byName[key]), out, lse);
    assert.deepEqual(out, want);
    // Without "scale": the first read of it names it.
    const lacking = ATTENTION_FIELDS.filter((key) => key !== "scale");
    addon.fieldOrder("attention", lacking);
    assert.throws(
      () => raw(...lacking.map((key) => byName[key]), out, lse),
      /field 'scale' is missing from the field order of 'attention'/,
    );
  } finally {
    addon.fieldOrder("attention", ATTENTION_FIELDS);
  }
  assert.deepEqual(run(), want);
});

test("the field orders name every field of AttentionArgs and DecodeAttentionArgs once", () => {
  const rng = new Rng(4);
  const q = randomTensor([1, 1, 2, 2], rng);
  // attentionArgs fills every field, the optional bias ones included.
  const attention = attentionArgs(q, q, q, causal(), { bias: randomTensor([1, 2, 2], rng) });
  assert.deepEqual([...ATTENTION_FIELDS].sort(), Object.keys(attention).sort());
  const f = new Float32Array(4);
  const decode: Required<DecodeAttentionArgs> = {
    R: 1,
    H: 1,
    Dh: 1,
    q: f,
    k: f,
    v: f,
    P: 1,
    capacity: 1,
    length: 1,
    rows: Int32Array.of(0),
    keep: null,
    keepStride: 0,
    slots: null,
    slotStride: 0,
    scale: 1,
    out: f,
    bias: null,
    biasOffset: 0,
    biasHeadStride: 0,
    kvHeads: 1,
  };
  assert.deepEqual([...DECODE_ATTENTION_FIELDS].sort(), Object.keys(decode).sort());
});
