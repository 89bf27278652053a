// BART and mBART from transformers' layout (../shared/ref/hf: bart, bart_scaled, mbart): each
// case loads as it is (config.json, model.safetensors without the tied copies), matches
// transformers' logits at the valid positions, its loss and its greedy ids, and is written back
// with the same tensor names, shapes and config.json.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { greedy } from "../../../src/decode/greedy.js";
import { parseSafetensors } from "../../../src/io/safetensors.js";
import type { EncoderDecoderModel } from "../../../src/models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../../../src/models/incremental.js";
import { familyOf } from "../../../src/models/registry.js";
import { loadModel, saveModel } from "../../../src/node/model-dir.js";
import { noGrad } from "../../../src/tensor/index.js";
import { forEachBackend } from "../../helpers/backends.js";
import {
  assertLogits,
  assertSameConfig,
  flat,
  ids,
  readCase,
  scalar,
} from "../../helpers/hf-ref.js";
import { tempDir } from "../../helpers/tmp.js";

for (const name of ["bart", "bart_scaled", "mbart", "marian"]) {
  forEachBackend(`HF ${name}`, () => {
    const c = readCase(name);
    const family = name === "bart_scaled" ? "bart" : name;

    test("loads as it is and matches transformers' logits and loss", () => {
      const model = loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
      assert.equal(familyOf(model.config).name, family);
      const b = c.batch;
      const { logits, loss } = noGrad(() =>
        model.forward({
          input_ids: ids(b.input_ids),
          attention_mask: ids(b.attention_mask),
          decoder_input_ids: ids(b.decoder_input_ids),
          labels: ids(b.labels),
        }),
      );
      assertLogits(c, logits);
      const want = scalar(c.expected.loss);
      assert.ok(loss && Math.abs(loss.item() - want) <= 1e-5, `loss ${loss?.item()} vs ${want}`);
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
      g.ids.forEach((row, r) => {
        // transformers' row: the start token, then new tokens, padded after eos.
        const stop = row.indexOf(cfg.eos_token_id, 1);
        const want = row.slice(1, stop < 0 ? row.length : stop + 1);
        assert.deepEqual(hyps[r].tokens, want, `row ${r}`);
      });
    });

    test("written back: the same tensor names, shapes and config.json", () => {
      const model = loadModel(c.dir);
      const out = tempDir(`hf-${name}`);
      saveModel(out, model);
      const file = parseSafetensors(readFileSync(join(out, "model.safetensors")), "saved");
      const names = [...file.tensors.keys()].sort();
      assert.deepEqual(names, [...c.header.header_key_order].sort());
      for (const [n, t] of file.tensors)
        assert.deepEqual(t.shape, c.header.tensors[n].shape, `${n} shape`);
      const original = parseSafetensors(readFileSync(join(c.dir, "model.safetensors")), "ref");
      for (const [n, t] of original.tensors)
        assert.deepEqual(Array.from(file.tensors.get(n)?.data ?? []), Array.from(t.data), n);
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
