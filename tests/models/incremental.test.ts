// Incremental decoding on KV caches gives the logits of full recomputation at every step, with
// padded sources, a padded decoder row, and rows reordered as beam search does: through the
// modules with caches, and through the decoders that search runs on (Seq2SeqIncremental,
// DecoderOnlyIncremental, whose steps take the flat-array path), for pre- and post-norm,
// ReLU and GELU, sinusoidal and learned positions, and left-padded prompts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AttentionCache } from "../../src/attention/cache.js";
import type { DecoderLayerCache } from "../../src/models/blocks.js";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import {
  DecoderOnlyIncremental,
  decodingBf16Weights,
  Seq2SeqIncremental,
} from "../../src/models/incremental.js";
import { fromBf16, toBf16 } from "../../src/tensor/bf16.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";

function setup(normalize_before: boolean, extra: Record<string, unknown> = {}) {
  const cfg = resolveConfig({
    ...extra,
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
          const h = model.decoder.forward(step, maskSoFar, {
            memory,
            sourceMask: srcMask,
            caches,
          });
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
      model.decoder.forward(T.intTensor([1, 1], [2, 1]), T.intTensor([1, 1], [2, 1]), {
        memory: memory,
        sourceMask: srcMask,
        caches,
      });
      model.decoder.forward(T.intTensor([20, 30], [2, 1]), T.intTensor([1, 1, 1, 1], [2, 2]), {
        memory: memory,
        sourceMask: srcMask,
        caches,
      });
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
          { memory: memory2, sourceMask: srcMask2, caches },
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

/** Rows of `full` logits [N, T, V] at position t, for rows `rows`. */
function logitsAt(full: T.Tensor, rows: number[], t: number): Float32Array {
  const [, Tn, V] = full.shape;
  const out = new Float32Array(rows.length * V);
  rows.forEach((r, i) => {
    out.set(full.f32.subarray((r * Tn + t) * V, (r * Tn + t + 1) * V), i * V);
  });
  return out;
}

forEachBackend("decoders for search", () => {
  const variants: [string, boolean, Record<string, unknown>][] = [
    ["pre-norm", true, {}],
    ["post-norm", false, {}],
    [
      "gelu, learned positions, unscaled",
      true,
      {
        activation_function: "gelu",
        position_embedding: "learned",
        max_position_embeddings: 32,
        scale_embedding: false,
      },
    ],
  ];
  for (const [name, pre, extra] of variants) {
    test(`Seq2SeqIncremental steps equal full recomputation, with reorders (${name})`, () => {
      const model = setup(pre, extra);
      const src = T.intTensor([5, 6, 7, 8, 9, 10, 11, 0, 0, 0], [2, 5]);
      const srcMask = T.intTensor([1, 1, 1, 1, 1, 1, 1, 0, 0, 0], [2, 5]);
      const dec = new Seq2SeqIncremental(model, src, srcMask);
      // Hypotheses as (source row, tokens fed so far); reorders repeat and drop rows.
      let hyps = [
        { src: 0, fed: [] as number[] },
        { src: 1, fed: [] as number[] },
      ];
      const plan: (number[] | null)[] = [null, [1, 1, 0], null, [2, 0], [1, 1, 0, 0, 1]];
      for (let step = 0; step < plan.length + 1; step++) {
        const keep = plan[step - 1];
        if (keep) {
          dec.reorder(keep);
          hyps = keep.map((r) => ({ ...hyps[r], fed: [...hyps[r].fed] }));
        }
        const tokens = hyps.map((h, i) =>
          h.fed.length === 0 ? 1 : 12 + ((7 * i + 3 * step) % 30),
        );
        hyps.forEach((h, i) => {
          h.fed.push(tokens[i]);
        });
        const got = dec.next(Int32Array.from(tokens));
        assert.equal(dec.rows, hyps.length);
        const want = T.noGrad(
          () =>
            model.forward({
              input_ids: T.intTensor(
                hyps.flatMap((h) => Array.from(src.i32.subarray(h.src * 5, h.src * 5 + 5))),
                [hyps.length, 5],
              ),
              attention_mask: T.intTensor(
                hyps.flatMap((h) => Array.from(srcMask.i32.subarray(h.src * 5, h.src * 5 + 5))),
                [hyps.length, 5],
              ),
              decoder_input_ids: T.intTensor(
                hyps.flatMap((h) => h.fed),
                [hyps.length, step + 1],
              ),
            }).logits,
        );
        const expected = logitsAt(
          want,
          hyps.map((_, i) => i),
          step,
        );
        assert.ok(maxDiff(got, expected) < 1e-5, `step ${step}: ${maxDiff(got, expected)}`);
      }
    });
  }

  test("bfloat16 products: close to float32 on rounded weights, the same for 1, 2 and 10 rows", () => {
    const untied = { tie_word_embeddings: false };
    const model = setup(true, untied);
    // The same model with the weights a step multiplies by rounded to bfloat16 (the encoder and
    // the cross-attention keys and values stay float32, as the bfloat16 path keeps them).
    const rounded = setup(true, untied);
    const round = (w: Float32Array) => w.set(fromBf16(toBf16(w)));
    for (const layer of rounded.decoder.layers.items) {
      for (const lin of [
        layer.self_attn.q_proj,
        layer.self_attn.k_proj,
        layer.self_attn.v_proj,
        layer.self_attn.out_proj,
        layer.encoder_attn?.q_proj,
        layer.encoder_attn?.out_proj,
        layer.fc1,
        layer.fc2,
      ])
        if (lin) round(lin.weight.f32);
    }
    round(rounded.lm_head.weight.f32);
    const bf16 = decodingBf16Weights(model);
    for (const N of [2, 10]) {
      const S = 4;
      const src = T.intTensor(
        Array.from({ length: N * S }, (_, i) => (i % S < S - (i % 3) ? 5 + ((i * 7) % 40) : 0)),
        [N, S],
      );
      const srcMask = T.intTensor(
        Array.from(src.i32, (t) => (t === 0 ? 0 : 1)),
        [N, S],
      );
      const half = new Seq2SeqIncremental(model, src, srcMask, { weights: bf16 });
      const wide = new Seq2SeqIncremental(rounded, src, srcMask);
      const plain = new Seq2SeqIncremental(model, src, srcMask);
      // Each source decoded alone: one row through the same bfloat16 products.
      const row = (t: T.Tensor, r: number) =>
        T.intTensor(Array.from(t.i32.subarray(r * S, r * S + S)), [1, S]);
      const alone = Array.from(
        { length: N },
        (_, r) => new Seq2SeqIncremental(model, row(src, r), row(srcMask, r), { weights: bf16 }),
      );
      for (let step = 0; step < 4; step++) {
        const tokens = Int32Array.from({ length: N }, (_, r) => (step === 0 ? 1 : 10 + r + step));
        const got = half.next(tokens).slice();
        const want = wide.next(tokens);
        const f32 = plain.next(tokens);
        // The products' inputs are rounded to bfloat16 as well (relative error up to 2^-9), so
        // the logits are near, not equal to, float32 decoding on the rounded weights.
        const near = maxDiff(got, want);
        assert.ok(near < 2e-2, `N ${N} step ${step}: ${near} from the rounded weights' logits`);
        // The rounding is visible: these are not the float32 weights' logits.
        assert.ok(maxDiff(got, f32) > 1e-5, `N ${N} step ${step}: bfloat16 path not taken`);
        const V = got.length / N;
        for (let r = 0; r < N; r++) {
          const one = alone[r].next(tokens.subarray(r, r + 1));
          const mine = got.subarray(r * V, (r + 1) * V);
          assert.ok(
            maxDiff(one, mine) < 1e-5,
            `N ${N} step ${step} row ${r}: ${maxDiff(one, mine)}`,
          );
        }
      }
    }
    assert.ok(bf16.bytes > 0);
  });

  test("DecoderOnlyIncremental steps equal full recomputation of left-padded prompts", () => {
    const cfg = resolveConfig({
      maskwise_arch: "decoder-only",
      vocab_size: 40,
      d_model: 16,
      encoder_layers: 0,
      decoder_layers: 2,
      decoder_attention_heads: 4,
      decoder_ffn_dim: 24,
      pad_token_id: 1,
    });
    const model = new DecoderOnlyModel(cfg, 6).eval();
    const rng = new Rng(10);
    for (const p of model.parameters())
      for (let i = 0; i < p.size; i++) p.f32[i] += rng.normal() * 0.05;
    const prompts = [
      [0, 5, 6, 7],
      [0, 9],
      [0, 10, 11],
    ];
    const P = 4;
    const ids = new Int32Array(3 * P).fill(1);
    const mask = new Int32Array(3 * P);
    prompts.forEach((p, r) => {
      ids.set(p, r * P + P - p.length);
      mask.fill(1, r * P + P - p.length, (r + 1) * P);
    });
    const dec = new DecoderOnlyIncremental(
      model,
      T.intTensor(ids, [3, P]),
      T.intTensor(mask, [3, P]),
    );
    // Each row: its padded ids and mask so far.
    let rows = prompts.map((_, r) => ({
      ids: Array.from(ids.subarray(r * P, (r + 1) * P)),
      mask: Array.from(mask.subarray(r * P, (r + 1) * P)),
    }));
    const plan: (number[] | null)[] = [null, null, [2, 0, 0], null, [1, 2]];
    for (let step = 0; step < 20; step++) {
      const keep = plan[step];
      if (keep) {
        dec.reorder(keep);
        rows = keep.map((r) => ({ ids: [...rows[r].ids], mask: [...rows[r].mask] }));
      }
      const tokens = rows.map((_, i) => 3 + ((5 * i + step) % 30));
      if (step > 0)
        rows.forEach((row, i) => {
          row.ids.push(tokens[i]);
          row.mask.push(1);
        });
      const got = dec.next(Int32Array.from(tokens));
      const len = rows[0].ids.length;
      const full = T.noGrad(
        () =>
          model.forward({
            input_ids: T.intTensor(
              rows.flatMap((r) => r.ids),
              [rows.length, len],
            ),
            attention_mask: T.intTensor(
              rows.flatMap((r) => r.mask),
              [rows.length, len],
            ),
          }).logits,
      );
      const expected = logitsAt(
        full,
        rows.map((_, i) => i),
        len - 1,
      );
      assert.ok(maxDiff(got, expected) < 1e-5, `step ${step}: ${maxDiff(got, expected)}`);
    }
  });
});
