// BART (transformers' BartForConditionalGeneration): a post-norm encoder-decoder read from and
// written to its Hugging Face layout; fine-tunes on the seq2seq tasks.
import { EncoderDecoderModel } from "../../encoder-decoder.js";
import type { ModelFamily } from "../../family.js";
import { bartConfig, bartConfigJson, bartTieGroups } from "./config.js";

export const bart: ModelFamily<EncoderDecoderModel> = {
  name: "bart",
  structure: "encoder-decoder",
  description: "BART (transformers' BartForConditionalGeneration)",
  claims: (raw) => raw.model_type === "bart" && raw.maskwise_arch === undefined,
  resolveConfig: (raw, source) => bartConfig("bart", raw, source, false),
  build: (config, seed) => new EncoderDecoderModel(config, seed),
  batchFields: [
    "input_ids",
    "attention_mask",
    "decoder_input_ids",
    "decoder_attention_mask",
    "labels",
  ],
  tasks: ["translation", "summarization", "dialogue", "qa"],
  objectives: [],
  encoderPrefix: null,
  decoding: { beam: 1 },
  source: "transformers",
  inspectable: true,
  configJson: bartConfigJson,
  fileLayout: (config) => ({ tieGroups: bartTieGroups(config), order: "transformers" }),
};
