// Marian's config.json (transformers' MarianConfig, the opus-mt models) as maskwise's
// encoder-decoder config: post-norm, sinusoidal positions from 0 laid out as [sin | cos] halves
// (not stored in the file), token embeddings scaled by sqrt(d_model), one embedding shared by
// encoder, decoder and the tied head (model.shared), final_logits_bias, swish (SiLU)
// feed-forwards, and decoding that starts from the pad id.
import { type ModelConfig, resolveConfig } from "../../config.js";
import { BART_KEYS } from "../bart/config.js";
import { type HfSchema, idOr, readHfConfig, writeHfConfig } from "../hf-config.js";

/** transformers' activation names and maskwise's unary ops. */
const ACTIVATIONS: Record<string, ModelConfig["activation_function"]> = {
  swish: "silu",
  silu: "silu",
  gelu: "gelu",
  relu: "relu",
  gelu_new: "gelu_new",
};

/** BART's keys with MarianConfig's defaults (opus-mt-en-de's sizes). */
export const MARIAN_KEYS: HfSchema = {
  ...BART_KEYS,
  vocab_size: { type: "integer", default: 58101 },
  d_model: { type: "integer", default: 1024 },
  activation_function: { type: "string", default: "gelu", oneOf: Object.keys(ACTIVATIONS) },
  pad_token_id: { type: "integer", default: 58100, nullable: true },
  eos_token_id: { type: "integer", default: 0, nullable: true },
  bos_token_id: { type: "integer", default: null, nullable: true },
  decoder_start_token_id: { type: "integer", default: 58100, nullable: true },
};

export function marianConfig(raw: Readonly<Record<string, unknown>>, source: string): ModelConfig {
  const v = readHfConfig(raw, MARIAN_KEYS, source);
  const { pad_token_id, bos_token_id, eos_token_id, decoder_start_token_id, ...sizes } = v;
  const pad = idOr(pad_token_id, 58100);
  const config = resolveConfig(
    {
      ...sizes,
      activation_function: ACTIVATIONS[sizes.activation_function as string],
      maskwise_arch: "encoder-decoder",
      normalize_before: false,
      position_embedding: "sinusoidal",
      sinusoid_layout: "halves",
      layer_norm_eps: 1e-5,
      share_embeddings: true,
      pad_token_id: pad,
      // Marian has no bos; the pad id stands in where maskwise's config needs one.
      bos_token_id: idOr(bos_token_id, pad),
      eos_token_id: idOr(eos_token_id, 0),
      decoder_start_token_id: idOr(decoder_start_token_id, pad),
    },
    source,
  );
  return { ...config, maskwise_arch: "marian", source_config: { ...raw } };
}

export function marianConfigJson(config: ModelConfig): Record<string, unknown> {
  const source = config.source_config ?? {};
  // The activation keeps transformers' name ("swish") when it is the one read.
  const named = source.activation_function as string | undefined;
  const activation =
    named !== undefined && ACTIVATIONS[named] === config.activation_function
      ? named
      : config.activation_function;
  return writeHfConfig(source, MARIAN_KEYS, { ...config, activation_function: activation });
}
