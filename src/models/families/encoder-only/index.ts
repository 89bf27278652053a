// maskwise's encoder-only Transformer with a masked-LM head (BERT-style): masked-LM pretraining;
// its encoder can start an encoder-decoder's.
import { EncoderOnlyModel } from "../../encoder-only.js";
import type { ModelFamily } from "../../family.js";
import { claimsOwn, ownConfigJson, ownLayout, resolveOwn } from "../own.js";

export const encoderOnly: ModelFamily<EncoderOnlyModel> = {
  name: "encoder-only",
  structure: "encoder-only",
  description: "maskwise's encoder-only Transformer with a masked-LM head",
  claims: (raw) => claimsOwn("encoder-only", raw),
  resolveConfig: (raw, source) => resolveOwn("encoder-only", raw, source),
  build: (config, seed) => new EncoderOnlyModel(config, seed),
  batchFields: ["input_ids", "attention_mask", "labels"],
  tasks: [],
  objectives: ["mlm"],
  encoderPrefix: "model.encoder.",
  decoding: null,
  configJson: ownConfigJson,
  fileLayout: ownLayout,
  source: "maskwise",
  inspectable: false,
};
