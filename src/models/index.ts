// Models: the config, encoder-decoder, decoder-only and encoder-only Transformers, decoder inputs.
export { DecoderLayer, EncoderLayer } from "./blocks.js";
export { type Arch, DEFAULTS, type ModelConfig, PRESETS, resolveConfig } from "./config.js";
export { DecoderOnlyModel, type LMBatch } from "./decoder-only.js";
export { EncoderDecoderModel, type Seq2SeqBatch } from "./encoder-decoder.js";
export { EncoderOnlyModel } from "./encoder-only.js";
export type { LlamaConfig } from "./families/llama/config.js";
export { LlamaForCausalLM } from "./families/llama/model.js";
export type { T5Config } from "./families/t5/config.js";
export { T5Model } from "./families/t5/model.js";
export {
  type DecoderOnlyDecodable,
  DecoderOnlyIncremental,
  type Seq2SeqDecodable,
  Seq2SeqIncremental,
} from "./incremental.js";
export { decoderMaskFromLabels, defaultMask, shiftTokensRight } from "./inputs.js";
export {
  type AdapterConfig,
  adapterConfigText,
  adapterFiles,
  adapterOf,
  adapterState,
  attachAdapter,
  loadAdapterState,
  newAdapterConfig,
  parseAdapterConfig,
} from "./peft.js";
export { Decoder, Encoder } from "./stacks.js";
