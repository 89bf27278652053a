// RoBERTa (transformers' RobertaForMaskedLM): BERT's layers, positions counted from pad + 1 (a
// real token's position is pad + 1 + its index among the real tokens), its own head names.
import { EncoderOnlyModel } from "../../encoder-only.js";
import { bertConfig, bertConfigJson, bertLayout } from "../bert/config.js";
import { transformersFamily } from "../transformers.js";

export const roberta = transformersFamily({
  name: "roberta",
  structure: "encoder-only",
  description: "RoBERTa (transformers' RobertaForMaskedLM)",
  resolveConfig: (raw, source) => bertConfig("roberta", raw, source, (pad) => pad + 1),
  build: (config, seed) => new EncoderOnlyModel(config, seed),
  objectives: ["mlm"],
  configJson: bertConfigJson,
  fileLayout: (config) =>
    bertLayout(config, "roberta", {
      dense: "lm_head.dense",
      layerNorm: "lm_head.layer_norm",
      decoder: "lm_head.decoder",
      bias: "lm_head.bias",
    }),
});
