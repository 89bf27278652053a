// BART's and mBART's config.json (transformers' BartConfig / MBartConfig) as maskwise's
// encoder-decoder config: learned positions with two rows before position 0, a layer norm on
// each stack's input (layernorm_embedding), one token embedding shared by encoder, decoder and
// (tied) head, final_logits_bias. BART is post-norm; mBART pre-norm with a final layer norm per
// stack. Layer norms use PyTorch's default eps 1e-5.
import { type ModelConfig, resolveConfig } from "../../config.js";
import { type HfSchema, idOr, readHfConfig, writeHfConfig } from "../hf-config.js";

/** The keys both read, with BartConfig's defaults (MBartConfig's are the same). */
export const BART_KEYS: HfSchema = {
  vocab_size: { type: "integer", default: 50265 },
  d_model: { type: "integer", default: 1024 },
  encoder_layers: { type: "integer", default: 12 },
  decoder_layers: { type: "integer", default: 12 },
  encoder_attention_heads: { type: "integer", default: 16 },
  decoder_attention_heads: { type: "integer", default: 16 },
  encoder_ffn_dim: { type: "integer", default: 4096 },
  decoder_ffn_dim: { type: "integer", default: 4096 },
  activation_function: { type: "string", default: "gelu", oneOf: ["gelu", "relu"] },
  dropout: { type: "number", default: 0.1 },
  attention_dropout: { type: "number", default: 0 },
  activation_dropout: { type: "number", default: 0 },
  init_std: { type: "number", default: 0.02 },
  max_position_embeddings: { type: "integer", default: 1024 },
  scale_embedding: { type: "boolean", default: false },
  tie_word_embeddings: { type: "boolean", default: true },
  pad_token_id: { type: "integer", default: 1, nullable: true },
  bos_token_id: { type: "integer", default: 0, nullable: true },
  eos_token_id: { type: "integer", default: 2, nullable: true },
  decoder_start_token_id: { type: "integer", default: 2, nullable: true },
};

/** A BART-layout config.json as the encoder-decoder's config; `family` names it. */
export function bartConfig(
  family: string,
  raw: Readonly<Record<string, unknown>>,
  source: string,
  preNorm: boolean,
): ModelConfig {
  const v = readHfConfig(raw, BART_KEYS, source);
  const { pad_token_id, bos_token_id, eos_token_id, decoder_start_token_id, ...sizes } = v;
  const eos = idOr(eos_token_id, 2);
  const bos = idOr(bos_token_id, 0);
  const config = resolveConfig(
    {
      ...sizes,
      maskwise_arch: "encoder-decoder",
      normalize_before: preNorm,
      position_embedding: "learned",
      position_offset: 2,
      layernorm_embedding: true,
      layer_norm_eps: 1e-5,
      share_embeddings: true,
      pad_token_id: idOr(pad_token_id, 1),
      bos_token_id: bos,
      eos_token_id: eos,
      // Without one, generation starts from bos (transformers' fallback).
      decoder_start_token_id: idOr(decoder_start_token_id, bos),
    },
    source,
  );
  return { ...config, maskwise_arch: family, source_config: { ...raw } };
}

/** config.json of a BART-layout config: the one read, with the keys maskwise may change set. */
export function bartConfigJson(config: ModelConfig): Record<string, unknown> {
  return writeHfConfig(config.source_config ?? {}, BART_KEYS, { ...config });
}

/** One token embedding for encoder, decoder and (when tied) the head, stored as model.shared. */
export function bartTieGroups(config: ModelConfig): string[][] {
  return [
    [
      "model.shared.weight",
      "model.encoder.embed_tokens.weight",
      "model.decoder.embed_tokens.weight",
      ...(config.tie_word_embeddings ? ["lm_head.weight"] : []),
    ],
  ];
}
