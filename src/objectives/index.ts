// Self-supervised and supervised objectives.
export { permuteSentences, poisson, textInfilling } from "./infilling.js";
export { causalLM, prefixLM, seq2seq } from "./lm.js";
export { mass } from "./mass.js";
export { maskedLM } from "./mlm.js";
export { randomSpansNoiseMask, spanCorruption } from "./span-corruption.js";
export { type Example, IGNORE, type SpecialIds } from "./types.js";
