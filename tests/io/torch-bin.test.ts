// The PyTorch .bin reader against checkpoints written by torch.save (tests/fixtures/bin, made by
// make_bin_fixtures.py) and compared with the reference model.safetensors files, plus hand-written
// hostile pickles that must be refused without anything being run.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { inflateRawSync } from "node:zlib";
import { parseSafetensors, type SafeTensor } from "../../src/io/safetensors.js";
import { parseTorchStateDict } from "../../src/io/torch-bin.js";
import { openZip } from "../../src/io/zip-archive.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { makeZip, op, torchArchive } from "./torch-zip.js";

const root = join(import.meta.dirname, "..", "..");
const fixtures = join(root, "tests", "fixtures", "bin");
const ref = join(root, "..", "shared", "ref", "hf");

const bin = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)));
const reference = (family: string) =>
  parseSafetensors(readFileSync(join(ref, family, "model.safetensors"))).tensors;

/** The nearest float16 / bfloat16 value of x, computed here independently of the reader. */
function roundToBits(x: number, mantissa: number, minExp: number): number {
  if (x === 0) return 0;
  const e = Math.max(Math.floor(Math.log2(Math.abs(x))), minExp);
  const q = 2 ** (e - mantissa);
  const r = x / q;
  const f = Math.floor(r);
  const down = r - f < 0.5 || (r - f === 0.5 && f % 2 === 0);
  return (down ? f : f + 1) * q;
}

function rejects(bytes: Uint8Array, code: string, message: RegExp, source = "evil.bin") {
  assert.throws(
    () => parseTorchStateDict(bytes, source),
    (e: unknown) => {
      assert.ok(e instanceof MaskwiseError, String(e));
      assert.equal(e.code, code, e.message);
      assert.match(e.message, message);
      assert.ok(e.where?.includes(source), `where names the file: ${e.where}`);
      return true;
    },
  );
}

test("gpt2 saved by torch.save in float32 reads back bit for bit; lm_head shares wte's storage", () => {
  const got = parseTorchStateDict(bin("gpt2_f32.bin"), "gpt2_f32.bin");
  const want = reference("gpt2");
  for (const [name, t] of want) {
    const g = got.get(name);
    assert.ok(g, `${name} is missing`);
    assert.equal(g.dtype, "F32");
    assert.deepEqual(g.shape, t.shape, name);
    assert.deepEqual(g.data, t.data, name);
  }
  // HF omits the tied lm_head.weight from model.safetensors; module.state_dict() keeps it.
  assert.deepEqual(
    [...got.keys()].filter((k) => !want.has(k)),
    ["lm_head.weight"],
  );
  assert.deepEqual(got.get("lm_head.weight")?.data, want.get("transformer.wte.weight")?.data);
  assert.notEqual(got.get("lm_head.weight")?.data, got.get("transformer.wte.weight")?.data);
});

test("bart in float16: every value is the float16 rounding of the float32 reference", () => {
  const got = parseTorchStateDict(bin("bart_f16.bin"), "bart_f16.bin");
  const want = reference("bart");
  assert.equal(got.size, want.size + 3, "plus the three tied names");
  for (const [name, t] of want) {
    const g = got.get(name) as SafeTensor;
    assert.equal(g.dtype, "F16", name);
    assert.deepEqual(g.shape, t.shape, name);
    for (let i = 0; i < t.data.length; i++) {
      const expect = roundToBits(t.data[i], 10, -14);
      assert.equal(g.data[i], expect, `${name}[${i}]: ${t.data[i]}`);
    }
  }
  for (const tied of [
    "lm_head.weight",
    "model.encoder.embed_tokens.weight",
    "model.decoder.embed_tokens.weight",
  ])
    assert.deepEqual(got.get(tied)?.data, got.get("model.shared.weight")?.data, tied);
});

test("strided views, storage offsets, stride 0 and every dtype match torch's contiguous values", () => {
  const got = parseTorchStateDict(bin("views.bin"), "views.bin");
  const expected = JSON.parse(
    readFileSync(join(fixtures, "views.expected.json"), "utf8"),
  ) as Record<string, { shape: number[]; dtype: string; data: number[] }>;
  const dtypes: Record<string, string> = {
    float32: "F32",
    float64: "F64",
    float16: "F16",
    bfloat16: "BF16",
    int64: "I64",
    int32: "I32",
    int16: "I16",
    int8: "I8",
    uint8: "U8",
    bool: "BOOL",
  };
  assert.deepEqual([...got.keys()].sort(), Object.keys(expected).sort());
  for (const [name, e] of Object.entries(expected)) {
    const g = got.get(name) as SafeTensor;
    assert.deepEqual(g.shape, e.shape, name);
    assert.equal(g.dtype, dtypes[e.dtype], name);
    assert.equal(g.data.length, e.data.length, name);
    // float64 values were narrowed to float32 by the reader; everything else is exact.
    const want = e.dtype === "float64" ? e.data.map(Math.fround) : e.data.map(Number);
    assert.deepEqual(Array.from(g.data), want, name);
  }
  assert.ok(got.get("i64")?.data instanceof Int32Array);
  assert.ok(got.get("bool")?.data instanceof Int32Array);
});

test("hostile pickles from the fixtures are refused by name, and nothing runs", () => {
  const marker = "/tmp/maskwise-pwned";
  rejects(bin("evil_os_system.bin"), "E_UNSAFE_PICKLE", /GLOBAL os\.system/);
  rejects(bin("evil_builtins_eval.bin"), "E_UNSAFE_PICKLE", /GLOBAL builtins\.eval/);
  rejects(bin("evil_posix_system.bin"), "E_UNSAFE_PICKLE", /GLOBAL posix\.system/);
  assert.equal(existsSync(marker), false);
});

test("REDUCE of an allowed non-function, BUILD on plain data, unknown classes and opcodes are refused", () => {
  // torch.FloatStorage is an allowed name but not something a pickle may call.
  rejects(
    torchArchive([
      ...op.proto2,
      ...op.global("torch", "FloatStorage"),
      ...op.emptyTuple,
      ...op.reduce,
      ...op.stop,
    ]),
    "E_UNSAFE_PICKLE",
    /REDUCE of torch\.FloatStorage is not allowed/,
  );
  // A class outside the list, even one from torch.
  rejects(
    torchArchive([...op.proto2, ...op.global("torch.nn.modules.linear", "Linear"), ...op.stop]),
    "E_UNSAFE_PICKLE",
    /GLOBAL torch\.nn\.modules\.linear\.Linear/,
  );
  // BUILD (setstate) on a string.
  rejects(
    torchArchive([...op.proto2, ...op.str("x"), ...op.emptyDict, ...op.build, ...op.stop]),
    "E_UNSAFE_PICKLE",
    /BUILD on something that is not a tensor or a dict/,
  );
  // REDUCE of a value that is no global at all.
  rejects(
    torchArchive([...op.proto2, ...op.str("x"), ...op.emptyTuple, ...op.reduce, ...op.stop]),
    "E_UNSAFE_PICKLE",
    /REDUCE applies something that is not an allowed function/,
  );
  // INST (0x69), a protocol-0 way to call a class, is not an opcode weights files use.
  rejects(
    torchArchive([...op.proto2, 0x69, ...Buffer.from("os\nsystem\n"), ...op.stop]),
    "E_PICKLE",
    /opcode 0x69/,
  );
  // A persistent id whose class is not a storage.
  rejects(
    torchArchive([
      ...op.proto2,
      ...op.mark,
      ...op.str("storage"),
      ...op.global("torch._utils", "_rebuild_tensor_v2"),
      ...op.str("0"),
      ...op.str("cpu"),
      ...op.int1(1),
      ...op.tuple,
      ...op.binpersid,
      ...op.stop,
    ]),
    "E_UNSAFE_PICKLE",
    /persistent id names something that is not a storage class/,
  );
});

test("a hand-written state dict: storage bounds are checked, deflated entries are read on Node", () => {
  // {'w': _rebuild_tensor_v2(storage('0', FloatStorage, numel 4), 0, (2, 2), (2, 1), False, OrderedDict())}
  const program = (numel: number, offset: number) => [
    ...op.proto2,
    ...op.emptyDict,
    ...op.str("w"),
    ...op.global("torch._utils", "_rebuild_tensor_v2"),
    ...op.mark,
    ...op.mark,
    ...op.str("storage"),
    ...op.global("torch", "FloatStorage"),
    ...op.str("0"),
    ...op.str("cpu"),
    ...op.int1(numel),
    ...op.tuple,
    ...op.binpersid,
    ...op.int1(offset),
    ...op.mark,
    ...op.int1(2),
    ...op.int1(2),
    ...op.tuple,
    ...op.mark,
    ...op.int1(2),
    ...op.int1(1),
    ...op.tuple,
    ...op.newfalse,
    ...op.global("collections", "OrderedDict"),
    ...op.emptyTuple,
    ...op.reduce,
    ...op.tuple,
    ...op.reduce,
    ...op.setitem,
    ...op.stop,
  ];
  const data = new Uint8Array(Float32Array.of(1, 2, 3, 4, 5).buffer);
  const ok = parseTorchStateDict(torchArchive(program(5, 1), [["0", data]]), "ok.bin");
  assert.deepEqual(Array.from(ok.get("w")?.data ?? []), [2, 3, 4, 5]);
  rejects(
    torchArchive(program(5, 2), [["0", data]]),
    "E_TORCH_BIN",
    /reads storage element 5 of 5/,
    "off.bin",
  );
  rejects(
    torchArchive(program(9, 0), [["0", data]]),
    "E_TORCH_BIN",
    /holds 20 bytes; 9 elements of F32 need 36/,
    "short.bin",
  );
  rejects(
    torchArchive(program(4, 0), []),
    "E_TORCH_BIN",
    /no archive\/data\/0 in the archive/,
    "nostorage.bin",
  );

  const deflated = makeZip(
    [
      ["archive/data.pkl", Uint8Array.from(program(5, 0))],
      ["archive/data/0", data],
    ],
    true,
  );
  assert.throws(() => parseTorchStateDict(deflated, "d.bin"), /deflate needs the Node reader/);
  const got = parseTorchStateDict(deflated, "d.bin", { inflateRaw: (b) => inflateRawSync(b) });
  assert.deepEqual(Array.from(got.get("w")?.data ?? []), [1, 2, 3, 4]);
});

test("not a torch.save file: the legacy format, TorchScript, plain zips and other files say so", () => {
  rejects(Uint8Array.of(0x80, 2, 0x8a, 10), "E_TORCH_BIN", /legacy/, "old.bin");
  rejects(
    makeZip([["m/constants.pkl", Uint8Array.of(0x2e)]]),
    "E_TORCH_BIN",
    /no <folder>\/data\.pkl/,
    "ts.bin",
  );
  rejects(new TextEncoder().encode("hello"), "E_ZIP", /not a zip archive/, "text.bin");
});

test("the same checkpoint repacked the ZIP64 way (as archives over 4 GiB are) reads the same", () => {
  // The helper's ZIP64 layout was checked once against Python's zipfile and torch.load.
  const original = bin("views.bin");
  const want = parseTorchStateDict(original, "views.bin");
  const zip = openZip(original, "views.bin");
  const entries = [...zip.entries.keys()].map((n): [string, Uint8Array] => [n, zip.read(n)]);
  for (const deflate of [false, true]) {
    const repacked = makeZip(entries, deflate, true);
    const got = parseTorchStateDict(repacked, "views64.bin", {
      inflateRaw: (b) => inflateRawSync(b),
    });
    assert.deepEqual([...got.keys()], [...want.keys()]);
    for (const [n, t] of want) assert.deepEqual(got.get(n), t, n);
    // Without its locator the end record's 0xFFFF fields cannot be read.
    const broken = repacked.slice();
    const locator = broken.length - 22 - 20;
    broken[locator] ^= 0xff;
    assert.throws(() => parseTorchStateDict(broken, "broken64.bin"), /no ZIP64 locator/);
  }
});
