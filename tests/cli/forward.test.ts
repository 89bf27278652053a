// `maskwise forward` on the PyTorch reference model directories reproduces the expected logits
// and loss; bad batches are one clear line with status 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const refRoot = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "models");
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, "forward", ...args], { encoding: "utf8" });

for (const variant of ["prenorm", "postnorm"]) {
  test(`forward on ${variant} reproduces the expected logits and loss`, (t) => {
    const dir = join(refRoot, variant);
    if (!existsSync(dir)) {
      t.skip(`${dir} is absent`);
      return;
    }
    const out = join(mkdtempSync(join(tmpdir(), "maskwise-")), "out.safetensors");
    const r = run("--model", dir, "--input", join(dir, "batch.json"), "--out", out);
    assert.equal(r.status, 0, r.stderr);
    const mine = parseSafetensors(readFileSync(out)).tensors;
    const want = parseSafetensors(readFileSync(join(dir, "expected.safetensors"))).tensors;
    const a = mine.get("logits");
    const b = want.get("logits");
    assert.ok(a && b);
    assert.deepEqual(a.shape, b.shape);
    let worst = 0;
    for (let i = 0; i < a.data.length; i++)
      worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
    assert.ok(worst <= 2e-4, `logits differ by ${worst}`);
    assert.deepEqual(mine.get("loss")?.shape, []);
    assert.ok(
      Math.abs((mine.get("loss")?.data[0] ?? 0) - (want.get("loss")?.data[0] ?? 1)) <= 2e-4,
    );
  });
}

test("bad batches name the file and field", (t) => {
  const dir = join(refRoot, "prenorm");
  if (!existsSync(dir)) {
    t.skip(`${dir} is absent`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), "maskwise-"));
  const cases: [string, RegExp][] = [
    [
      '{"input_ids": [[1, 2]], "decoder_input_ids": [[1, 2, 3], [4]]}',
      /decoder_input_ids.*row 1 is not a list of 3 values/,
    ],
    [
      '{"input_ids": [[1, 99999]], "decoder_input_ids": [[1]]}',
      /token id 99999 is outside the vocabulary/,
    ],
    ['{"input_ids": [[1]], "decoder_input_ids": [[1]], "label": [[1]]}', /unknown field 'label'/],
    ['{"input_ids": [[1]],\n "decoder_input_ids": [[1]],,}', /not valid JSON.*batch\.json:2:/],
    ['{"decoder_input_ids": [[1]]}', /missing field 'input_ids'/],
  ];
  for (const [text, pattern] of cases) {
    const file = join(tmp, "batch.json");
    writeFileSync(file, text);
    const r = run("--model", dir, "--input", file, "--out", join(tmp, "o.safetensors"));
    assert.equal(r.status, 2, `${text}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split("\n").length, 1);
  }
});
