// mBART (transformers' MBartForConditionalGeneration): BART's layout, pre-norm, with a final
// layer norm after each stack (model.encoder.layer_norm, model.decoder.layer_norm). Its language
// codes are ordinary token ids: the source ends "</s> src_lang", decoding starts from the target
// language code (decoder_start_token_id, or forced_bos_token_id in the mBART-50 convention).
import { EncoderDecoderModel } from "../../encoder-decoder.js";
import type { ModelFamily } from "../../family.js";
import { bartConfig, bartConfigJson, bartTieGroups } from "../bart/config.js";

export const mbart: ModelFamily<EncoderDecoderModel> = {
  name: "mbart",
  structure: "encoder-decoder",
  description: "mBART (transformers' MBartForConditionalGeneration)",
  claims: (raw) => raw.model_type === "mbart" && raw.maskwise_arch === undefined,
  resolveConfig: (raw, source) => bartConfig("mbart", raw, source, true),
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
