// BERT and RoBERTa from transformers' layout (../shared/ref/hf: bert, roberta): each case loads
// as it is (transformers' module names, the head decoder tied to the word embeddings and left
// out of the file), matches transformers' masked-LM logits at the valid positions and its loss
// with token types, and is written back with the same tensor names, shapes, values and config.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { EncoderOnlyModel } from "../../../src/models/encoder-only.js";
import { familyOf } from "../../../src/models/registry.js";
import { loadModel } from "../../../src/node/model-dir.js";
import { noGrad } from "../../../src/tensor/index.js";
import { forEachBackend } from "../../helpers/backends.js";
import { assertForward, assertWrittenBack, ids, readCase } from "../../helpers/hf-ref.js";

for (const name of ["bert", "roberta"]) {
  forEachBackend(`HF ${name}`, (backend) => {
    const c = readCase(name);

    test("loads as it is and matches transformers' logits and loss", () => {
      const model = loadModel(c.dir, "encoder-only") as EncoderOnlyModel;
      assert.equal(familyOf(model.config).name, name);
      const b = c.batch;
      const worst = assertForward(c, model, {
        input_ids: ids(b.input_ids),
        attention_mask: ids(b.attention_mask),
        token_type_ids: ids(b.token_type_ids),
        labels: ids(b.labels),
      });
      console.log(`# ${name} [${backend.name}] worst logits difference ${worst.toExponential(2)}`);
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

    test("written back byte for byte, with the same config.json", () => {
      assertWrittenBack(c);
    });
  });
}
