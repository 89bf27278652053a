// Training computes the real positions only (src/attention/unpadded.ts). What must hold: the
// layout primitives are each other's inverse with correct gradients, and a model's loss and
// every parameter's gradient are those of the padded computation, for all three architectures,
// with right and left padding, prefix-LM masks, post-norm and learned positions.
import assert from "node:assert/strict";
import { test } from "node:test";
import { splitHeads } from "../../src/attention/cache.js";
import { MultiHeadAttention } from "../../src/attention/multi-head.js";
import { headsToRows, padRows, rowsToHeads, Unpadded } from "../../src/attention/unpadded.js";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { EncoderOnlyModel } from "../../src/models/encoder-only.js";
import * as T from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";
import { countAndGrids } from "../helpers/mask-grids.js";

const small = {
  vocab_size: 40,
  d_model: 16,
  encoder_layers: 2,
  decoder_layers: 2,
  encoder_attention_heads: 2,
  decoder_attention_heads: 4,
  encoder_ffn_dim: 24,
  decoder_ffn_dim: 24,
  dropout: 0,
};

test("Unpadded.of keeps real and labelled positions, in order", () => {
  const mask = T.intTensor([1, 1, 0, 0, 0, 1, 1, 0], [2, 4]);
  const labels = T.intTensor([5, -100, 7, -100, -100, 3, -100, -100], [2, 4]);
  const a = Unpadded.of(mask);
  assert.ok(a);
  assert.deepEqual([...a.rows], [0, 1, 5, 6]);
  const b = Unpadded.of(mask, labels);
  assert.ok(b);
  assert.deepEqual([...b.rows], [0, 1, 2, 5, 6]);
  assert.deepEqual(
    [...b.pick(T.intTensor([10, 11, 12, 13, 14, 15, 16, 17], [2, 4])).i32],
    [10, 11, 12, 15, 16],
  );
  // Nothing to drop, or labels of another shape: no layout (the full path runs).
  assert.equal(Unpadded.of(T.intTensor([1, 1, 1, 1], [2, 2])), null);
  assert.equal(Unpadded.of(mask, T.intTensor([1, 2, 3], [1, 3])), null);
  assert.throws(() => b.pick(T.intTensor([1, 2], [1, 2])), /cannot pick rows/);
});

forEachBackend("unpadded layout primitives", () => {
  const mask = T.intTensor([1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0], [3, 4]);
  const layout = Unpadded.of(mask) as Unpadded;
  const N = layout.count; // 6

  test("rowsToHeads is splitHeads of the padded rows; headsToRows undoes it", () => {
    const rng = new Rng(1);
    const x = randomTensor([N, 12], rng);
    const heads = rowsToHeads(x, layout, 3);
    assert.deepEqual(heads.shape, [3, 3, 4, 4]);
    const padded = padRows(x, layout); // [B, T, D]
    const expected = splitHeads(padded, 3);
    assert.deepEqual([...heads.f32], [...expected.f32]);
    // Padding rows are zero.
    for (let t = 3; t < 4; t++) {
      for (let d = 0; d < 12; d++) assert.equal(padded.f32[(0 * 4 + t) * 12 + d], 0);
    }
    assert.deepEqual([...headsToRows(heads, layout).f32], [...x.f32]);
  });

  test("gradients against finite differences", () => {
    const rng = new Rng(2);
    gradcheck("rowsToHeads", (x) => rowsToHeads(x, layout, 2), [randomTensor([N, 8], rng)]);
    gradcheck("headsToRows", (x) => headsToRows(x, layout), [randomTensor([3, 2, 4, 4], rng)]);
    // x used twice: the second gradient is added to the first.
    gradcheck(
      "rowsToHeads twice",
      (x) => T.add(rowsToHeads(x, layout, 2), T.reshape(rowsToHeads(x, layout, 4), [3, 2, 4, 4])),
      [randomTensor([N, 8], rng)],
    );
  });

  test("wrong shapes are reported, and a cache is refused", () => {
    assert.throws(() => rowsToHeads(T.zeros([N + 1, 8]), layout, 2), /rowsToHeads needs \[6, D\]/);
    assert.throws(() => headsToRows(T.zeros([3, 2, 5, 4]), layout), /headsToRows needs/);
    const attn = new MultiHeadAttention(8, 2, { rng: new Rng(3) });
    assert.throws(() => attn.forward(T.zeros([3, 4, 8]), { rows: layout }), /attention input/);
  });
});

/** Two rows of 4 positions, the second half padding: a training step in dropout checks. */
function shortBatch() {
  return {
    input_ids: T.intTensor([5, 6, 7, 0, 9, 10, 0, 0], [2, 4]),
    decoder_input_ids: T.intTensor([2, 11, 12, 0, 2, 14, 0, 0], [2, 4]),
    labels: T.intTensor([11, 12, 3, -100, 14, 3, -100, -100], [2, 4]),
  };
}

/** Loss, parameter gradients and logits of one training-mode forward, with or without unpadding. */
function trainStep(
  model: { parameters(): T.Tensor[]; train(on: boolean): unknown },
  forward: (unpad: boolean) => { logits: T.Tensor; loss: T.Tensor | null },
  unpad: boolean,
) {
  model.train(true);
  for (const p of model.parameters()) p.grad = null;
  const out = forward(unpad);
  assert.ok(out.loss);
  T.backward(out.loss);
  return {
    loss: out.loss.item(),
    grads: model.parameters().map((p) => (p.grad ? p.grad.f32.slice() : null)),
    logits: out.logits,
  };
}

/** Both runs agree in loss and gradients; logits agree where kept and are `padLogits` elsewhere. */
function assertSame(
  a: ReturnType<typeof trainStep>,
  b: ReturnType<typeof trainStep>,
  kept: number[],
  padLogits: Float32Array,
) {
  assert.ok(
    Math.abs(a.loss - b.loss) < 1e-5 * Math.max(1, Math.abs(a.loss)),
    `${a.loss} vs ${b.loss}`,
  );
  let worst = 0;
  let nonzero = 0;
  a.grads.forEach((g, i) => {
    const h = b.grads[i];
    assert.equal(g === null, h === null, `parameter ${i} has a gradient on one side only`);
    if (!g || !h) return;
    for (let j = 0; j < g.length; j++) {
      worst = Math.max(worst, Math.abs(g[j] - h[j]) / (1e-3 + Math.abs(g[j])));
      if (g[j] !== 0) nonzero++;
    }
  });
  assert.ok(worst < 1e-3, `largest relative gradient difference ${worst}`);
  assert.ok(nonzero > 100, "the gradients compared are not all zero");
  const V = a.logits.shape[a.logits.rank - 1];
  kept.forEach((k, p) => {
    for (let v = 0; v < V; v++) {
      const want = k ? a.logits.f32[p * V + v] : padLogits[v];
      assert.ok(Math.abs(b.logits.f32[p * V + v] - want) < 1e-5, `logit ${v} at position ${p}`);
    }
  });
}

forEachBackend("training on real positions only", () => {
  for (const [name, extra] of [
    ["pre-norm, sinusoidal", { normalize_before: true }],
    ["post-norm, learned positions", { normalize_before: false, position_embedding: "learned" }],
  ] as const) {
    test(`encoder-decoder (${name}): same loss and gradients as the padded batch`, () => {
      const model = new EncoderDecoderModel(resolveConfig({ ...small, ...extra }), 7);
      const batch = {
        input_ids: T.intTensor([5, 6, 7, 8, 9, 10, 11, 0, 0, 12, 0, 0, 0, 0, 0], [3, 5]),
        decoder_input_ids: T.intTensor([2, 11, 12, 13, 0, 2, 14, 15, 0, 0, 2, 16, 0, 0, 0], [3, 5]),
        // Row 2's third position is hidden as a key yet labelled: it is still computed.
        decoder_attention_mask: T.intTensor([1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0], [3, 5]),
        labels: T.intTensor(
          [11, 12, 13, 3, -100, 14, 15, 3, -100, -100, 16, 3, 17, -100, -100],
          [3, 5],
        ),
      };
      const forward = (unpad: boolean) => model.forward(batch, { labelSmoothing: 0.1, unpad });
      const padded = trainStep(model, forward, false);
      const unpadded = trainStep(model, forward, true);
      const bias = model.final_logits_bias?.f32 as Float32Array;
      assertSame(padded, unpadded, [1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0], bias);
    });
  }

  test("decoder-only, left padding and prefix-LM masks: same loss and gradients", () => {
    const model = new DecoderOnlyModel(
      resolveConfig({ ...small, maskwise_arch: "decoder-only" }),
      8,
    );
    const batch = {
      input_ids: T.intTensor([0, 0, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 13, 14], [3, 5]),
      attention_mask: T.intTensor([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1], [3, 5]),
      labels: T.intTensor(
        [-100, -100, -100, 7, 8, -100, 10, 11, 12, 3, -100, -100, -100, 14, 3],
        [3, 5],
      ),
      prefix_lengths: [3, 2, 4],
    };
    const forward = (unpad: boolean) => model.forward(batch, { unpad });
    const padded = trainStep(model, forward, false);
    const unpadded = trainStep(model, forward, true);
    assertSame(
      padded,
      unpadded,
      [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1],
      model.final_logits_bias?.f32 as Float32Array,
    );
  });

  test("encoder-only masked LM: same loss and gradients", () => {
    const model = new EncoderOnlyModel(
      resolveConfig({ ...small, maskwise_arch: "encoder-only" }),
      9,
    );
    const batch = {
      input_ids: T.intTensor([5, 4, 7, 8, 0, 9, 4, 0, 0, 0], [2, 5]),
      labels: T.intTensor([-100, 6, -100, 12, -100, -100, 13, -100, -100, -100], [2, 5]),
    };
    const forward = (unpad: boolean) => model.forward(batch, { unpad });
    const padded = trainStep(model, forward, false);
    const unpadded = trainStep(model, forward, true);
    // Positions not computed read the head applied to a zero state.
    const head = T.noGrad(() => model.lm_head.forward(T.zeros([1, 16])));
    assertSame(padded, unpadded, [1, 1, 1, 1, 0, 1, 1, 0, 0, 0], head.f32);
  });

  test("with dropout the unpadded step trains (a finite loss, gradients everywhere)", () => {
    const model = new EncoderDecoderModel(resolveConfig({ ...small, dropout: 0.3 }), 7);
    model.train(true);
    const out = model.forward(shortBatch(), { rng: new Rng(4) });
    assert.ok(out.loss && Number.isFinite(out.loss.item()));
    T.backward(out.loss);
    for (const p of model.parameters()) assert.ok(p.grad, "every parameter gets a gradient");
  });
});

test("a decoder builds its causal mask's grid once per forward, however many layers", () => {
  // Every layer asks the decoder for its self-attention mask; the attention caches a mask's grid
  // per mask object, so one object for all layers means one grid (a new object per layer
  // rebuilt the grid, the block map and the kept-queries mask in each layer).
  const grids = (layers: number) =>
    countAndGrids(/causal/, () => {
      const model = new EncoderDecoderModel(resolveConfig({ ...small, decoder_layers: layers }), 7);
      model.train(true);
      const out = model.forward(shortBatch(), { rng: new Rng(4) });
      assert.ok(out.loss && Number.isFinite(out.loss.item()));
    });
  const one = grids(1);
  assert.ok(one >= 1, "the causal mask's grid is built");
  assert.equal(grids(3), one);
});
