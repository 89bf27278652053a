// `maskwise forward` reads position_ids and document_ids for a decoder-only model: the second
// document of a packed row gets the logits it gets alone (transformers' GPT-2 case).
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

test("forward: a packed row's documents are computed apart", () => {
  const dir = tempDir("forward-packed");
  const run = (name: string, batch: unknown) => {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(batch));
    const out = join(dir, `${name}.safetensors`);
    const r = maskwise([
      "forward",
      "--model",
      join(HF_REF, "gpt2"),
      "--input",
      join(dir, `${name}.json`),
      "--out",
      out,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const logits = parseSafetensors(readFileSync(out), out).tensors.get("logits");
    return logits?.data as Float32Array;
  };
  const packed = run("packed", {
    input_ids: [[1, 2, 3, 40, 50, 60, 7]],
    position_ids: [[0, 1, 2, 0, 1, 2, 3]],
    document_ids: [[0, 0, 0, 1, 1, 1, 1]],
  });
  const alone = run("alone", { input_ids: [[40, 50, 60, 7]] });
  const flat = run("flat", { input_ids: [[1, 2, 3, 40, 50, 60, 7]] });
  const V = 64;
  const second = packed.slice(3 * V);
  let worst = 0;
  for (let i = 0; i < alone.length; i++) worst = Math.max(worst, Math.abs(second[i] - alone[i]));
  assert.ok(worst < 1e-5, `packed vs alone: ${worst}`);
  let apart = 0;
  for (let i = 0; i < alone.length; i++)
    apart = Math.max(apart, Math.abs(flat[3 * V + i] - alone[i]));
  assert.ok(apart > 1e-3, "without them the second document sees the first");
});
