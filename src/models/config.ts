// One typed config for every architecture, with Hugging Face's key names so a config.json reads
// the same in maskwise and in transformers. Defaults live here and nowhere else; unknown keys are
// an error (a typo must not silently become a default), except Hugging Face's bookkeeping keys.
import { MaskwiseError } from "../util/errors.js";

export type Arch = "encoder-decoder" | "decoder-only" | "encoder-only";

export interface ModelConfig {
  /** The model family (src/models/registry.ts): one of maskwise's own Arch, or a registered one. */
  maskwise_arch: string;
  vocab_size: number;
  d_model: number;
  encoder_layers: number;
  decoder_layers: number;
  encoder_attention_heads: number;
  decoder_attention_heads: number;
  encoder_ffn_dim: number;
  decoder_ffn_dim: number;
  /**
   * The feed-forward's activation: "relu", "gelu" (exact, with erf), "gelu_new" (its tanh
   * approximation) or "silu" (x * sigmoid(x), transformers' "swish").
   */
  activation_function: "relu" | "gelu" | "gelu_new" | "silu";
  /** Pre-norm (true: mBART, GPT-2) or post-norm (false: BART, the original Transformer). */
  normalize_before: boolean;
  /** Multiply token embeddings by sqrt(d_model). */
  scale_embedding: boolean;
  position_embedding: "sinusoidal" | "learned";
  /** Sinusoids with sin and cos interleaved (Vaswani et al.) or in two halves (Marian). */
  sinusoid_layout: "interleaved" | "halves";
  max_position_embeddings: number;
  /** Rows of a learned position table before position 0 (BART and mBART keep 2). */
  position_offset: number;
  /** A layer norm on the stack's input, after embeddings and positions are summed (BART). */
  layernorm_embedding: boolean;
  /** Token types (segments) with an embedding each, added to the encoder's input (BERT); 0: none. */
  type_vocab_size: number;
  layer_norm_eps: number;
  /** The output projection is the decoder's token embedding. */
  tie_word_embeddings: boolean;
  /** A bias [1, V] added to the logits (BART's final_logits_bias; GPT-2 has none). */
  final_logits_bias: boolean;
  /** Encoder and decoder share one token embedding (one tensor, saved under both names). */
  share_embeddings: boolean;
  dropout: number;
  attention_dropout: number;
  activation_dropout: number;
  init_std: number;
  pad_token_id: number;
  bos_token_id: number;
  eos_token_id: number;
  decoder_start_token_id: number;
  /**
   * The config.json this config was read from, for families that read transformers' configs:
   * written back with its unknown keys unchanged. Not a key of maskwise's own config.json.
   */
  source_config?: Readonly<Record<string, unknown>>;
  /** Where source_config's text held floats (JSON paths), written back as floats. */
  source_floats?: readonly string[];
}

export const DEFAULTS: ModelConfig = {
  maskwise_arch: "encoder-decoder" satisfies Arch,
  vocab_size: 8000,
  d_model: 256,
  encoder_layers: 3,
  decoder_layers: 3,
  encoder_attention_heads: 4,
  decoder_attention_heads: 4,
  encoder_ffn_dim: 1024,
  decoder_ffn_dim: 1024,
  activation_function: "relu",
  normalize_before: true,
  scale_embedding: true,
  position_embedding: "sinusoidal",
  sinusoid_layout: "interleaved",
  max_position_embeddings: 1024,
  position_offset: 0,
  layernorm_embedding: false,
  type_vocab_size: 0,
  layer_norm_eps: 1e-5,
  tie_word_embeddings: true,
  final_logits_bias: true,
  share_embeddings: false,
  dropout: 0.1,
  attention_dropout: 0,
  activation_dropout: 0,
  init_std: 0.02,
  pad_token_id: 0,
  bos_token_id: 1,
  eos_token_id: 2,
  decoder_start_token_id: 1,
};

/** Keys transformers writes that say nothing about the computation. */
const IGNORED = new Set([
  "architectures",
  "model_type",
  "transformers_version",
  "torch_dtype",
  "_name_or_path",
  "is_encoder_decoder",
]);

export const PRESETS: Record<string, Partial<ModelConfig>> = {
  tiny: {
    d_model: 64,
    encoder_layers: 2,
    decoder_layers: 2,
    encoder_attention_heads: 4,
    decoder_attention_heads: 4,
    encoder_ffn_dim: 128,
    decoder_ffn_dim: 128,
  },
  small: {
    d_model: 256,
    encoder_layers: 3,
    decoder_layers: 3,
    encoder_attention_heads: 4,
    decoder_attention_heads: 4,
    encoder_ffn_dim: 1024,
    decoder_ffn_dim: 1024,
  },
  base: {
    d_model: 512,
    encoder_layers: 6,
    decoder_layers: 6,
    encoder_attention_heads: 8,
    decoder_attention_heads: 8,
    encoder_ffn_dim: 2048,
    decoder_ffn_dim: 2048,
  },
};

/** Checks and completes a config; `source` names the file in errors. */
export function resolveConfig(raw: Record<string, unknown>, source = "config"): ModelConfig {
  const cfg: Record<string, unknown> = { ...DEFAULTS };
  for (const [key, value] of Object.entries(raw)) {
    if (IGNORED.has(key)) continue;
    if (!(key in DEFAULTS)) {
      throw new MaskwiseError(`unknown config key '${key}'`, {
        code: "E_CONFIG",
        where: source,
        hint: `known keys: ${Object.keys(DEFAULTS).join(", ")}`,
      });
    }
    const expected = typeof DEFAULTS[key as keyof ModelConfig];
    if (typeof value !== expected) {
      throw new MaskwiseError(`'${key}' must be a ${expected}, got ${JSON.stringify(value)}`, {
        code: "E_CONFIG",
        where: `${source}: ${key}`,
      });
    }
    cfg[key] = value;
  }
  const c = cfg as unknown as ModelConfig;
  const bad = (key: keyof ModelConfig, why: string): never => {
    throw new MaskwiseError(`'${key}' ${why}, got ${JSON.stringify(c[key])}`, {
      code: "E_CONFIG",
      where: `${source}: ${key}`,
    });
  };
  if (!["encoder-decoder", "decoder-only", "encoder-only"].includes(c.maskwise_arch))
    bad("maskwise_arch", "must be encoder-decoder, decoder-only or encoder-only");
  if (!["relu", "gelu", "gelu_new", "silu"].includes(c.activation_function))
    bad("activation_function", "must be relu or gelu (or gelu_new, silu)");
  if (!["interleaved", "halves"].includes(c.sinusoid_layout))
    bad("sinusoid_layout", "must be interleaved or halves");
  if (!["sinusoidal", "learned"].includes(c.position_embedding))
    bad("position_embedding", "must be sinusoidal or learned");
  for (const key of [
    "vocab_size",
    "d_model",
    "encoder_attention_heads",
    "decoder_attention_heads",
    "encoder_ffn_dim",
    "decoder_ffn_dim",
    "max_position_embeddings",
  ] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) bad(key, "must be a positive integer");
  }
  for (const key of [
    "encoder_layers",
    "decoder_layers",
    "position_offset",
    "type_vocab_size",
  ] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 0) bad(key, "must be a non-negative integer");
  }
  for (const key of ["dropout", "attention_dropout", "activation_dropout"] as const) {
    if (!(c[key] >= 0 && c[key] < 1)) bad(key, "must be in [0, 1)");
  }
  if (c.d_model % c.encoder_attention_heads !== 0)
    bad("encoder_attention_heads", `must divide d_model ${c.d_model}`);
  if (c.d_model % c.decoder_attention_heads !== 0)
    bad("decoder_attention_heads", `must divide d_model ${c.d_model}`);
  for (const key of [
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
    "decoder_start_token_id",
  ] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 0 || c[key] >= c.vocab_size)
      bad(key, `must be a token id below vocab_size ${c.vocab_size}`);
  }
  return c;
}
