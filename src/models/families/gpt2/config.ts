// GPT-2's config.json (transformers' GPT2Config, with its attribute names n_embd, n_layer, n_head,
// n_inner, n_positions) as maskwise's decoder-only config: pre-norm with a final layer norm
// (ln_f), learned positions from 0, tanh-approximated GELU, the head tied to the token
// embedding and no final_logits_bias.
import { type ModelConfig, resolveConfig } from "../../config.js";
import { type HfSchema, idOr, readHfConfig, writeHfConfig } from "../hf-config.js";

export const GPT2_KEYS: HfSchema = {
  vocab_size: { type: "integer", default: 50257 },
  n_embd: { type: "integer", default: 768, as: "d_model", aliases: ["hidden_size"] },
  n_layer: { type: "integer", default: 12, as: "decoder_layers", aliases: ["num_hidden_layers"] },
  n_head: {
    type: "integer",
    default: 12,
    as: "decoder_attention_heads",
    aliases: ["num_attention_heads"],
  },
  // null: 4 * n_embd.
  n_inner: { type: "integer", default: null, nullable: true, as: "decoder_ffn_dim" },
  n_positions: {
    type: "integer",
    default: 1024,
    as: "max_position_embeddings",
    aliases: ["max_position_embeddings"],
  },
  activation_function: {
    type: "string",
    default: "gelu_new",
    oneOf: ["gelu_new", "gelu", "relu", "silu"],
  },
  resid_pdrop: { type: "number", default: 0.1, as: "dropout" },
  attn_pdrop: { type: "number", default: 0.1, as: "attention_dropout" },
  layer_norm_epsilon: { type: "number", default: 1e-5, as: "layer_norm_eps" },
  initializer_range: { type: "number", default: 0.02, as: "init_std" },
  tie_word_embeddings: { type: "boolean", default: true },
  bos_token_id: { type: "integer", default: 50256, nullable: true },
  eos_token_id: { type: "integer", default: 50256, nullable: true },
  pad_token_id: { type: "integer", default: null, nullable: true },
};

export function gpt2Config(raw: Readonly<Record<string, unknown>>, source: string): ModelConfig {
  const v = readHfConfig(raw, GPT2_KEYS, source);
  const { bos_token_id, eos_token_id, pad_token_id, decoder_ffn_dim, ...sizes } = v;
  const eos = idOr(eos_token_id, 50256);
  // GPT-2 has no pad id; its end-of-text token fills padding (masked by attention_mask).
  const pad = idOr(pad_token_id, eos);
  const config = resolveConfig(
    {
      ...sizes,
      maskwise_arch: "decoder-only",
      encoder_layers: 0,
      decoder_ffn_dim: idOr(decoder_ffn_dim, 4 * (sizes.d_model as number)),
      normalize_before: true,
      position_embedding: "learned",
      scale_embedding: false,
      final_logits_bias: false,
      activation_dropout: 0,
      pad_token_id: pad,
      bos_token_id: idOr(bos_token_id, eos),
      eos_token_id: eos,
      decoder_start_token_id: idOr(bos_token_id, eos),
    },
    source,
  );
  return { ...config, maskwise_arch: "gpt2", source_config: { ...raw } };
}

export function gpt2ConfigJson(config: ModelConfig): Record<string, unknown> {
  const source = config.source_config ?? {};
  const values: Record<string, unknown> = { ...config };
  // The pad id is filled in from eos when the file has none (GPT-2's own config.json has no
  // pad_token_id): written back only where the file had it.
  if (source.pad_token_id === undefined) delete values.pad_token_id;
  return writeHfConfig(source, GPT2_KEYS, values);
}
