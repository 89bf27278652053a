// T5 (transformers' T5ForConditionalGeneration, v1.0 and v1.1): an encoder-decoder with RMS
// layer norms, relative-position buckets instead of position embeddings, unscaled attention and
// a ReLU or gated-GELU feed-forward, read from and written to its Hugging Face layout;
// fine-tunes on the seq2seq tasks and continues span-corruption pretraining. Decoding starts from decoder_start_token_id (the pad id).
import { transformersFamily } from "../transformers.js";
import { type T5Config, t5Config, t5ConfigJson, t5TieGroups } from "./config.js";
import { T5Model } from "./model.js";

export const t5 = transformersFamily({
  name: "t5",
  structure: "encoder-decoder",
  description: "T5 v1.0 and v1.1 (transformers' T5ForConditionalGeneration)",
  resolveConfig: (raw, source) => t5Config(raw, source),
  build: (config, seed) => new T5Model(config as T5Config, seed),
  configJson: t5ConfigJson,
  // T5's own pretraining: span corruption with its <extra_id_N> sentinels.
  objectives: ["span"],
  fileLayout: (config) => ({
    tieGroups: t5TieGroups(config),
    // The original checkpoints (t5-small, ...) carry a bias table in the decoder's first
    // cross-attention that T5 never uses.
    ignore: [/^decoder\.block\.0\.layer\.1\.EncDecAttention\.relative_attention_bias\.weight$/],
    order: "transformers",
  }),
});
