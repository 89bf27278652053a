// BERT (transformers' BertForMaskedLM): a post-norm encoder with token types and a masked-LM
// head, read from and written to its Hugging Face layout; fine-tunes with the masked-LM objective.
import { EncoderOnlyModel } from "../../encoder-only.js";
import type { ModelFamily } from "../../family.js";
import { bertConfig, bertConfigJson, bertLayout } from "./config.js";

export const bert: ModelFamily<EncoderOnlyModel> = {
  name: "bert",
  structure: "encoder-only",
  description: "BERT (transformers' BertForMaskedLM)",
  claims: (raw) => raw.model_type === "bert" && raw.maskwise_arch === undefined,
  resolveConfig: (raw, source) => bertConfig("bert", raw, source, () => 0),
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
    bertLayout(config, "bert", {
      dense: "cls.predictions.transform.dense",
      layerNorm: "cls.predictions.transform.LayerNorm",
      decoder: "cls.predictions.decoder",
      bias: "cls.predictions.bias",
    }),
};
