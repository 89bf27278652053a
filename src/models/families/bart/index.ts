// BART (transformers' BartForConditionalGeneration): a post-norm encoder-decoder read from and
// written to its Hugging Face layout; fine-tunes on the seq2seq tasks.
import { EncoderDecoderModel } from "../../encoder-decoder.js";
import { transformersFamily } from "../transformers.js";
import { bartConfig, bartConfigJson, bartTieGroups } from "./config.js";

export const bart = transformersFamily({
  name: "bart",
  structure: "encoder-decoder",
  description: "BART (transformers' BartForConditionalGeneration)",
  resolveConfig: (raw, source) => bartConfig("bart", raw, source, false),
  build: (config, seed) => new EncoderDecoderModel(config, seed),
  configJson: bartConfigJson,
  fileLayout: (config) => ({ tieGroups: bartTieGroups(config), order: "transformers" }),
  inspectable: true,
});
