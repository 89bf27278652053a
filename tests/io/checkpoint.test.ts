import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { averageCheckpoints } from "../../src/io/average.js";
import type { SafeTensor } from "../../src/io/safetensors.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { loadEncoderDecoder, saveModel } from "../../src/node/model-dir.js";
import { tempDir } from "../helpers/tmp.js";

test("a saved model directory round-trips bit for bit", () => {
  const dir = tempDir("ckpt");
  const cfg = resolveConfig({
    vocab_size: 40,
    d_model: 8,
    encoder_layers: 1,
    decoder_layers: 1,
    encoder_attention_heads: 2,
    decoder_attention_heads: 2,
    encoder_ffn_dim: 16,
    decoder_ffn_dim: 16,
    tie_word_embeddings: true,
    share_embeddings: true,
  });
  const model = new EncoderDecoderModel(cfg, 7);
  saveModel(dir, model);
  const first = readFileSync(join(dir, "model.safetensors"));
  const loaded = loadEncoderDecoder(dir);
  assert.deepEqual(loaded.config, model.config);
  for (const [[na, a], [nb, b]] of loaded
    .namedParameters()
    .map((p, i) => [p, model.namedParameters()[i]] as const)) {
    assert.equal(na, nb);
    assert.deepEqual(a.f32, b.f32);
  }
  // Tied and shared weights stay one tensor after loading.
  assert.equal(loaded.lm_head.weight, loaded.decoder.embed_tokens.weight);
  assert.equal(loaded.encoder.embed_tokens, loaded.decoder.embed_tokens);
  saveModel(dir, loaded);
  assert.deepEqual(readFileSync(join(dir, "model.safetensors")), first);
});

test("averaging checkpoints is the element-wise mean", () => {
  const t = (values: number[]): Map<string, SafeTensor> =>
    new Map([["w", { dtype: "F32", shape: [values.length], data: Float32Array.from(values) }]]);
  const avg = averageCheckpoints([t([1, 2, 3]), t([3, 2, 1]), t([2, 2, 2.5])]);
  assert.deepEqual(Array.from(avg.get("w")?.data ?? []), [2, 2, 6.5 / 3].map(Math.fround));
  assert.throws(
    () => averageCheckpoints([t([1, 2]), t([1, 2, 3])], ["a", "b"]),
    /shape \[3\], a has \[2\]/,
  );
  assert.throws(() => averageCheckpoints([]), /no checkpoints/);
});
