// The tokenizer layer: BPE and WordPiece training and encoding, Hugging Face `tokenizer.json`
// (written for trained tokenizers; read in full for pretrained ones), SentencePiece `.model` files,
// Marian's two-model layout, tokenizer_config.json and chat templates.
export type { AddedToken } from "./added-tokens.js";
export type { BertNormalizerOptions } from "./bert.js";
export { BpeModel } from "./bpe-model.js";
export { learnBpe } from "./bpe-train.js";
export { type MarianEncoding, type MarianSide, MarianTokenizer } from "./marian.js";
export { METASPACE } from "./metaspace.js";
export type { ModelToken, SubwordModel } from "./model.js";
export {
  type ModelEncodeOptions,
  ModelTokenizer,
  type TextEncoding,
  type TokenizerFiles,
} from "./model-tokenizer.js";
export { NormalizedString } from "./normalized-string.js";
export type { NormalizerName } from "./normalizer.js";
export { CharsMap } from "./precompiled.js";
export { pretrainedFromJson, pretrainedFromString } from "./pretrained-json.js";
export {
  type AddedTokenSpec,
  type FullEncoding,
  type Padding,
  type PipelineEncodeOptions,
  type PipelineParts,
  PretrainedTokenizer,
  type Truncation,
} from "./pretrained-tokenizer.js";
export {
  SPACE_SYMBOL,
  SpmBpeModel,
  sentencePieceFromBytes,
  sentencePieceTokenizer,
} from "./sentencepiece.js";
export { parseSentencePieceModel, type SpmModel } from "./sentencepiece-proto.js";
export {
  type EncodeOptions,
  type Encoding,
  type PreTokenizerKind,
  type TemplateItem,
  Tokenizer,
  type TokenizerParts,
} from "./tokenizer.js";
export {
  applyChatTemplate,
  type ChatMessage,
  type ChatTemplateOptions,
  parseTokenizerConfig,
  type TokenizerConfig,
} from "./tokenizer-config.js";
export {
  tokenizerFromJson,
  tokenizerFromString,
  tokenizerToJson,
  tokenizerToString,
} from "./tokenizer-json.js";
export {
  DEFAULT_SPECIAL_TOKENS,
  sentinelTokens,
  type TrainOptions,
  trainFromCounts,
  trainTokenizer,
  WORDPIECE_SPECIAL_TOKENS,
  WordCounter,
} from "./train.js";
export { UnigramModel } from "./unigram-model.js";
export { WordLevelModel } from "./wordlevel-model.js";
export { CONTINUATION, WordPieceModel } from "./wordpiece-model.js";
