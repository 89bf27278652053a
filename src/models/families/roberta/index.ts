// RoBERTa (transformers' RobertaForMaskedLM): BERT's layers, positions counted from pad + 1 (a
// real token's position is pad + 1 + its index among the real tokens), its own head names.
import { EncoderOnlyModel } from "../../encoder-only.js";
import type { ModelFamily } from "../../family.js";
import { bertConfig, bertConfigJson, bertLayout } from "../bert/config.js";

export const roberta: ModelFamily<EncoderOnlyModel> = {
  name: "roberta",
  structure: "encoder-only",
  description: "RoBERTa (transformers' RobertaForMaskedLM)",
  claims: (raw) => raw.model_type === "roberta" && raw.maskwise_arch === undefined,
  resolveConfig: (raw, source) => bertConfig("roberta", raw, source, (pad) => pad + 1),
  build: (config, seed) => new EncoderOnlyModel(config, seed),
  batchFields: ["input_ids", "attention_mask", "token_type_ids", "labels"],
  tasks: [],
  objectives: ["mlm"],
  encoderPrefix: null,
  decoding: null,
  source: "transformers",
  inspectable: false,
  configJson: bertConfigJson,
  fileLayout: (config) =>
    bertLayout(config, "roberta", {
      dense: "lm_head.dense",
      layerNorm: "lm_head.layer_norm",
      decoder: "lm_head.decoder",
      bias: "lm_head.bias",
    }),
};
