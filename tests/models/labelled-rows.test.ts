// EncoderDecoderModel in training mode computes the loss from the logits of labelled positions
// only; it must give the loss, the gradients and (when read) the logits of the full projection.
// (Training also skips padding positions altogether, src/attention/unpadded.ts: their logits are
// compared in tests/models/unpadded.test.ts, the rest here.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { EncoderOnlyModel } from "../../src/models/encoder-only.js";
import * as T from "../../src/tensor/index.js";
import { forEachBackend } from "../helpers/backends.js";

const small = {
  vocab_size: 30,
  d_model: 16,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 32,
  decoder_ffn_dim: 32,
  dropout: 0,
};
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
/** The largest difference of logits [B, T, V] over the positions where `kept` is 1. */
const maxDiffAt = (a: T.Tensor, b: T.Tensor, kept: number[]) => {
  const V = a.shape[a.rank - 1];
  let worst = 0;
  kept.forEach((k, p) => {
    if (k)
      worst = Math.max(
        worst,
        maxDiff(a.f32.subarray(p * V, (p + 1) * V), b.f32.subarray(p * V, (p + 1) * V)),
      );
  });
  return worst;
};

forEachBackend("loss from labelled rows only", () => {
  for (const smoothing of [0, 0.1]) {
    test(`same loss, gradients and logits as the full projection (label smoothing ${smoothing})`, () => {
      const model = new EncoderDecoderModel(resolveConfig(small), 3);
      const batch = {
        input_ids: T.intTensor([5, 6, 7, 8, 9, 10, 0, 0], [2, 4]),
        attention_mask: T.intTensor([1, 1, 1, 1, 1, 1, 0, 0], [2, 4]),
        decoder_input_ids: T.intTensor([2, 11, 12, 13, 2, 14, 0, 0], [2, 4]),
        decoder_attention_mask: T.intTensor([1, 1, 1, 1, 1, 1, 0, 0], [2, 4]),
        labels: T.intTensor([11, 12, 13, 3, 14, 3, -100, -100], [2, 4]),
      };
      const run = (training: boolean) => {
        model.train(training);
        for (const p of model.parameters()) p.grad = null;
        const out = model.forward(batch, { labelSmoothing: smoothing });
        assert.ok(out.loss);
        T.backward(out.loss);
        const grads = model.parameters().map((p) => (p.grad as T.Tensor).f32.slice());
        return { loss: out.loss.item(), logits: out.logits, grads };
      };
      const full = run(false);
      const rows = run(true);
      assert.ok(Math.abs(full.loss - rows.loss) < 1e-6, `${full.loss} vs ${rows.loss}`);
      assert.deepEqual(rows.logits.shape, [2, 4, 30]);
      assert.ok(maxDiffAt(full.logits, rows.logits, [1, 1, 1, 1, 1, 1, 0, 0]) < 1e-6);
      let worst = 0;
      full.grads.forEach((g, i) => {
        worst = Math.max(worst, maxDiff(g, rows.grads[i]));
      });
      assert.ok(worst < 1e-6, `largest gradient difference ${worst}`);
      // The head's gradient is not zero, so the comparison covers it.
      assert.ok(full.grads.some((g) => g.some((x) => x !== 0)));
    });
  }

  test("decoder-only: same loss, gradients and logits as the full projection", () => {
    const model = new DecoderOnlyModel(
      resolveConfig({ ...small, maskwise_arch: "decoder-only" }),
      4,
    );
    const batch = {
      input_ids: T.intTensor([5, 6, 7, 8, 0, 9, 10, 11], [2, 4]),
      attention_mask: T.intTensor([1, 1, 1, 1, 0, 1, 1, 1], [2, 4]),
      labels: T.intTensor([6, 7, 8, -100, -100, 10, 11, -100], [2, 4]),
    };
    const run = (training: boolean) => {
      model.train(training);
      for (const p of model.parameters()) p.grad = null;
      const out = model.forward(batch, { labelSmoothing: 0.1 });
      assert.ok(out.loss);
      T.backward(out.loss);
      const grads = model.parameters().map((p) => (p.grad as T.Tensor).f32.slice());
      return { loss: out.loss.item(), logits: out.logits, grads };
    };
    const full = run(false);
    const rows = run(true);
    assert.ok(Math.abs(full.loss - rows.loss) < 1e-6, `${full.loss} vs ${rows.loss}`);
    assert.deepEqual(rows.logits.shape, [2, 4, 30]);
    assert.ok(maxDiffAt(full.logits, rows.logits, [1, 1, 1, 1, 0, 1, 1, 1]) < 1e-6);
    full.grads.forEach((g, i) => {
      assert.ok(maxDiff(g, rows.grads[i]) < 1e-6, `parameter ${i}`);
    });
  });

  test("encoder-only (masked LM, the head's dense and layer norm on the rows too): same as the full path", () => {
    const model = new EncoderOnlyModel(
      resolveConfig({ ...small, maskwise_arch: "encoder-only" }),
      5,
    );
    const batch = {
      input_ids: T.intTensor([5, 6, 7, 8, 9, 10, 11, 0], [2, 4]),
      attention_mask: T.intTensor([1, 1, 1, 1, 1, 1, 1, 0], [2, 4]),
      labels: T.intTensor([-100, 12, -100, -100, 13, -100, 14, -100], [2, 4]),
    };
    const run = (training: boolean) => {
      model.train(training);
      for (const p of model.parameters()) p.grad = null;
      const out = model.forward(batch);
      assert.ok(out.loss);
      T.backward(out.loss);
      const grads = model.parameters().map((p) => (p.grad as T.Tensor).f32.slice());
      return { loss: out.loss.item(), logits: out.logits, grads };
    };
    const full = run(false);
    const rows = run(true);
    assert.ok(Math.abs(full.loss - rows.loss) < 1e-6, `${full.loss} vs ${rows.loss}`);
    assert.ok(maxDiffAt(full.logits, rows.logits, [1, 1, 1, 1, 1, 1, 1, 0]) < 1e-6);
    full.grads.forEach((g, i) => {
      assert.ok(maxDiff(g, rows.grads[i]) < 1e-6, `parameter ${i}`);
    });
  });

  test("labels of another shape than the rows: the full path reports it", () => {
    const model = new DecoderOnlyModel(
      resolveConfig({ ...small, maskwise_arch: "decoder-only" }),
      4,
    );
    assert.throws(() =>
      model.forward({
        input_ids: T.intTensor([5, 6, 7, 8], [1, 4]),
        labels: T.intTensor([6, 7, -100], [1, 3]),
      }),
    );
  });

  test("every label ignored: the full path (no rows to pick) still gives a loss", () => {
    const model = new EncoderDecoderModel(resolveConfig(small), 3);
    const out = model.forward({
      input_ids: T.intTensor([5, 6], [1, 2]),
      decoder_input_ids: T.intTensor([2, 7], [1, 2]),
      labels: T.intTensor([-100, -100], [1, 2]),
    });
    assert.deepEqual(out.logits.shape, [1, 2, 30]);
    assert.ok(out.loss);
  });
});
