// GPT-2 (transformers' GPT2LMHeadModel): a pre-norm decoder-only model read from and written to
// its Hugging Face layout (Conv1D weights, fused c_attn); fine-tunes as a language model.
import { DecoderOnlyModel } from "../../decoder-only.js";
import type { ModelFamily } from "../../family.js";
import { gpt2Config, gpt2ConfigJson } from "./config.js";
import { gpt2Layout } from "./layout.js";

export const gpt2: ModelFamily<DecoderOnlyModel> = {
  name: "gpt2",
  structure: "decoder-only",
  description: "GPT-2 (transformers' GPT2LMHeadModel)",
  claims: (raw) => raw.model_type === "gpt2" && raw.maskwise_arch === undefined,
  resolveConfig: gpt2Config,
  build: (config, seed) => new DecoderOnlyModel(config, seed),
  batchFields: ["input_ids", "attention_mask", "labels", "prefix_lengths"],
  tasks: ["lm", "summarization", "dialogue", "qa"],
  objectives: ["clm"],
  encoderPrefix: null,
  decoding: { beam: 1 },
  source: "transformers",
  inspectable: false,
  configJson: gpt2ConfigJson,
  fileLayout: gpt2Layout,
};
