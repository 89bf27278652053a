// A toy translator for batching tests: ids written as numbers, and a small encoder-decoder whose
// random weights are perturbed (so attention is not flat) with eos made likely enough that
// sentences of one batch end at different steps.
import assert from "node:assert/strict";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import type { TextCodec } from "../../src/train/translate.js";
import { Rng } from "../../src/util/rng.js";

/** Ids written as numbers: "5 6 7" <-> [5, 6, 7]. */
export const numberCodec: TextCodec = {
  encode: (text) => text.split(" ").filter(Boolean).map(Number),
  decode: (ids) => ids.join(" "),
};

/**
 * A 2 + 2-layer model (d_model 32, vocabulary 40) built with `seed`, every weight moved by
 * `noise` times a normal draw from Rng(noiseSeed), and final_logits_bias[eos] = eosBias.
 */
export function toyTranslator(o: {
  seed: number;
  noiseSeed: number;
  noise: number;
  eosBias: number;
}): EncoderDecoderModel {
  const cfg = resolveConfig({
    vocab_size: 40,
    d_model: 32,
    encoder_layers: 2,
    decoder_layers: 2,
    encoder_attention_heads: 4,
    decoder_attention_heads: 4,
    encoder_ffn_dim: 64,
    decoder_ffn_dim: 64,
  });
  const model = new EncoderDecoderModel(cfg, o.seed).eval();
  const rng = new Rng(o.noiseSeed);
  for (const p of model.parameters())
    for (let i = 0; i < p.size; i++) p.f32[i] += rng.normal() * o.noise;
  const bias = model.final_logits_bias;
  assert.ok(bias);
  bias.f32[cfg.eos_token_id] = o.eosBias;
  return model;
}
