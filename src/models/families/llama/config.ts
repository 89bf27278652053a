// The config.json of transformers' Llama, Qwen2 and Mistral (LlamaConfig, Qwen2Config,
// MistralConfig) as maskwise's config: the shared keys under maskwise's names (hidden_size ->
// d_model, intermediate_size -> decoder_ffn_dim, num_hidden_layers -> decoder_layers,
// num_attention_heads -> decoder_attention_heads, rms_norm_eps -> layer_norm_eps), plus what
// these models add: grouped key/value heads (num_key_value_heads), a head width that need not be
// hidden_size / heads (head_dim, authoritative when present), rotary embeddings
// (rope_parameters as transformers 5 writes them, or the legacy top-level rope_theta and
// rope_scaling), biases on the attention projections (Llama's attention_bias; Qwen2's q, k and
// v always), and sliding-window attention (Mistral's sliding_window; Qwen2's per layer). Every
// other key (dtype or torch_dtype, pretraining_tp, use_cache, ...) is kept and written back
// unchanged.
import type { RopeParameters } from "../../../attention/rope.js";
import { ROPE_TYPES } from "../../../attention/rope.js";
import { MaskwiseError } from "../../../util/errors.js";
import { type ModelConfig, resolveConfig } from "../../config.js";
import { type HfSchema, idOr, readHfConfig, writeHfConfig } from "../hf-config.js";

export type LlamaKind = "llama" | "qwen2" | "mistral";

export interface LlamaConfig extends ModelConfig {
  /** Key/value heads Hkv (grouped-query attention); decoder_attention_heads is a multiple. */
  num_key_value_heads: number;
  /** Dh: q_proj has heads * head_dim rows, which need not be d_model. */
  head_dim: number;
  rope: RopeParameters;
  /** Per layer: the sliding window W (a query sees itself and W - 1 keys before it), or null. */
  sliding_windows: readonly (number | null)[];
  /** Biases of q_proj, k_proj, v_proj and o_proj. */
  attention_biases: readonly [boolean, boolean, boolean, boolean];
  /** Biases of gate_proj, up_proj and down_proj. */
  mlp_bias: boolean;
}

/** The keys every one of the three reads, with each config class's defaults (Llama 2 7B's). */
function schema(kind: LlamaKind): HfSchema {
  const mistral = kind === "mistral";
  const qwen2 = kind === "qwen2";
  return {
    vocab_size: { type: "integer", default: qwen2 ? 151936 : 32000 },
    hidden_size: { type: "integer", default: 4096, as: "d_model" },
    intermediate_size: {
      type: "integer",
      default: mistral ? 14336 : qwen2 ? 22016 : 11008,
      as: "decoder_ffn_dim",
    },
    num_hidden_layers: { type: "integer", default: 32, as: "decoder_layers" },
    num_attention_heads: { type: "integer", default: 32, as: "decoder_attention_heads" },
    num_key_value_heads: { type: "integer", default: null, nullable: true },
    head_dim: { type: "integer", default: null, nullable: true },
    hidden_act: {
      type: "string",
      default: "silu",
      oneOf: ["silu", "gelu", "gelu_new", "relu"],
      as: "activation_function",
    },
    max_position_embeddings: { type: "integer", default: mistral ? 131072 : qwen2 ? 32768 : 2048 },
    initializer_range: { type: "number", default: 0.02, as: "init_std" },
    rms_norm_eps: { type: "number", default: 1e-6, as: "layer_norm_eps" },
    tie_word_embeddings: { type: "boolean", default: false },
    attention_dropout: { type: "number", default: 0 },
    bos_token_id: { type: "integer", default: qwen2 ? null : 1, nullable: true },
    eos_token_id: { type: "integer", default: qwen2 ? null : 2, nullable: true },
    pad_token_id: { type: "integer", default: null, nullable: true },
    ...(kind === "llama"
      ? {
          attention_bias: { type: "boolean", default: false },
          mlp_bias: { type: "boolean", default: false },
        }
      : {}),
    ...(mistral ? { sliding_window: { type: "integer", default: 4096, nullable: true } } : {}),
    ...(qwen2
      ? {
          use_sliding_window: { type: "boolean", default: false },
          sliding_window: { type: "integer", default: 4096, nullable: true },
          max_window_layers: { type: "integer", default: 28 },
        }
      : {}),
  } satisfies HfSchema;
}

function configError(message: string, where: string, hint?: string): MaskwiseError {
  return new MaskwiseError(message, { code: "E_CONFIG", where, hint });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * The rotary settings: transformers 5's rope_parameters {rope_type, rope_theta, ...}, or the
 * legacy rope_scaling {type | rope_type, factor, ...} with a top-level rope_theta.
 */
function readRope(raw: Readonly<Record<string, unknown>>, source: string): RopeParameters {
  const key = raw.rope_parameters !== undefined ? "rope_parameters" : "rope_scaling";
  const given = raw[key] ?? null;
  if (given !== null && !isObject(given))
    throw configError(
      `'${key}' must be an object, got ${JSON.stringify(given)}`,
      `${source}: ${key}`,
    );
  const p = given ?? {};
  const type = p.rope_type ?? p.type ?? "default";
  if (typeof type !== "string" || !ROPE_TYPES.includes(type)) {
    throw configError(
      `'${key}.rope_type' must be one of ${ROPE_TYPES.join(", ")}, got ${JSON.stringify(type)}`,
      `${source}: ${key}`,
      "maskwise does not compute this rotary scaling yet",
    );
  }
  const theta = p.rope_theta ?? raw.rope_theta ?? 10000;
  const number = (name: string, value: unknown, where: string): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !(value > 0))
      throw configError(`'${name}' must be a positive number, got ${JSON.stringify(value)}`, where);
    return value;
  };
  const out: RopeParameters = {
    rope_type: type as RopeParameters["rope_type"],
    rope_theta: number(
      p.rope_theta !== undefined ? `${key}.rope_theta` : "rope_theta",
      theta,
      `${source}: ${p.rope_theta !== undefined ? key : "rope_theta"}`,
    ) as number,
  };
  for (const name of [
    "factor",
    "low_freq_factor",
    "high_freq_factor",
    "original_max_position_embeddings",
  ] as const) {
    const v = number(`${key}.${name}`, p[name], `${source}: ${key}`);
    if (v !== undefined) out[name] = v;
  }
  const needs: Record<string, readonly string[]> = {
    linear: ["factor"],
    llama3: ["factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"],
  };
  for (const name of needs[type] ?? []) {
    if (out[name as keyof RopeParameters] === undefined)
      throw configError(`'${key}' of type ${type} lacks '${name}'`, `${source}: ${key}`);
  }
  return out;
}

/** The sliding window of each layer (null: full attention). */
function windows(
  kind: LlamaKind,
  raw: Readonly<Record<string, unknown>>,
  v: Record<string, unknown>,
  layers: number,
  source: string,
): (number | null)[] {
  if (kind === "llama") return new Array(layers).fill(null);
  const w = v.sliding_window as number | null;
  if (w !== null && w < 1)
    throw configError(`'sliding_window' must be positive, got ${w}`, `${source}: sliding_window`);
  const types = raw.layer_types;
  if (types !== undefined) {
    if (
      !Array.isArray(types) ||
      types.length !== layers ||
      types.some((t) => t !== "full_attention" && t !== "sliding_attention")
    ) {
      throw configError(
        `'layer_types' must list full_attention or sliding_attention for each of ${layers} layers`,
        `${source}: layer_types`,
      );
    }
    return types.map((t) => (t === "sliding_attention" ? w : null));
  }
  if (kind === "mistral") return new Array(layers).fill(w);
  // Qwen2 before layer_types: layers from max_window_layers on slide when use_sliding_window.
  const from = v.max_window_layers as number;
  return Array.from({ length: layers }, (_, i) => (v.use_sliding_window && i >= from ? w : null));
}

/** A Llama, Qwen2 or Mistral config.json object as maskwise's config (family `kind`). */
export function llamaConfig(
  kind: LlamaKind,
  raw: Readonly<Record<string, unknown>>,
  source: string,
): LlamaConfig {
  // Llama 3 lists several end-of-sequence ids: the first ends maskwise's decoding.
  const eosList = Array.isArray(raw.eos_token_id) ? raw.eos_token_id : null;
  if (eosList && (eosList.length === 0 || !eosList.every((e) => Number.isInteger(e))))
    throw configError(
      "'eos_token_id' must be an integer or a list of them",
      `${source}: eos_token_id`,
    );
  const v = readHfConfig(
    eosList ? { ...raw, eos_token_id: eosList[0] } : raw,
    schema(kind),
    source,
  );
  const heads = v.decoder_attention_heads as number;
  const D = v.d_model as number;
  const kvHeads = idOr(v.num_key_value_heads, heads);
  if (kvHeads < 1 || heads % kvHeads !== 0) {
    throw configError(
      `'num_key_value_heads' ${kvHeads} must divide num_attention_heads ${heads}`,
      `${source}: num_key_value_heads`,
    );
  }
  if (v.head_dim === null && D % heads !== 0) {
    throw configError(
      `hidden_size ${D} is not divisible by num_attention_heads ${heads}`,
      `${source}: hidden_size`,
      "give head_dim",
    );
  }
  const headDim = idOr(v.head_dim, D / heads);
  if (headDim % 2 !== 0)
    throw configError(
      `rotary embeddings need an even head_dim, got ${headDim}`,
      `${source}: head_dim`,
    );
  const eos = idOr(v.eos_token_id, 0);
  // No pad id: the end-of-sequence token fills padding (masked by attention_mask).
  const pad = idOr(v.pad_token_id, eos);
  const bos = idOr(v.bos_token_id, eos);
  const layers = v.decoder_layers as number;
  const base = resolveConfig(
    {
      maskwise_arch: "decoder-only",
      vocab_size: v.vocab_size,
      d_model: D,
      encoder_layers: 0,
      decoder_layers: layers,
      decoder_attention_heads: heads,
      decoder_ffn_dim: v.decoder_ffn_dim,
      activation_function: v.activation_function,
      normalize_before: true,
      scale_embedding: false,
      max_position_embeddings: v.max_position_embeddings,
      layer_norm_eps: v.layer_norm_eps,
      tie_word_embeddings: v.tie_word_embeddings,
      final_logits_bias: false,
      dropout: 0,
      attention_dropout: v.attention_dropout,
      activation_dropout: 0,
      init_std: v.init_std,
      pad_token_id: pad,
      bos_token_id: bos,
      eos_token_id: eos,
      decoder_start_token_id: bos,
    },
    source,
  );
  const attnBias = kind === "qwen2" || v.attention_bias === true;
  return {
    ...base,
    maskwise_arch: kind,
    num_key_value_heads: kvHeads,
    head_dim: headDim,
    rope: readRope(raw, source),
    sliding_windows: windows(kind, raw, v, layers, source),
    attention_biases: [attnBias, attnBias, attnBias, kind === "llama" && attnBias],
    mlp_bias: kind === "llama" && v.mlp_bias === true,
    source_config: { ...raw },
  };
}

/** config.json of a Llama, Qwen2 or Mistral config: the one read, with maskwise's values set. */
export function llamaConfigJson(kind: LlamaKind, config: ModelConfig): Record<string, unknown> {
  const c = config as LlamaConfig;
  const source = c.source_config ?? {};
  const values: Record<string, unknown> = { ...c };
  // Derived from others when absent (ids filled in from eos): written only where the file had
  // them.
  for (const key of [
    "num_key_value_heads",
    "head_dim",
    "pad_token_id",
    "bos_token_id",
    "eos_token_id",
  ])
    if (source[key] === undefined) delete values[key];
  const out = writeHfConfig(source, schema(kind), values);
  if (Array.isArray(source.eos_token_id) && source.eos_token_id[0] === c.eos_token_id)
    out.eos_token_id = source.eos_token_id;
  return out;
}
