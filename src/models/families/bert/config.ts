// BERT's and RoBERTa's config.json (transformers' BertConfig / RobertaConfig) as maskwise's
// encoder-only config, and their file layout: a post-norm encoder whose input sums word,
// position and token-type embeddings and normalises them (embeddings.LayerNorm), and the
// masked-LM head (dense, GELU, LayerNorm, the decoder tied to the word embeddings, a bias).
// transformers names the layers' modules otherwise than maskwise does; the renames below map
// one onto the other.
import { type ModelConfig, resolveConfig } from "../../config.js";
import type { FileLayout } from "../file-layout.js";
import { type HfSchema, idOr, readHfConfig, writeHfConfig } from "../hf-config.js";

/** The keys both read (BertConfig's names and defaults), by maskwise's names. */
export const BERT_KEYS: HfSchema = {
  vocab_size: { type: "integer", default: 30522 },
  hidden_size: { type: "integer", default: 768, as: "d_model" },
  num_hidden_layers: { type: "integer", default: 12, as: "encoder_layers" },
  num_attention_heads: { type: "integer", default: 12, as: "encoder_attention_heads" },
  intermediate_size: { type: "integer", default: 3072, as: "encoder_ffn_dim" },
  hidden_act: {
    type: "string",
    default: "gelu",
    oneOf: ["gelu", "relu"],
    as: "activation_function",
  },
  hidden_dropout_prob: { type: "number", default: 0.1, as: "dropout" },
  attention_probs_dropout_prob: { type: "number", default: 0.1, as: "attention_dropout" },
  max_position_embeddings: { type: "integer", default: 512 },
  type_vocab_size: { type: "integer", default: 2 },
  initializer_range: { type: "number", default: 0.02, as: "init_std" },
  layer_norm_eps: { type: "number", default: 1e-12 },
  tie_word_embeddings: { type: "boolean", default: true },
  pad_token_id: { type: "integer", default: 0, nullable: true },
  bos_token_id: { type: "integer", default: null, nullable: true },
  eos_token_id: { type: "integer", default: null, nullable: true },
};

/**
 * A BERT-layout config.json as the encoder-only config. `positionOffset` is RoBERTa's pad + 1
 * (its positions count from there; the table's first rows are never read for real tokens).
 */
export function bertConfig(
  family: string,
  raw: Readonly<Record<string, unknown>>,
  source: string,
  positionOffset: (pad: number) => number,
): ModelConfig {
  const v = readHfConfig(raw, BERT_KEYS, source);
  const { pad_token_id, bos_token_id, eos_token_id, max_position_embeddings, ...sizes } = v;
  const pad = idOr(pad_token_id, 0);
  const offset = positionOffset(pad);
  const config = resolveConfig(
    {
      ...sizes,
      maskwise_arch: "encoder-only",
      normalize_before: false,
      position_embedding: "learned",
      // The table has max_position_embeddings rows in all, offset ones before position 0.
      max_position_embeddings: (max_position_embeddings as number) - offset,
      position_offset: offset,
      layernorm_embedding: true,
      scale_embedding: false,
      activation_dropout: 0,
      pad_token_id: pad,
      // BERT has no sequence start or end ids of its own in the config (its [CLS]/[SEP] are the
      // tokenizer's); the masked-LM objective never reads these.
      bos_token_id: idOr(bos_token_id, pad),
      eos_token_id: idOr(eos_token_id, pad),
      decoder_start_token_id: pad,
    },
    source,
  );
  return { ...config, maskwise_arch: family, source_config: { ...raw } };
}

/** config.json of a BERT-layout config: the one read, with the keys maskwise may change set. */
export function bertConfigJson(config: ModelConfig): Record<string, unknown> {
  return writeHfConfig(config.source_config ?? {}, BERT_KEYS, {
    ...config,
    max_position_embeddings: config.max_position_embeddings + config.position_offset,
  });
}

/** The file names of a BERT-layout model whose encoder lives under `prefix` (bert, roberta). */
export function bertLayout(
  config: ModelConfig,
  prefix: string,
  head: { dense: string; layerNorm: string; decoder: string; bias: string },
): FileLayout {
  const layer = `${prefix}.encoder.layer.*`;
  const to = "model.encoder";
  return {
    tieGroups: config.tie_word_embeddings
      ? [["model.encoder.embed_tokens.weight", "lm_head.decoder.weight"]]
      : [],
    renames: [
      [`${prefix}.embeddings.word_embeddings`, `${to}.embed_tokens`],
      [`${prefix}.embeddings.position_embeddings`, `${to}.embed_positions`],
      [`${prefix}.embeddings.token_type_embeddings`, `${to}.token_type_embeddings`],
      [`${prefix}.embeddings.LayerNorm`, `${to}.layernorm_embedding`],
      [`${layer}.attention.self.query`, `${to}.layers.*.self_attn.q_proj`],
      [`${layer}.attention.self.key`, `${to}.layers.*.self_attn.k_proj`],
      [`${layer}.attention.self.value`, `${to}.layers.*.self_attn.v_proj`],
      [`${layer}.attention.output.dense`, `${to}.layers.*.self_attn.out_proj`],
      [`${layer}.attention.output.LayerNorm`, `${to}.layers.*.self_attn_layer_norm`],
      [`${layer}.intermediate.dense`, `${to}.layers.*.fc1`],
      [`${layer}.output.dense`, `${to}.layers.*.fc2`],
      [`${layer}.output.LayerNorm`, `${to}.layers.*.final_layer_norm`],
      [head.dense, "lm_head.dense"],
      [head.layerNorm, "lm_head.layer_norm"],
      [head.decoder, "lm_head.decoder"],
      [head.bias, "lm_head.bias"],
    ],
    // The head decoder's bias is the head's bias (tied in transformers); position ids are a
    // buffer; the pooler belongs to the sentence-pair heads, not to the masked LM.
    ignore: [
      new RegExp(`^${head.decoder.replace(/\./g, "\\.")}\\.bias$`),
      /\.embeddings\.position_ids$/,
      new RegExp(`^${prefix}\\.pooler\\.`),
      /^cls\.seq_relationship\./,
    ],
    order: "transformers",
  };
}
