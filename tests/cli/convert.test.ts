// `maskwise convert`: a transformers directory with pytorch_model.bin (float16) becomes one with
// model.safetensors in transformers' layout, which `forward` then runs; a maskwise directory and
// a non-empty output are refused in one line with status 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { parseTorchStateDict } from "../../src/io/torch-bin.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { makeTinyModelDir } from "../helpers/tiny-model.js";
import { tempDir } from "../helpers/tmp.js";

const root = join(import.meta.dirname, "..", "..");
const bin = join(root, "bin", "maskwise.mjs");
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });

test("a float16 pytorch_model.bin BART directory becomes transformers' safetensors layout", () => {
  const ref = join(HF_REF, "bart");
  const src = tempDir("convert-src");
  copyFileSync(join(ref, "config.json"), join(src, "config.json"));
  copyFileSync(join(ref, "generation_config.json"), join(src, "generation_config.json"));
  copyFileSync(
    join(root, "tests", "fixtures", "bin", "bart_f16.bin"),
    join(src, "pytorch_model.bin"),
  );
  const out = join(tempDir("convert-out"), "bart");
  const r = run("convert", "--model", src, "--out", out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), out);
  const written = parseSafetensors(readFileSync(join(out, "model.safetensors")), "out").tensors;
  const header = JSON.parse(readFileSync(join(ref, "safetensors_header.json"), "utf8"));
  // transformers' names: model.shared once, no tied copy.
  assert.deepEqual([...written.keys()].sort(), [...header.header_key_order].sort());
  // The values are the .bin's float16 values, widened.
  const half = parseTorchStateDict(
    new Uint8Array(readFileSync(join(src, "pytorch_model.bin"))),
    "bin",
  );
  for (const [n, t] of written) {
    const from = half.get(n);
    assert.ok(from, n);
    assert.deepEqual(Array.from(t.data), Array.from(from.data), n);
  }
  const json = (d: string, f: string) => JSON.parse(readFileSync(join(d, f), "utf8"));
  assert.deepEqual(json(out, "config.json"), json(ref, "config.json"));
  assert.deepEqual(json(out, "generation_config.json"), json(ref, "generation_config.json"));
  // And forward runs on it.
  const logits = join(tempDir("convert-fwd"), "out.safetensors");
  const f = run("forward", "--model", out, "--input", join(ref, "batch.json"), "--out", logits);
  // The case's batch.json carries notes, which forward refuses as an unknown field.
  assert.equal(f.status, 2);
  assert.match(f.stderr, /unknown field 'notes'/);
  const batch = JSON.parse(readFileSync(join(ref, "batch.json"), "utf8"));
  const input = join(tempDir("convert-batch"), "batch.json");
  writeFileSync(
    input,
    JSON.stringify({
      input_ids: batch.input_ids,
      attention_mask: batch.attention_mask,
      decoder_input_ids: batch.decoder_input_ids,
      labels: batch.labels,
    }),
  );
  const g = run("forward", "--model", out, "--input", input, "--out", logits);
  assert.equal(g.status, 0, g.stderr);
  const loss = parseSafetensors(readFileSync(logits)).tensors.get("loss")?.data[0] ?? Number.NaN;
  const want = JSON.parse(readFileSync(join(ref, "expected.json"), "utf8")).loss as number;
  // float16 weights: the loss moves, but stays close.
  assert.ok(Math.abs(loss - want) < 0.05, `loss ${loss} vs ${want}`);
});

test("a maskwise model directory and a non-empty output are refused in one line", () => {
  const own = makeTinyModelDir();
  const a = run("convert", "--model", own, "--out", join(tempDir("convert-own"), "x"));
  assert.equal(a.status, 2);
  assert.match(a.stderr, /^maskwise: .*maskwise encoder-decoder model/);
  assert.equal(a.stderr.trim().split("\n").length, 1);
  const b = run("convert", "--model", join(HF_REF, "bert"), "--out", own);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /not empty/);
});
