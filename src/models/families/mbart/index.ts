// mBART (transformers' MBartForConditionalGeneration): BART's layout, pre-norm, with a final
// layer norm after each stack (model.encoder.layer_norm, model.decoder.layer_norm). Its language
// codes are ordinary token ids: the source ends "</s> src_lang", decoding starts from the target
// language code (decoder_start_token_id, or forced_bos_token_id in the mBART-50 convention).
import { EncoderDecoderModel } from "../../encoder-decoder.js";
import { bartConfig, bartConfigJson, bartTieGroups } from "../bart/config.js";
import { transformersFamily } from "../transformers.js";

export const mbart = transformersFamily({
  name: "mbart",
  structure: "encoder-decoder",
  description: "mBART (transformers' MBartForConditionalGeneration)",
  resolveConfig: (raw, source) => bartConfig("mbart", raw, source, true),
  build: (config, seed) => new EncoderDecoderModel(config, seed),
  configJson: bartConfigJson,
  fileLayout: (config) => ({ tieGroups: bartTieGroups(config), order: "transformers" }),
  inspectable: true,
});
