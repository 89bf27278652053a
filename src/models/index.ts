// Models: the config, encoder-decoder, decoder-only and encoder-only Transformers, decoder inputs.
export { DecoderLayer, EncoderLayer } from "./blocks.js";
export { type Arch, DEFAULTS, type ModelConfig, PRESETS, resolveConfig } from "./config.js";
export { DecoderOnlyModel, type LMBatch } from "./decoder-only.js";
export { EncoderDecoderModel, type Seq2SeqBatch } from "./encoder-decoder.js";
export { EncoderOnlyModel } from "./encoder-only.js";
export { DecoderOnlyIncremental, Seq2SeqIncremental } from "./incremental.js";
export { decoderMaskFromLabels, defaultMask, shiftTokensRight } from "./inputs.js";
export { Decoder, Encoder } from "./stacks.js";
