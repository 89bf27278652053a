// maskwise's encoder-decoder (BART/mBART tensor names, pre- or post-norm, sinusoidal or learned
// positions): translation and the seq2seq text tasks, span corruption, infilling and MASS.
import { EncoderDecoderModel } from "../../encoder-decoder.js";
import type { ModelFamily } from "../../family.js";
import { claimsOwn, ownConfigJson, ownLayout, resolveOwn } from "../own.js";
import { BATCH_FIELDS } from "../transformers.js";

export const encoderDecoder: ModelFamily<EncoderDecoderModel> = {
  name: "encoder-decoder",
  structure: "encoder-decoder",
  description: "maskwise's encoder-decoder Transformer (BART/mBART tensor names)",
  claims: (raw) => claimsOwn("encoder-decoder", raw),
  resolveConfig: (raw, source) => resolveOwn("encoder-decoder", raw, source),
  build: (config, seed) => new EncoderDecoderModel(config, seed),
  batchFields: BATCH_FIELDS["encoder-decoder"],
  tasks: ["translation", "summarization", "dialogue", "qa"],
  objectives: ["span", "infill", "mass"],
  encoderPrefix: "model.encoder.",
  decoding: { beam: 5 },
  configJson: ownConfigJson,
  fileLayout: ownLayout,
  source: "maskwise",
  inspectable: true,
};
