// Incremental decoding on KV caches gives the logits of full recomputation at every step, with
// padded sources, a padded decoder row, and rows reordered as beam search does.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AttentionCache } from "../../src/attention/cache.js";
import type { DecoderLayerCache } from "../../src/models/blocks.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

function setup(normalize_before: boolean) {
  const cfg = resolveConfig({
    vocab_size: 50,
    d_model: 16,
    encoder_layers: 2,
    decoder_layers: 2,
    encoder_attention_heads: 2,
    decoder_attention_heads: 2,
    encoder_ffn_dim: 32,
    decoder_ffn_dim: 32,
    normalize_before,
  });
  const model = new EncoderDecoderModel(cfg, 5).eval();
  // Non-zero biases so that every parameter matters.
  const rng = new Rng(9);
  for (const p of model.parameters())
    for (let i = 0; i < p.size; i++) p.f32[i] += rng.normal() * 0.05;
  return model;
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

forEachBackend("incremental decoding", () => {
  for (const pre of [true, false]) {
    test(`cached decoding equals full recomputation (${pre ? "pre" : "post"}-norm)`, () => {
      const model = setup(pre);
      const src = T.intTensor([5, 6, 7, 8, 9, 10, 11, 0, 0, 0], [2, 5]);
      const srcMask = T.intTensor([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], [2, 5]);
      const tgt = [
        [1, 20, 21, 22, 23],
        [1, 30, 31, 0, 0],
      ];
      const tgtMask = [
        [1, 1, 1, 1, 1],
        [1, 1, 1, 0, 0],
      ];
      const T_ = 5;
      T.noGrad(() => {
        const full = model.forward({
          input_ids: src,
          attention_mask: srcMask,
          decoder_input_ids: T.intTensor(tgt.flat(), [2, T_]),
          decoder_attention_mask: T.intTensor(tgtMask.flat(), [2, T_]),
        }).logits;
        const memory = model.encode(src, srcMask);
        const caches: DecoderLayerCache[] = model.decoder.layers.items.map(() => ({
          self: new AttentionCache(),
          cross: new AttentionCache(),
        }));
        for (let t = 0; t < T_; t++) {
          const step = T.intTensor([tgt[0][t], tgt[1][t]], [2, 1]);
          const maskSoFar = T.intTensor(
            [...tgtMask[0].slice(0, t + 1), ...tgtMask[1].slice(0, t + 1)],
            [2, t + 1],
          );
          const h = model.decoder.forward(step, maskSoFar, memory, srcMask, undefined, caches);
          const logits = model.project(h);
          const V = logits.shape[2];
          for (let b = 0; b < 2; b++) {
            if (tgtMask[b][t] === 0) continue; // padded positions' outputs are never used
            const want = full.f32.subarray((b * T_ + t) * V, (b * T_ + t + 1) * V);
            const got = logits.f32.subarray(b * V, (b + 1) * V);
            assert.ok(maxDiff(got, want) < 1e-5, `row ${b} step ${t}: ${maxDiff(got, want)}`);
          }
        }
        assert.equal(caches[0].self.length, T_);
        assert.equal(caches[0].cross.length, 5);
      });
    });
  }

  test("reordering cached rows equals decoding the reordered batch", () => {
    const model = setup(true);
    T.noGrad(() => {
      const src = T.intTensor([5, 6, 7, 8, 9, 10], [2, 3]);
      const srcMask = T.intTensor([1, 1, 1, 1, 1, 1], [2, 3]);
      const memory = model.encode(src, srcMask);
      const caches: DecoderLayerCache[] = model.decoder.layers.items.map(() => ({
        self: new AttentionCache(),
        cross: new AttentionCache(),
      }));
      model.decoder.forward(
        T.intTensor([1, 1], [2, 1]),
        T.intTensor([1, 1], [2, 1]),
        memory,
        srcMask,
        undefined,
        caches,
      );
      model.decoder.forward(
        T.intTensor([20, 30], [2, 1]),
        T.intTensor([1, 1, 1, 1], [2, 2]),
        memory,
        srcMask,
        undefined,
        caches,
      );
      // Keep row 1 twice (two beams of the second sentence), then step once more.
      for (const c of caches) {
        c.self.reorder([1, 1]);
        c.cross.reorder([1, 1]);
      }
      const mem1 = T.slice(memory, 0, 1, 2);
      const memory2 = T.concat([mem1, mem1], 0);
      const srcMask2 = T.intTensor([1, 1, 1, 1, 1, 1], [2, 3]);
      const stepped = model.project(
        model.decoder.forward(
          T.intTensor([31, 32], [2, 1]),
          T.intTensor([1, 1, 1, 1, 1, 1], [2, 3]),
          memory2,
          srcMask2,
          undefined,
          caches,
        ),
      );
      const full = model.forward({
        input_ids: T.intTensor([8, 9, 10, 8, 9, 10], [2, 3]),
        decoder_input_ids: T.intTensor([1, 30, 31, 1, 30, 32], [2, 3]),
      }).logits;
      const V = full.shape[2];
      for (let b = 0; b < 2; b++) {
        const want = full.f32.subarray((b * 3 + 2) * V, (b * 3 + 3) * V);
        assert.ok(maxDiff(stepped.f32.subarray(b * V, (b + 1) * V), want) < 1e-5);
      }
    });
  });

  test("left padding does not shift positions", () => {
    const model = setup(true);
    T.noGrad(() => {
      const right = model.forward({
        input_ids: T.intTensor([5, 6, 7, 0, 0], [1, 5]),
        decoder_input_ids: T.intTensor([1, 20, 21], [1, 3]),
      }).logits;
      const left = model.forward({
        input_ids: T.intTensor([0, 0, 5, 6, 7], [1, 5]),
        attention_mask: T.intTensor([0, 0, 1, 1, 1], [1, 5]),
        decoder_input_ids: T.intTensor([1, 20, 21], [1, 3]),
      }).logits;
      assert.ok(maxDiff(right.f32, left.f32) < 1e-5, `${maxDiff(right.f32, left.f32)}`);
    });
  });
});
