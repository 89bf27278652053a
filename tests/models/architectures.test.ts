// Decoder-only and encoder-only models: causality, padding invariance, learning a tiny task,
// and parameter names in the documented layout.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { EncoderOnlyModel } from "../../src/models/encoder-only.js";
import { AdamW } from "../../src/optim/adamw.js";
import * as T from "../../src/tensor/index.js";

const small = {
  vocab_size: 30,
  d_model: 16,
  encoder_layers: 1,
  decoder_layers: 2,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 32,
  decoder_ffn_dim: 32,
  dropout: 0,
};
const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

test("decoder-only: a later token never changes earlier logits; left padding is invisible", () => {
  const model = new DecoderOnlyModel(
    resolveConfig({ ...small, maskwise_arch: "decoder-only" }),
    3,
  ).eval();
  T.noGrad(() => {
    const a = model.forward({ input_ids: T.intTensor([5, 6, 7, 8], [1, 4]) }).logits;
    const b = model.forward({ input_ids: T.intTensor([5, 6, 7, 9], [1, 4]) }).logits;
    const V = 30;
    assert.ok(maxDiff(a.f32.subarray(0, 3 * V), b.f32.subarray(0, 3 * V)) === 0);
    assert.ok(maxDiff(a.f32.subarray(3 * V), b.f32.subarray(3 * V)) > 0);
    const left = model.forward({
      input_ids: T.intTensor([0, 0, 5, 6, 7, 8], [1, 6]),
      attention_mask: T.intTensor([0, 0, 1, 1, 1, 1], [1, 6]),
    }).logits;
    assert.ok(maxDiff(left.f32.subarray(2 * V), a.f32) < 1e-5);
  });
});

test("decoder-only learns to continue a fixed sequence", () => {
  const model = new DecoderOnlyModel(resolveConfig({ ...small, maskwise_arch: "decoder-only" }), 1);
  const opt = new AdamW(model.parameters(), { lr: 0.01, weightDecay: 0 });
  const ids = T.intTensor([1, 3, 5, 7, 9, 11], [1, 6]);
  const labels = T.intTensor([3, 5, 7, 9, 11, -100], [1, 6]);
  let loss = 0;
  for (let i = 0; i < 60; i++) {
    opt.zeroGrad();
    const out = model.forward({ input_ids: ids, labels });
    loss = out.loss?.item() ?? Number.NaN;
    if (out.loss) T.backward(out.loss);
    opt.update();
  }
  assert.ok(loss < 0.1, `loss ${loss}`);
});

test("encoder-only: masked-LM head, padding invariance, tied decoder", () => {
  const model = new EncoderOnlyModel(
    resolveConfig({ ...small, maskwise_arch: "encoder-only", tie_word_embeddings: true }),
    2,
  ).eval();
  const names = model.namedParameters().map(([n]) => n);
  assert.ok(
    names.includes("lm_head.dense.weight") &&
      names.includes("lm_head.bias") &&
      names.includes("lm_head.decoder.weight"),
  );
  assert.equal(model.lm_head.decoder.weight, model.encoder.embed_tokens.weight);
  T.noGrad(() => {
    const a = model.forward({ input_ids: T.intTensor([5, 6, 7], [1, 3]) }).logits;
    const b = model.forward({ input_ids: T.intTensor([5, 6, 7, 0, 0], [1, 5]) }).logits;
    assert.ok(maxDiff(a.f32, b.f32.subarray(0, 90)) < 1e-5);
  });
});

test("encoder-decoder names follow the BART layout", () => {
  const names = new EncoderDecoderModel(resolveConfig({ ...small, normalize_before: true }))
    .namedParameters()
    .map(([n]) => n);
  for (const n of [
    "model.encoder.embed_tokens.weight",
    "model.decoder.embed_tokens.weight",
    "model.encoder.layers.0.self_attn.q_proj.weight",
    "model.encoder.layers.0.self_attn_layer_norm.bias",
    "model.encoder.layers.0.fc1.weight",
    "model.encoder.layer_norm.weight",
    "model.decoder.layers.1.encoder_attn.out_proj.bias",
    "model.decoder.layers.1.encoder_attn_layer_norm.weight",
    "model.decoder.layer_norm.bias",
    "lm_head.weight",
    "final_logits_bias",
  ]) {
    assert.ok(names.includes(n), `missing ${n}`);
  }
});

test("unknown and invalid config keys are rejected with the key named", () => {
  assert.throws(() => resolveConfig({ d_modell: 4 }), /unknown config key 'd_modell'/);
  assert.throws(
    () => resolveConfig({ d_model: 10, encoder_attention_heads: 4 }),
    /encoder_attention_heads' must divide d_model 10/,
  );
  assert.throws(() => resolveConfig({ activation_function: "swish" }), /must be relu or gelu/);
  assert.throws(() => resolveConfig({ dropout: "0.1" }), /'dropout' must be a number/);
});
