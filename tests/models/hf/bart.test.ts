// BART and mBART from transformers' layout (../shared/ref/hf: bart, bart_scaled, mbart): each
// case loads as it is (config.json, model.safetensors without the tied copies), matches
// transformers' logits at the valid positions, its loss and its greedy ids, and is written back
// with the same tensor names, shapes and config.json.
import assert from "node:assert/strict";
import { test } from "node:test";
import { greedy } from "../../../src/decode/greedy.js";
import type { EncoderDecoderModel } from "../../../src/models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../../../src/models/incremental.js";
import { familyOf } from "../../../src/models/registry.js";
import { loadModel } from "../../../src/node/model-dir.js";
import { noGrad } from "../../../src/tensor/index.js";
import { forEachBackend } from "../../helpers/backends.js";
import {
  assertForward,
  assertGreedyRows,
  assertWrittenBack,
  flat,
  ids,
  readCase,
} from "../../helpers/hf-ref.js";

for (const name of ["bart", "bart_scaled", "mbart", "marian"]) {
  forEachBackend(`HF ${name}`, (backend) => {
    const c = readCase(name);
    const family = name === "bart_scaled" ? "bart" : name;

    test("loads as it is and matches transformers' logits and loss", () => {
      const model = loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
      assert.equal(familyOf(model.config).name, family);
      const b = c.batch;
      const worst = assertForward(c, model, {
        input_ids: ids(b.input_ids),
        attention_mask: ids(b.attention_mask),
        decoder_input_ids: ids(b.decoder_input_ids),
        labels: ids(b.labels),
      });
      console.log(`# ${name} [${backend.name}] worst logits difference ${worst.toExponential(2)}`);
    });

    test("greedy decoding on the KV cache gives transformers' ids", () => {
      const model = loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
      const g = (c.expected.generate as Record<string, { ids: number[][] }>).plain_greedy;
      const cfg = model.config;
      const hyps = noGrad(() =>
        greedy(new Seq2SeqIncremental(model, ids(c.batch.input_ids), ids(c.batch.attention_mask)), {
          startToken: cfg.decoder_start_token_id,
          eosToken: cfg.eos_token_id,
          maxLength: 8,
        }),
      );
      // transformers' rows: the start token, then the new tokens, padded after eos.
      assertGreedyRows(hyps, g.ids, 1, cfg.eos_token_id);
    });

    test("written back byte for byte, with the same config.json", () => {
      assertWrittenBack(c);
    });
  });
}

test("flat() reads nested lists in row-major order", () => {
  assert.deepEqual(
    flat({
      shape: [2, 2],
      data: [
        [1, 2],
        [3, 4],
      ],
    }),
    [1, 2, 3, 4],
  );
});
