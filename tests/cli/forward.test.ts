// `maskwise forward` on the PyTorch reference model directories reproduces the expected logits
// and loss; bad batches are one clear line with status 2.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { tempDir } from "../helpers/tmp.js";

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
    const out = join(tempDir("forward"), "out.safetensors");
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
  const tmp = tempDir("forward");
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

/** A one-update model directory of the given pretraining objective, trained on a few lines. */
function pretrained(objective: "clm" | "mlm"): string {
  const tmp = tempDir(`forward-${objective}`);
  const text = join(tmp, "text.txt");
  writeFileSync(
    text,
    `${["a dog runs in the park", "a cat sleeps on the sofa", "two dogs play with a ball"].join("\n")}\n`,
  );
  const r = spawnSync(
    process.execPath,
    [
      bin,
      "pretrain",
      ...["--objective", objective, "--train", text, "--valid", text, "--out", join(tmp, "run")],
      ...["--model", "tiny", "--vocab-size", "60", "--max-steps", "1", "--dropout", "0"],
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return join(tmp, "run", "checkpoints", "last");
}

/** Runs forward on a batch object; returns logits (as rows of V) and the loss. */
function forward(model: string, batch: Record<string, unknown>) {
  const tmp = tempDir("forward");
  writeFileSync(join(tmp, "batch.json"), JSON.stringify(batch));
  const out = join(tmp, "out.safetensors");
  const r = run("--model", model, "--input", join(tmp, "batch.json"), "--out", out);
  assert.equal(r.status, 0, r.stderr);
  const t = parseSafetensors(readFileSync(out)).tensors;
  const logits = t.get("logits");
  assert.ok(logits);
  return { logits, loss: t.get("loss")?.data[0] ?? Number.NaN };
}

/** Logits of row b, position i ([B, T, V] flattened). */
const at = (l: { shape: readonly number[]; data: ArrayLike<number> }, b: number, i: number) => {
  const [, T, V] = l.shape;
  return Array.from({ length: V }, (_, v) => l.data[(b * T + i) * V + v]);
};
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, k) => Math.abs(x - b[k])));

test("forward runs decoder-only models: causal by default, prefix_lengths for a prefix LM", () => {
  const dir = pretrained("clm");
  const a = [4, 5, 6, 7, 8];
  const b = [4, 5, 6, 7, 9]; // the same but the last token
  const causal = forward(dir, { input_ids: [a, b], labels: [[5, 6, 7, 8, -100], a] });
  assert.deepEqual(causal.logits.shape.slice(0, 2), [2, 5]);
  assert.ok(Number.isFinite(causal.loss) && causal.loss > 0);
  // Causal: no position before the last sees the last token.
  for (let i = 0; i < 4; i++)
    assert.ok(maxDiff(at(causal.logits, 0, i), at(causal.logits, 1, i)) < 1e-5);
  // Prefix of 5: every position sees the whole row, so the changed token changes position 0.
  const prefix = forward(dir, { input_ids: [a, b], prefix_lengths: [5, 5] });
  assert.ok(Number.isNaN(prefix.loss));
  assert.ok(maxDiff(at(prefix.logits, 0, 0), at(prefix.logits, 1, 0)) > 1e-4);
  // Row 0 with prefix 0 is the causal row.
  const zero = forward(dir, { input_ids: [a, b], prefix_lengths: [0, 5] });
  assert.ok(maxDiff(at(zero.logits, 0, 2), at(causal.logits, 0, 2)) < 1e-5);

  const tmp = tempDir("forward");
  const bad: [string, RegExp][] = [
    ['{"input_ids": [[4, 5]], "decoder_input_ids": [[4]]}', /unknown field 'decoder_input_ids'/],
    ['{"input_ids": [[4, 5]], "prefix_lengths": [3]}', /prefix_lengths.*1 integers in \[0, 2\]/],
  ];
  for (const [json, want] of bad) {
    writeFileSync(join(tmp, "batch.json"), json);
    const r = run("--model", dir, "--input", join(tmp, "batch.json"), "--out", join(tmp, "o"));
    assert.equal(r.status, 2, json);
    assert.match(r.stderr, want);
  }
});

test("forward runs encoder-only (masked-LM) models: every position sees the whole row", () => {
  const dir = pretrained("mlm");
  const a = [4, 5, 6, 7, 8];
  const b = [4, 5, 6, 7, 9];
  const r = forward(dir, { input_ids: [a, b], labels: [[-100, 5, -100, -100, -100], a] });
  assert.deepEqual(r.logits.shape.slice(0, 2), [2, 5]);
  assert.ok(Number.isFinite(r.loss) && r.loss > 0);
  assert.ok(maxDiff(at(r.logits, 0, 0), at(r.logits, 1, 0)) > 1e-4);
  // Padding masked out: row 1 with its last position masked equals row 0 with its own masked.
  const m = forward(dir, {
    input_ids: [a, b],
    attention_mask: [
      [1, 1, 1, 1, 0],
      [1, 1, 1, 1, 0],
    ],
  });
  assert.ok(maxDiff(at(m.logits, 0, 0), at(m.logits, 1, 0)) < 1e-5);
});
