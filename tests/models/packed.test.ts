// Packed rows on every decoder-only family (transformers' GPT-2, Llama, Qwen2 and Mistral
// reference cases: learned positions, RoPE, a sliding window): with positions that restart at 0
// and the documents mask, a row holding several conversations gives each one the logits it gets
// alone, in evaluation and on the training path (kept rows only, labelled rows' logits), and the
// loss of the packed batch is the token-weighted mean of the documents' losses.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { FamilyModel } from "../../src/models/family.js";
import { loadModel } from "../../src/node/model-dir.js";
import { packExamples } from "../../src/objectives/chat.js";
import { noGrad } from "../../src/tensor/autograd.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { collateLM } from "../../src/train/collate.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { HF_REF } from "../helpers/hf-ref.js";

const rng = new Rng(5);
/** Three "conversations" of ids below the case's 64, with labels on their second half. */
const docs = [7, 5, 9].map((n) => {
  const ids = Array.from({ length: n }, () => rng.int(64));
  const labels = ids.map((_, t) => (t >= n / 2 && t + 1 < n ? ids[t + 1] : -100));
  return { input_ids: ids, labels };
});

function run(model: FamilyModel, examples: typeof docs) {
  const b = collateLM(examples, 0);
  return noGrad(() => model.forward(b as never));
}

/** Rows [t0, t0 + n) of row `b` of logits [B, T, V]. */
function rowsOf(logits: Tensor, b: number, t0: number, n: number): Float32Array {
  const [, T, V] = logits.shape;
  return logits.f32.slice((b * T + t0) * V, (b * T + t0 + n) * V);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

forEachBackend("packed rows", () => {
  for (const name of ["gpt2", "llama", "qwen2", "mistral"])
    describe(name, () => packedCase(loadModel(join(HF_REF, name))));
});

/** float32 sums in another order (the kernels' tiles differ with the row): within 1e-4. */
function packedCase(model: FamilyModel): void {
  test("each conversation's logits in a packed row are its logits alone", () => {
    const packed = packExamples(docs, 64);
    assert.equal(packed.length, 1);
    // Beside an unpacked, shorter row: padding and the default document stay apart.
    const { logits } = run(model, [packed[0], docs[1]]);
    let t0 = 0;
    docs.forEach((d, k) => {
      const alone = run(model, [d]).logits;
      const n = d.input_ids.length;
      const diff = maxDiff(rowsOf(logits, 0, t0, n), rowsOf(alone, 0, 0, n));
      assert.ok(diff < 1e-4, `conversation ${k}: ${diff}`);
      t0 += n;
    });
    const diff1 = maxDiff(rowsOf(logits, 1, 0, 5), rowsOf(run(model, [docs[1]]).logits, 0, 0, 5));
    assert.ok(diff1 < 1e-4, `unpacked row: ${diff1}`);
    // Without the documents mask and positions, the later conversations would see the first.
    const flat = run(model, [
      {
        input_ids: packed[0].input_ids,
        labels: packed[0].labels,
      },
    ]).logits;
    const n0 = docs[0].input_ids.length;
    const n1 = docs[1].input_ids.length;
    assert.ok(
      maxDiff(rowsOf(flat, 0, n0, n1), rowsOf(run(model, [docs[1]]).logits, 0, 0, n1)) > 1e-3,
    );
  });

  test("training path: the packed loss is the token-weighted mean of the conversations'", () => {
    model.train();
    try {
      const packed = packExamples(docs, 64);
      const loss = run(model, packed).loss?.item() as number;
      let sum = 0;
      let count = 0;
      for (const d of docs) {
        const n = d.labels.filter((l) => l !== -100).length;
        sum += (run(model, [d]).loss?.item() as number) * n;
        count += n;
      }
      assert.ok(Math.abs(loss - sum / count) < 1e-4, `${loss} vs ${sum / count}`);
    } finally {
      model.eval();
    }
  });
}
