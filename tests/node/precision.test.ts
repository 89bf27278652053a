// --precision auto|float32|bfloat16 read in one place (src/node/precision.ts): auto follows the
// probe both ways, --bf16 is --precision bfloat16, bad values are refused, and the probe times
// nothing where bfloat16 cannot be faster.
import assert from "node:assert/strict";
import { test } from "node:test";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { loadNativeAddon } from "../../src/node/native-addon.js";
import {
  AUTO_MARGIN,
  autoPrecision,
  measurePrecisions,
  type PrecisionProbe,
  precisionFlag,
  precisionFromFlags,
  resolvePrecision,
} from "../../src/node/precision.js";
import { withBackend } from "../../src/tensor/dispatch.js";
import type { MaskwiseError } from "../../src/util/errors.js";

const stub = (float32Gflops: number | null, bfloat16Gflops: number | null, note?: string) => {
  let calls = 0;
  return {
    probe: (): PrecisionProbe => {
      calls++;
      return { float32Gflops, bfloat16Gflops, ...(note ? { note } : {}) };
    },
    calls: () => calls,
  };
};

test("auto takes bfloat16 where its products are faster, float32 where they are slower", () => {
  const said: string[] = [];
  const say = (l: string) => said.push(l);
  const fast = stub(100, 190);
  assert.equal(resolvePrecision("auto", { probe: fast.probe, say }), "bfloat16");
  assert.equal(fast.calls(), 1);
  assert.match(said[0], /^precision auto: bfloat16 \(.*bfloat16 190\.0 GFLOP\/s, float32 100\.0/);
  const slow = stub(100, 60);
  assert.equal(resolvePrecision("auto", { probe: slow.probe, say }), "float32");
  assert.match(said[1], /^precision auto: float32 \(.*bfloat16 60\.0 GFLOP\/s, float32 100\.0/);
  // A gain inside the margin is noise, not a reason to round.
  assert.equal(
    autoPrecision({ float32Gflops: 100, bfloat16Gflops: 100 * AUTO_MARGIN - 1 }),
    "float32",
  );
  assert.equal(
    autoPrecision({ float32Gflops: 100, bfloat16Gflops: 100 * AUTO_MARGIN }),
    "bfloat16",
  );
  // Nothing timed (no instruction, reference backend): float32, with the reason.
  const none = stub(null, null, "this CPU has no bfloat16 dot product (AVX512_BF16)");
  assert.equal(resolvePrecision("auto", { probe: none.probe, say }), "float32");
  assert.equal(
    said[2],
    "precision auto: float32 (this CPU has no bfloat16 dot product (AVX512_BF16))",
  );
  // A precision given outright never runs the probe and says nothing.
  const unused = stub(100, 190);
  assert.equal(resolvePrecision("float32", { probe: unused.probe, say }), "float32");
  assert.equal(resolvePrecision("bfloat16", { probe: unused.probe, say }), "bfloat16");
  assert.equal(unused.calls(), 0);
  assert.equal(said.length, 3);
});

test("--bf16 is --precision bfloat16; neither flag leaves the command's default", () => {
  assert.equal(precisionFlag("train", { bf16: true }), "bfloat16");
  assert.equal(
    precisionFlag("train", { bf16: true }),
    precisionFlag("train", { precision: "bfloat16" }),
  );
  assert.equal(precisionFlag("train", { bf16: true, precision: "bfloat16" }), "bfloat16");
  assert.equal(precisionFlag("train", {}), undefined);
  assert.equal(precisionFromFlags("train", {}, "bfloat16"), "bfloat16");
  assert.equal(precisionFromFlags("train", { precision: "float32" }, "bfloat16"), "float32");
  const fast = stub(100, 300);
  assert.equal(
    precisionFromFlags("train", { precision: "auto" }, "float32", {
      probe: fast.probe,
      say: () => {},
    }),
    "bfloat16",
  );
});

test("a bad value, or --bf16 with another precision, is a usage error naming the flag", () => {
  const usage = (v: Record<string, unknown>, what: RegExp, where: RegExp) =>
    assert.throws(
      () => precisionFlag("translate", v),
      (e: MaskwiseError) => e.code === "E_ARG" && what.test(e.message) && where.test(e.where ?? ""),
    );
  usage(
    { precision: "fp16" },
    /--precision must be auto, float32 or bfloat16, got 'fp16'/,
    /translate --precision/,
  );
  usage({ precision: "" }, /got ''/, /--precision/);
  usage(
    { bf16: true, precision: "float32" },
    /--bf16 is --precision bfloat16, not float32/,
    /--bf16 --precision float32/,
  );
  usage({ bf16: true, precision: "auto" }, /not auto/, /--bf16/);
});

test("on the reference backend the probe times nothing and auto keeps float32", () => {
  const p = withBackend(new ReferenceBackend(), () => measurePrecisions());
  assert.deepEqual([p.float32Gflops, p.bfloat16Gflops], [null, null]);
  assert.match(p.note ?? "", /reference backend/);
  assert.equal(autoPrecision(p), "float32");
});

test("on the native backend the probe times both products where the CPU has AVX512_BF16", (t) => {
  const loaded = loadNativeAddon();
  if (!("addon" in loaded)) {
    // CI builds the addon (MASKWISE_REQUIRE_NATIVE=1): there a missing addon is a failure.
    assert.notEqual(process.env.MASKWISE_REQUIRE_NATIVE, "1", loaded.error);
    t.skip(`native addon not loaded: ${loaded.error}`);
    return;
  }
  const addon = loaded.addon;
  const native = new NativeBackend(addon);
  const isa = addon.gemmIsa();
  try {
    const p = withBackend(native, () => measurePrecisions());
    if (addon.setGemmBf16Dot(true)) {
      assert.ok(p.float32Gflops !== null && p.float32Gflops > 0, JSON.stringify(p));
      assert.ok(p.bfloat16Gflops !== null && p.bfloat16Gflops > 0, JSON.stringify(p));
    } else {
      assert.match(p.note ?? "", /AVX512_BF16/);
    }
    // Without the AVX-512 kernels there is no bfloat16 dot product: nothing timed, float32.
    if (addon.cpuIsa() === "avx512") {
      addon.setGemmIsa("avx2");
      const q = withBackend(native, () => measurePrecisions());
      assert.deepEqual([q.float32Gflops, q.bfloat16Gflops], [null, null]);
      assert.match(q.note ?? "", /no bfloat16 dot product \(AVX512_BF16\)/);
      assert.equal(autoPrecision(q), "float32");
    }
  } finally {
    addon.setGemmIsa(isa);
  }
});
