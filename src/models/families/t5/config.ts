// T5's config.json (transformers' T5Config) as maskwise's config: the shared keys under maskwise's
// names (num_layers -> encoder_layers, num_heads -> both stacks' heads, d_ff -> both stacks'
// feed-forward width, dropout_rate, layer_norm_epsilon), plus what only T5 has: the head width
// d_kv (H * d_kv need not be d_model), the relative-position buckets, the feed-forward's
// activation and gating, and whether the head is tied to the shared embedding (v1.0, which then
// rescales the decoder output by d_model^-0.5) or has its own lm_head.weight (v1.1).
import { MaskwiseError } from "../../../util/errors.js";
import { type ModelConfig, resolveConfig } from "../../config.js";
import { type HfSchema, idOr, readHfConfig } from "../hf-config.js";

/** The activations T5's feed-forward computes (transformers' dense_act_fn). */
export type T5Activation = "relu" | "gelu" | "gelu_new";

export interface T5Config extends ModelConfig {
  d_kv: number;
  relative_attention_num_buckets: number;
  relative_attention_max_distance: number;
  /** "relu" (v1.0), "gated-gelu" (v1.1), or "[gated-]act" for another activation. */
  feed_forward_proj: string;
  dense_act_fn: T5Activation;
  /** wi_0 and wi_1 (act(wi_0 x) * wi_1 x) instead of one wi. */
  is_gated_act: boolean;
  /** Multiply the decoder output by d_model^-0.5 before a head tied to `shared` (v1.0). */
  scale_decoder_outputs: boolean;
}

/** The keys T5 reads, with T5Config's defaults (t5-small's sizes). */
const T5_KEYS: HfSchema = {
  vocab_size: { type: "integer", default: 32128 },
  d_model: { type: "integer", default: 512 },
  d_kv: { type: "integer", default: 64 },
  d_ff: { type: "integer", default: 2048 },
  num_layers: { type: "integer", default: 6 },
  num_decoder_layers: { type: "integer", default: null, nullable: true },
  num_heads: { type: "integer", default: 8 },
  relative_attention_num_buckets: { type: "integer", default: 32 },
  relative_attention_max_distance: { type: "integer", default: 128 },
  dropout_rate: { type: "number", default: 0.1 },
  layer_norm_epsilon: { type: "number", default: 1e-6 },
  initializer_factor: { type: "number", default: 1 },
  feed_forward_proj: { type: "string", default: "relu" },
  tie_word_embeddings: { type: "boolean", default: true },
  scale_decoder_outputs: { type: "boolean", default: null, nullable: true },
  pad_token_id: { type: "integer", default: 0, nullable: true },
  eos_token_id: { type: "integer", default: 1, nullable: true },
  decoder_start_token_id: { type: "integer", default: 0, nullable: true },
};

const ACTIVATIONS: readonly string[] = ["relu", "gelu", "gelu_new"];

/** feed_forward_proj as transformers splits it: "gated-gelu" means gelu_new, gated. */
function feedForward(proj: string, source: string): { act: T5Activation; gated: boolean } {
  const parts = proj.split("-");
  const gated = parts.length === 2 && parts[0] === "gated";
  const act = proj === "gated-gelu" ? "gelu_new" : parts[parts.length - 1];
  if ((parts.length !== 1 && !gated) || !ACTIVATIONS.includes(act)) {
    throw new MaskwiseError(
      `'feed_forward_proj' must be [gated-]relu|gelu|gelu_new, got ${JSON.stringify(proj)}`,
      {
        code: "E_CONFIG",
        where: `${source}: feed_forward_proj`,
        hint: "T5 v1.0 uses relu, v1.1 gated-gelu",
      },
    );
  }
  return { act: act as T5Activation, gated };
}

/** A T5Config.json object as maskwise's config (family "t5"). */
export function t5Config(raw: Readonly<Record<string, unknown>>, source: string): T5Config {
  const v = readHfConfig(raw, T5_KEYS, source);
  const { act, gated } = feedForward(v.feed_forward_proj as string, source);
  for (const key of ["d_kv", "relative_attention_num_buckets", "relative_attention_max_distance"]) {
    if ((v[key] as number) < 1) {
      throw new MaskwiseError(`'${key}' must be a positive integer, got ${v[key]}`, {
        code: "E_CONFIG",
        where: `${source}: ${key}`,
      });
    }
  }
  const layers = v.num_layers as number;
  const heads = v.num_heads as number;
  const ffn = v.d_ff as number;
  const pad = idOr(v.pad_token_id, 0);
  const eos = idOr(v.eos_token_id, 1);
  // transformers 5 writes scale_decoder_outputs; before it, tie_word_embeddings decided both
  // the tied head and the rescale.
  const tiedHead = (v.scale_decoder_outputs ?? v.tie_word_embeddings) as boolean;
  const base = resolveConfig(
    {
      maskwise_arch: "encoder-decoder",
      vocab_size: v.vocab_size,
      d_model: v.d_model,
      encoder_layers: layers,
      decoder_layers: idOr(v.num_decoder_layers, layers),
      encoder_attention_heads: heads,
      decoder_attention_heads: heads,
      encoder_ffn_dim: ffn,
      decoder_ffn_dim: ffn,
      activation_function: act === "relu" ? "relu" : "gelu",
      normalize_before: true,
      scale_embedding: false,
      layer_norm_eps: v.layer_norm_epsilon,
      tie_word_embeddings: tiedHead,
      share_embeddings: true,
      dropout: v.dropout_rate,
      // T5 initialises with factor-scaled normals; one std is close enough for fresh models.
      init_std: 0.05 * (v.initializer_factor as number),
      pad_token_id: pad,
      // T5 has no bos: generation starts from decoder_start_token_id (the pad id).
      bos_token_id: pad,
      eos_token_id: eos,
      decoder_start_token_id: idOr(v.decoder_start_token_id, pad),
    },
    source,
  );
  return {
    ...base,
    maskwise_arch: "t5",
    d_kv: v.d_kv as number,
    relative_attention_num_buckets: v.relative_attention_num_buckets as number,
    relative_attention_max_distance: v.relative_attention_max_distance as number,
    feed_forward_proj: v.feed_forward_proj as string,
    dense_act_fn: act,
    is_gated_act: gated,
    scale_decoder_outputs: tiedHead,
    source_config: { ...raw },
  };
}

/** transformers' value of each T5 key in a config. */
function t5Values(c: T5Config): Record<string, unknown> {
  return {
    vocab_size: c.vocab_size,
    d_model: c.d_model,
    d_kv: c.d_kv,
    d_ff: c.encoder_ffn_dim,
    num_layers: c.encoder_layers,
    num_decoder_layers: c.decoder_layers,
    num_heads: c.encoder_attention_heads,
    relative_attention_num_buckets: c.relative_attention_num_buckets,
    relative_attention_max_distance: c.relative_attention_max_distance,
    dropout_rate: c.dropout,
    layer_norm_epsilon: c.layer_norm_eps,
    feed_forward_proj: c.feed_forward_proj,
    dense_act_fn: c.dense_act_fn,
    is_gated_act: c.is_gated_act,
    scale_decoder_outputs: c.scale_decoder_outputs,
    pad_token_id: c.pad_token_id,
    eos_token_id: c.eos_token_id,
    decoder_start_token_id: c.decoder_start_token_id,
  };
}

/** config.json of a T5 config: the one read, with the keys maskwise may change set. */
export function t5ConfigJson(config: ModelConfig): Record<string, unknown> {
  const c = config as T5Config;
  const out: Record<string, unknown> = { ...(c.source_config ?? {}) };
  for (const [key, value] of Object.entries(t5Values(c))) {
    // Ids that were null stay null unless maskwise filled them with another value.
    if (out[key] === null && key.endsWith("_token_id")) continue;
    const dflt = T5_KEYS[key]?.default;
    if (key in out || (dflt !== undefined && dflt !== null && value !== dflt)) out[key] = value;
  }
  // Without scale_decoder_outputs (transformers 4), tie_word_embeddings says both.
  if (!("scale_decoder_outputs" in out) && ("tie_word_embeddings" in out || !c.tie_word_embeddings))
    out.tie_word_embeddings = c.tie_word_embeddings;
  return out;
}

/** One token embedding for both stacks and (v1.0) the head, stored as `shared.weight`. */
export function t5TieGroups(config: ModelConfig): string[][] {
  return [
    [
      "shared.weight",
      "encoder.embed_tokens.weight",
      "decoder.embed_tokens.weight",
      ...(config.tie_word_embeddings ? ["lm_head.weight"] : []),
    ],
  ];
}
