// BERT and RoBERTa from transformers' layout (../shared/ref/hf: bert, roberta): each case loads
// as it is (transformers' module names, the head decoder tied to the word embeddings and left
// out of the file), matches transformers' masked-LM logits at the valid positions and its loss
// with token types, and is written back with the same tensor names, shapes, values and config.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../../src/io/safetensors.js";
import type { EncoderOnlyModel } from "../../../src/models/encoder-only.js";
import { familyOf } from "../../../src/models/registry.js";
import { loadModel, saveModel } from "../../../src/node/model-dir.js";
import { noGrad } from "../../../src/tensor/index.js";
import { forEachBackend } from "../../helpers/backends.js";
import { assertLogits, assertSameConfig, ids, readCase, scalar } from "../../helpers/hf-ref.js";
import { tempDir } from "../../helpers/tmp.js";

for (const name of ["bert", "roberta"]) {
  forEachBackend(`HF ${name}`, () => {
    const c = readCase(name);

    test("loads as it is and matches transformers' logits and loss", () => {
      const model = loadModel(c.dir, "encoder-only") as EncoderOnlyModel;
      assert.equal(familyOf(model.config).name, name);
      const b = c.batch;
      const { logits, loss } = noGrad(() =>
        model.forward({
          input_ids: ids(b.input_ids),
          attention_mask: ids(b.attention_mask),
          token_type_ids: ids(b.token_type_ids),
          labels: ids(b.labels),
        }),
      );
      assertLogits(c, logits);
      const want = scalar(c.expected.loss);
      assert.ok(loss && Math.abs(loss.item() - want) <= 1e-5, `loss ${loss?.item()} vs ${want}`);
    });

    test("token types change the logits (their embedding is read)", () => {
      const model = loadModel(c.dir, "encoder-only") as EncoderOnlyModel;
      const b = c.batch;
      const run = (types?: unknown) =>
        noGrad(() =>
          model.forward({
            input_ids: ids(b.input_ids),
            attention_mask: ids(b.attention_mask),
            ...(types ? { token_type_ids: ids(types) } : {}),
          }),
        ).logits.f32;
      const zeros = (b.token_type_ids as number[][]).map((r) => r.map(() => 0));
      // No token types is type 0 everywhere, as transformers' default.
      assert.deepEqual(Array.from(run()), Array.from(run(zeros)));
      assert.notDeepEqual(Array.from(run()), Array.from(run(b.token_type_ids)));
    });

    test("written back: the same tensor names, shapes, values and config.json", () => {
      const model = loadModel(c.dir);
      const out = tempDir(`hf-${name}`);
      saveModel(out, model);
      const file = parseSafetensors(readFileSync(join(out, "model.safetensors")), "saved");
      assert.deepEqual([...file.tensors.keys()].sort(), [...c.header.header_key_order].sort());
      const original = parseSafetensors(readFileSync(join(c.dir, "model.safetensors")), "ref");
      for (const [n, t] of original.tensors) {
        assert.deepEqual(file.tensors.get(n)?.shape, t.shape, `${n} shape`);
        assert.deepEqual(Array.from(file.tensors.get(n)?.data ?? []), Array.from(t.data), n);
      }
      // Byte for byte the file transformers wrote (its tensor order, header and alignment).
      assert.ok(
        readFileSync(join(out, "model.safetensors")).equals(
          readFileSync(join(c.dir, "model.safetensors")),
        ),
        "model.safetensors differs from transformers' bytes",
      );
      assertSameConfig(out, c.dir);
    });
  });
}
