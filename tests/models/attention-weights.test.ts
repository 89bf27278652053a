// Attention weights on request (what `maskwise serve` shows): asking for them changes no output,
// each layer gives [B, H, Tq, Tk] rows that sum to 1, and padded source keys get exactly 0.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import * as T from "../../src/tensor/index.js";

const cfg = resolveConfig({
  vocab_size: 30,
  d_model: 16,
  encoder_layers: 2,
  decoder_layers: 2,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 32,
  decoder_ffn_dim: 32,
  dropout: 0,
});

for (const normalize_before of [true, false]) {
  test(`encoder and decoder weights (${normalize_before ? "pre" : "post"}-norm)`, () => {
    const model = new EncoderDecoderModel({ ...cfg, normalize_before }, 5).eval();
    // Row 1 has two padded source keys.
    const ids = T.intTensor([5, 6, 7, 8, 9, 10, 11, 0, 0, 0], [2, 5]);
    const mask = T.intTensor([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [2, 5]);
    const dec = T.intTensor([1, 12, 13, 1, 14, 15], [2, 3]);
    const decMask = T.intTensor([1, 1, 1, 1, 1, 1], [2, 3]);
    T.noGrad(() => {
      const plain = model.encoder.forward(ids, mask);
      const encW: { self?: T.Tensor }[] = [];
      const memory = model.encoder.forward(ids, mask, { weights: encW });
      assert.deepEqual(Array.from(memory.f32), Array.from(plain.f32));
      const decW: { self?: T.Tensor; cross?: T.Tensor }[] = [];
      model.decoder.forward(dec, decMask, { memory, sourceMask: mask, weights: decW });
      assert.equal(encW.length, 2);
      assert.equal(decW.length, 2);
      const check = (w: T.Tensor | undefined, Tq: number, Tk: number, zeroKeysRow1: number[]) => {
        assert.ok(w);
        assert.deepEqual(w.shape, [2, 2, Tq, Tk]);
        const d = w.f32;
        for (let b = 0; b < 2; b++) {
          for (let h = 0; h < 2; h++) {
            for (let i = 0; i < Tq; i++) {
              const row = d.subarray(((b * 2 + h) * Tq + i) * Tk, ((b * 2 + h) * Tq + i + 1) * Tk);
              assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5);
              if (b === 1) for (const j of zeroKeysRow1) assert.equal(row[j], 0);
            }
          }
        }
      };
      for (const w of encW) check(w.self, 5, 5, [3, 4]);
      for (const w of decW) {
        check(w.cross, 3, 5, [3, 4]);
        check(w.self, 3, 3, []);
        // Causal: query 0 of the decoder sees only key 0.
        assert.equal(w.self?.f32[1], 0);
      }
    });
  });
}
