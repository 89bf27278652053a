// The train-step benchmark implements exactly ../shared/bench/train-step.json.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TRAIN_STEP_MODEL, trainStepBatch } from "../../src/cli/commands/bench-train-step.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { Rng } from "../../src/util/rng.js";

const file = join(import.meta.dirname, "..", "..", "..", "shared", "bench", "train-step.json");

test("model and batch follow the shared benchmark file", (t) => {
  if (!existsSync(file)) {
    t.skip(`${file} is absent`);
    return;
  }
  const spec = JSON.parse(readFileSync(file, "utf8"));
  const m = spec.model;
  const c = resolveConfig(TRAIN_STEP_MODEL);
  assert.equal(m.arch, "encoder-decoder");
  assert.equal(c.vocab_size, m.vocab_size);
  assert.equal(c.d_model, m.d_model);
  assert.equal(c.encoder_attention_heads, m.n_heads);
  assert.equal(c.decoder_attention_heads, m.n_heads);
  assert.equal(c.encoder_ffn_dim, m.d_ff);
  assert.equal(c.decoder_ffn_dim, m.d_ff);
  assert.equal(c.encoder_layers, m.encoder_layers);
  assert.equal(c.decoder_layers, m.decoder_layers);
  assert.equal(c.normalize_before, m.norm === "pre");
  assert.equal(c.activation_function, m.activation);
  assert.equal(c.position_embedding, m.positions);
  assert.equal(c.scale_embedding, m.embedding_scale === "sqrt(d_model)");
  assert.equal(c.tie_word_embeddings, m.tie_embeddings);
  assert.equal(c.dropout, m.dropout);
  assert.equal(c.layer_norm_eps, m.layer_norm_eps);
  assert.equal(c.init_std, m.init_std);
  assert.equal(c.pad_token_id, spec.batch.pad_id);
  // output_bias: final_logits_bias exists.
  const names = new EncoderDecoderModel(c).namedParameters().map(([n]) => n);
  assert.equal(m.output_bias, names.includes("final_logits_bias"));

  const batch = trainStepBatch(new Rng(0));
  assert.deepEqual(batch.input_ids.shape, [spec.batch.batch_size, spec.batch.src_len]);
  assert.deepEqual(batch.decoder_input_ids.shape, [spec.batch.batch_size, spec.batch.tgt_len]);
  for (let b = 0; b < 32; b++) {
    const real = 32 - 2 * (b % 8);
    const row = Array.from(batch.attention_mask.i32.subarray(b * 32, (b + 1) * 32));
    assert.deepEqual(row, [...Array(real).fill(1), ...Array(32 - real).fill(0)]);
    const ids = batch.input_ids.i32.subarray(b * 32, b * 32 + real);
    assert.ok(ids.every((x) => x >= 1 && x < m.vocab_size));
    assert.ok(batch.labels.i32.subarray(b * 32 + real, (b + 1) * 32).every((x) => x === -100));
  }
});
