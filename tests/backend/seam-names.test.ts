// Names across the seam to the addon. The element-wise ops are looked up by name: the addon's
// list (native/kernels.h) must be exactly src/tensor/backend.ts's, and each name must reach the op
// of that name (checked against the reference on one value per op). Every kernel reads its
// fields by name in the order native.ts declares once (FIELD_ORDERS): the addon accepts exactly
// those names (native/fields.h), an order that lacks or adds one is refused naming it, every
// order names every field of its interface of backend.ts, and a different order still reads
// every field right.
import assert from "node:assert/strict";
import { test } from "node:test";
import { attentionArgs } from "../../src/attention/fused.js";
import { causal } from "../../src/attention/masks.js";
import {
  ATTENTION_FIELDS,
  FIELD_ORDERS,
  type FieldArgs,
  type FieldGroup,
  NativeBackend,
} from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon, type NativeAddon } from "../../src/node/native-addon.js";
import { BINARY_OPS, dropThreshold, UNARY_OPS } from "../../src/tensor/backend.js";
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
    ref.unary({ op, x, out: a, n: 2 });
    nat.unary({ op, x, out: b, n: 2 });
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${op}: ${a} vs ${b}`);
  }
  for (const op of BINARY_OPS) {
    const a = new Float32Array(1);
    const b = new Float32Array(1);
    ref.binary({
      op,
      a: Float32Array.of(3),
      aStrides: [0],
      b: Float32Array.of(1.5),
      bStrides: [0],
      out: a,
      shape: [1],
    });
    nat.binary({
      op,
      a: Float32Array.of(3),
      aStrides: [0],
      b: Float32Array.of(1.5),
      bStrides: [0],
      out: b,
      shape: [1],
    });
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
    // An order without "scale", with a name the interface lacks, or with one twice is refused.
    const lacking = ATTENTION_FIELDS.filter((key) => key !== "scale");
    assert.throws(
      () => addon.fieldOrder("attention", lacking),
      /field 'scale' is missing from the order given for 'attention'/,
    );
    assert.throws(
      () => addon.fieldOrder("attention", [...lacking, "scal"]),
      /'attention' has no field 'scal'/,
    );
    assert.throws(
      () => addon.fieldOrder("attention", [...ATTENTION_FIELDS, "scale"]),
      /field 'scale' is named twice/,
    );
    assert.throws(
      () => addon.fieldOrder("atention" as FieldGroup, ATTENTION_FIELDS),
      /unknown field group 'atention'/,
    );
    // The refused orders left the reversed one in place.
    raw(...reversed.map((key) => byName[key]), out, lse);
    assert.deepEqual(out, want);
  } finally {
    addon.fieldOrder("attention", ATTENTION_FIELDS);
  }
  assert.deepEqual(run(), want);
});

/** Valid arguments of every kernel that takes one group's fields and nothing else. */
type Kernel = Exclude<FieldGroup, "attention">;
const samples = (): { [G in Kernel]: Required<FieldArgs<G>> } => {
  // Fixed values with no two neighbours equal, so a field read from another's place shows.
  const f = (n: number) => Float32Array.from({ length: n }, (_, i) => ((i * 7) % 5) / 5 - 0.3);
  const ids = () => Int32Array.of(1, 0, 1);
  return {
    gemm: {
      batch: 1,
      m: 2,
      n: 3,
      k: 4,
      transA: false,
      transB: true,
      alpha: 1,
      beta: 0.5,
      a: f(8),
      aOffset: 0,
      lda: 4,
      strideA: 0,
      b: f(12),
      bOffset: 0,
      ldb: 4,
      strideB: 0,
      c: f(6),
      cOffset: 0,
      ldc: 3,
      strideC: 0,
      bf16: false,
      bias: f(3),
      relu: true,
      rowSums: f(2),
    },
    unary: { op: "tanh", x: f(5), out: f(5), n: 5 },
    unaryBackward: { op: "tanh", x: f(5), y: f(5), dy: f(5), dx: f(5), n: 5, accumulate: true },
    swiglu: { gate: f(5), up: f(5), out: f(5), n: 5 },
    swigluBackward: {
      gate: f(5),
      up: f(5),
      dy: f(5),
      dgate: f(5),
      dup: f(5),
      n: 5,
      accumulateGate: false,
      accumulateUp: true,
    },
    binary: {
      op: "sub",
      a: f(6),
      aStrides: [3, 1],
      b: f(3),
      bStrides: [0, 1],
      out: f(6),
      shape: [2, 3],
    },
    reduce: { op: "max", x: f(6), out: f(2), outer: 2, dim: 3, inner: 1 },
    reduceMaxBackward: { x: f(6), y: f(2), dy: f(2), dx: f(6), outer: 2, dim: 3, inner: 1 },
    permute: { x: f(6), out: f(6), shape: [2, 3], perm: [1, 0] },
    softmax: { x: f(6), out: f(6), rows: 2, cols: 3, log: true },
    softmaxBackward: {
      y: f(6),
      dy: f(6),
      dx: f(6),
      rows: 2,
      cols: 3,
      log: false,
      accumulate: false,
    },
    layerNorm: {
      x: f(6),
      gamma: f(3),
      beta: f(3),
      out: f(6),
      mean: f(2),
      rstd: f(2),
      rows: 2,
      cols: 3,
      eps: 1e-5,
      rms: false,
    },
    layerNormBackward: {
      x: f(6),
      gamma: f(3),
      mean: f(2),
      rstd: f(2),
      dy: f(6),
      dx: f(6),
      dgamma: f(3),
      dbeta: f(3),
      rows: 2,
      cols: 3,
      accumulate: true,
      rms: false,
    },
    crossEntropy: {
      logits: f(6),
      targets: Int32Array.of(2, -100),
      loss: f(2),
      lse: f(2),
      rows: 2,
      V: 3,
      ignoreIndex: -100,
      smoothing: 0.1,
    },
    crossEntropyBackward: {
      logits: f(6),
      targets: Int32Array.of(2, -100),
      lse: f(2),
      dloss: f(2),
      dlogits: f(6),
      rows: 2,
      V: 3,
      ignoreIndex: -100,
      smoothing: 0.1,
      accumulate: false,
      vocabOffset: 0,
      vocab: 3,
    },
    gather: {
      table: f(6),
      ids: ids(),
      out: f(6),
      rows: 3,
      cols: 2,
      numRows: 3,
      zeroMissing: false,
    },
    scatterAdd: { dout: f(6), ids: ids(), dtable: f(6), rows: 3, cols: 2, numRows: 3 },
    adamw: {
      p: f(4),
      g: f(4),
      m: f(4),
      v: Float32Array.of(0.1, 0.2, 0.3, 0.4),
      n: 4,
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.1,
      step: 3,
    },
    dropoutMask: { out: f(8), n: 8, seed: 7, threshold: dropThreshold(0.5), keep: 2 },
    decodeAttention: {
      R: 1,
      H: 1,
      Dh: 2,
      q: f(2),
      k: f(4),
      v: f(4),
      P: 1,
      capacity: 2,
      length: 2,
      rows: Int32Array.of(0),
      keep: null,
      keepStride: 0,
      slots: null,
      slotStride: 0,
      scale: 1,
      out: f(2),
      bias: f(2),
      biasOffset: 0,
      biasHeadStride: 0,
      kvHeads: 1,
    },
    gemmBf16: {
      m: 2,
      n: 3,
      k: 4,
      a: f(8),
      w: Uint16Array.from({ length: 12 }, (_, i) => 0x3f80 + i),
      c: f(6),
    },
    gemmBf16Weight: {
      m: 2,
      n: 3,
      k: 4,
      a: f(8),
      w: Uint16Array.from({ length: 12 }, (_, i) => 0x3f80 + i),
      transW: true,
      c: f(6),
      beta: 1,
      bf16: false,
    },
    gemmInt8: {
      m: 2,
      n: 3,
      k: 4,
      a: f(8),
      w: Int8Array.from({ length: 12 }, (_, i) => i - 6),
      scales: f(3),
      sums: Int32Array.from({ length: 3 }, (_, i) => 4 * i - 6),
      c: f(6),
      packed: null,
      beta: 0,
      bias: f(3),
      relu: true,
    },
    decodeLogSoftmax: { x: f(6), rows: 2, cols: 3 },
    decodeTopKGroups: {
      lp: f(6),
      V: 3,
      rows: Int32Array.of(1, 0),
      base: Float64Array.of(0, -1),
      offsets: Int32Array.of(0, 1, 2),
      M: 2,
      hyp: new Int32Array(4),
      token: new Int32Array(4),
      score: new Float64Array(4),
      counts: new Int32Array(2),
    },
    cacheWrite: {
      B: 2,
      T: 1,
      H: 2,
      Dh: 3,
      k: f(14),
      kOffset: 1,
      v: f(15),
      vOffset: 2,
      srcStride: 7,
      kCache: f(36),
      vCache: f(36),
      capacity: 3,
      t0: 1,
    },
  };
};

test("the field orders name every field of every kernel's interface once", () => {
  // Each sample is typed Required<its interface> (so it has every field, the optional ones
  // included, and no other): its keys are the interface's fields.
  const rng = new Rng(4);
  const q = randomTensor([1, 1, 2, 2], rng);
  // attentionArgs fills every field, the optional bias and slot ones included.
  const attention = attentionArgs(q, q, q, causal(), { bias: randomTensor([1, 2, 2], rng) });
  const keys: Record<string, string[]> = { attention: Object.keys(attention) };
  for (const [group, args] of Object.entries(samples())) keys[group] = Object.keys(args);
  assert.deepEqual(Object.keys(FIELD_ORDERS).sort(), Object.keys(keys).sort());
  for (const [group, names] of Object.entries(FIELD_ORDERS)) {
    assert.equal(new Set(names).size, names.length, `${group}: a name twice`);
    assert.deepEqual([...names].sort(), keys[group].sort(), group);
  }
});

test("the addon accepts exactly the field names native.ts declares", { skip }, () => {
  if ("error" in loaded) throw new Error(loaded.error);
  const accepted = loaded.addon.fieldNames();
  assert.deepEqual(Object.keys(accepted).sort(), Object.keys(FIELD_ORDERS).sort());
  for (const [group, names] of Object.entries(FIELD_ORDERS))
    assert.deepEqual([...accepted[group]].sort(), [...names].sort(), group);
});

test("every kernel reads its fields by name, in whatever order native.ts declares", {
  skip,
}, () => {
  if ("error" in loaded) throw new Error(loaded.error);
  const addon = loaded.addon;
  const nat = new NativeBackend(addon) as unknown as Record<Kernel, (a: object) => unknown>;
  const raw = addon as unknown as Record<Kernel, (...x: unknown[]) => unknown>;
  const want = samples();
  const got = samples();
  for (const group of Object.keys(want) as Kernel[]) {
    const reversed = [...FIELD_ORDERS[group]].reverse();
    const args = got[group] as unknown as Record<string, unknown>;
    const result = nat[group](want[group]);
    try {
      addon.fieldOrder(group, reversed);
      assert.equal(raw[group](...reversed.map((key) => args[key])), result, group);
    } finally {
      addon.fieldOrder(group, FIELD_ORDERS[group]);
    }
    // Every array, outputs included, as the declared order left it.
    assert.deepEqual(got[group], want[group], group);
  }
});

test("each NativeBackend method passes its fields in the order FIELD_ORDERS declares", () => {
  // A stand-in addon records each call; every field holds a marker naming it.
  const calls: Record<string, unknown[]> = {};
  const record =
    (name: string) =>
    (...args: unknown[]) => {
      calls[name] = args;
    };
  const recorder = new Proxy({}, { get: (_target, name) => record(String(name)) });
  const nat = new NativeBackend(recorder as NativeAddon) as unknown as Record<
    string,
    (...a: unknown[]) => unknown
  >;
  const markers = (group: FieldGroup) =>
    Object.fromEntries(FIELD_ORDERS[group].map((key) => [key, `<${key}>`]));
  const want = (group: FieldGroup) => FIELD_ORDERS[group].map((key) => `<${key}>`);
  for (const group of Object.keys(FIELD_ORDERS) as FieldGroup[]) {
    if (group === "attention") continue;
    nat[group](markers(group));
    // gemm passes a held packed weight after its fields (undefined when none is held).
    const extra = group === "gemm" ? [undefined] : [];
    assert.deepEqual(calls[group], [...want(group), ...extra], group);
  }
  const outs = ["out", "lse", "dout", "dq", "dk", "dv", "dbias"];
  nat.attentionForward(markers("attention"), ...outs.slice(0, 2));
  assert.deepEqual(calls.attentionForward, [...want("attention"), ...outs.slice(0, 2)]);
  nat.attentionBackward(markers("attention"), ...outs, false);
  assert.deepEqual(calls.attentionBackward, [...want("attention"), ...outs, false]);
});
