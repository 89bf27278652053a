// Llama, Qwen2 and Mistral (transformers' LlamaForCausalLM, Qwen2ForCausalLM,
// MistralForCausalLM): decoder-only models with RMS norms, rotary positions, grouped-query
// attention and a SwiGLU MLP, read from and written to their Hugging Face layout as it is (the
// model's parameter names are transformers' own); they fine-tune as language models and continue
// causal-LM pretraining.
import type { ModelConfig } from "../../config.js";
import type { FileLayout } from "../file-layout.js";
import { transformersFamily } from "../transformers.js";
import { type LlamaConfig, type LlamaKind, llamaConfig, llamaConfigJson } from "./config.js";
import { LlamaForCausalLM } from "./model.js";

/** The file names the model's own; a tied head is stored once, as model.embed_tokens.weight. */
function llamaLayout(config: ModelConfig): FileLayout {
  return {
    tieGroups: config.tie_word_embeddings ? [["model.embed_tokens.weight", "lm_head.weight"]] : [],
    // RoPE's inv_freq is a buffer older files may hold; it is computed from the config.
    ignore: [
      /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/,
      /^model\.rotary_emb\.inv_freq$/,
    ],
    order: "transformers",
  };
}

function family(kind: LlamaKind, description: string) {
  return transformersFamily({
    name: kind,
    structure: "decoder-only",
    description,
    resolveConfig: (raw, source) => llamaConfig(kind, raw, source),
    build: (config, seed) => new LlamaForCausalLM(config as LlamaConfig, seed),
    objectives: ["clm"],
    configJson: (config) => llamaConfigJson(kind, config),
    fileLayout: llamaLayout,
  });
}

export const llama = family("llama", "Llama (transformers' LlamaForCausalLM)");
export const qwen2 = family("qwen2", "Qwen2 (transformers' Qwen2ForCausalLM)");
export const mistral = family("mistral", "Mistral (transformers' MistralForCausalLM)");
