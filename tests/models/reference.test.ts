// The encoder-decoder against an independent float64 PyTorch implementation: the model
// directories in ../shared/ref/models load unchanged, and logits, loss (within 2e-4) and the
// gradient of every weight (within 1e-3 of the tensor's largest value) match.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import * as T from "../../src/tensor/index.js";
import { forEachBackend } from "../helpers/backends.js";

const refRoot = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "models");

function ids(rows: number[][]): T.Tensor {
  return T.intTensor(rows.flat(), [rows.length, rows[0].length]);
}

for (const variant of ["prenorm", "postnorm"]) {
  forEachBackend(`reference model ${variant}`, () => {
    const dir = join(refRoot, variant);
    test("logits, loss and every gradient match", (t) => {
      if (!existsSync(dir)) {
        t.skip(`${dir} is absent`);
        return;
      }
      const config = resolveConfig(
        JSON.parse(readFileSync(join(dir, "config.json"), "utf8")),
        `${dir}/config.json`,
      );
      const model = new EncoderDecoderModel(config);
      const weights = parseSafetensors(
        readFileSync(join(dir, "model.safetensors")),
        "model.safetensors",
      );
      model.loadState(weights.tensors, { source: `${dir}/model.safetensors` });
      model.eval();
      const batch = JSON.parse(readFileSync(join(dir, "batch.json"), "utf8"));
      const { logits, loss } = model.forward({
        input_ids: ids(batch.input_ids),
        attention_mask: ids(batch.attention_mask),
        decoder_input_ids: ids(batch.decoder_input_ids),
        decoder_attention_mask: ids(batch.decoder_attention_mask),
        labels: ids(batch.labels),
      });
      const expected = parseSafetensors(readFileSync(join(dir, "expected.safetensors"))).tensors;
      const el = expected.get("logits");
      assert.ok(el && loss);
      assert.deepEqual(logits.shape, el.shape);
      let worst = 0;
      for (let i = 0; i < el.data.length; i++)
        worst = Math.max(worst, Math.abs(logits.f32[i] - el.data[i]));
      assert.ok(worst <= 2e-4, `logits differ by ${worst}`);
      const lossRef = expected.get("loss")?.data[0] ?? Number.NaN;
      assert.ok(Math.abs(loss.item() - lossRef) <= 2e-4, `loss ${loss.item()} vs ${lossRef}`);

      T.backward(loss);
      // Relative to each tensor's largest value; a tensor whose true gradient is 0 (a key bias:
      // softmax ignores a shift of every score) is held to 1e-7 absolute, float32 rounding's scale.
      let checked = 0;
      for (const [name, p] of model.namedParameters()) {
        const g = expected.get(`grad.${name}`);
        assert.ok(g, `expected.safetensors has no grad.${name}`);
        const mine = p.grad?.f32 ?? new Float32Array(p.size);
        let scale = 0;
        let diff = 0;
        for (let i = 0; i < g.data.length; i++) {
          scale = Math.max(scale, Math.abs(g.data[i]));
          diff = Math.max(diff, Math.abs(mine[i] - g.data[i]));
        }
        assert.ok(
          diff <= 1e-3 * Math.max(scale, 1e-4),
          `grad.${name}: off by ${diff} (largest ${scale})`,
        );
        checked++;
      }
      assert.equal(checked, weights.tensors.size);
    });
  });
}
