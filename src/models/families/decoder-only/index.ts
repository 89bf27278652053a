// maskwise's decoder-only Transformer (a causal or prefix LM; BART's causal-LM tensor names):
// the lm task, the text tasks as conditional LM, and causal-LM pretraining.
import { DecoderOnlyModel } from "../../decoder-only.js";
import type { ModelFamily } from "../../family.js";
import { claimsOwn, ownConfigJson, ownLayout, resolveOwn } from "../own.js";
import { BATCH_FIELDS } from "../transformers.js";

export const decoderOnly: ModelFamily<DecoderOnlyModel> = {
  name: "decoder-only",
  structure: "decoder-only",
  description: "maskwise's decoder-only Transformer (causal or prefix LM)",
  claims: (raw) => claimsOwn("decoder-only", raw),
  resolveConfig: (raw, source) => resolveOwn("decoder-only", raw, source),
  build: (config, seed) => new DecoderOnlyModel(config, seed),
  batchFields: BATCH_FIELDS["decoder-only"],
  tasks: ["lm", "summarization", "dialogue", "qa", "chat"],
  objectives: ["clm"],
  encoderPrefix: null,
  decoding: { beam: 1 },
  configJson: ownConfigJson,
  fileLayout: ownLayout,
  source: "maskwise",
  inspectable: false,
};
