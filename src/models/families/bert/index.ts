// BERT (transformers' BertForMaskedLM): a post-norm encoder with token types and a masked-LM
// head, read from and written to its Hugging Face layout; fine-tunes with the masked-LM objective.
import { EncoderOnlyModel } from "../../encoder-only.js";
import { transformersFamily } from "../transformers.js";
import { bertConfig, bertConfigJson, bertLayout } from "./config.js";

export const bert = transformersFamily({
  name: "bert",
  structure: "encoder-only",
  description: "BERT (transformers' BertForMaskedLM)",
  resolveConfig: (raw, source) => bertConfig("bert", raw, source, () => 0),
  build: (config, seed) => new EncoderOnlyModel(config, seed),
  objectives: ["mlm"],
  configJson: bertConfigJson,
  fileLayout: (config) =>
    bertLayout(config, "bert", {
      dense: "cls.predictions.transform.dense",
      layerNorm: "cls.predictions.transform.LayerNorm",
      decoder: "cls.predictions.decoder",
      bias: "cls.predictions.bias",
    }),
});
