// maskwise/eval: BLEU and chrF that agree with sacreBLEU 2.6.0, ROUGE that agrees with Google's
// rouge-score, and perplexity/accuracy helpers. Browser-safe: no Node imports, no file access.
export {
  Bleu,
  type BleuOptions,
  type BleuScore,
  type BleuStats,
  closestRefLen,
  computeBleu,
  corpusBleu,
  formatBleu,
  sentenceBleu,
} from "./bleu.js";
export {
  Chrf,
  type ChrfOptions,
  type ChrfScore,
  chrfWords,
  corpusChrf,
  formatChrf,
  sentenceChrf,
} from "./chrf.js";
export {
  argmaxAccuracy,
  IGNORE_INDEX,
  perplexity,
  perplexityFromLogProbs,
  perplexityFromLoss,
  type TokenAccuracy,
  tokenAccuracy,
} from "./perplexity.js";
export { porterStem } from "./porter.js";
export { pyFixed, pySplit } from "./pystr.js";
export type { RefStreams } from "./refs.js";
export {
  type CorpusRouge,
  corpusRouge,
  lcsLength,
  ROUGE_TYPES,
  type RougeOptions,
  type RougeScores,
  type RougeTriple,
  type RougeType,
  rougeL,
  rougeN,
  rougeScore,
  rougeScoreMulti,
} from "./rouge.js";
export {
  bleuSignature,
  chrfSignature,
  SACREBLEU_VERSION,
  SMOOTH_DEFAULTS,
  type SmoothMethod,
} from "./signature.js";
export { tokenize13a } from "./tokenize-13a.js";
export { tokenizeIntl } from "./tokenize-intl.js";
export { tokenizeRouge } from "./tokenize-rouge.js";
export { isChineseChar, tokenizeZh } from "./tokenize-zh.js";
export {
  getTokenizer,
  TOKENIZER_NAMES,
  type TokenizerName,
  tokenizeChar,
  tokenizeNone,
} from "./tokenizers.js";
