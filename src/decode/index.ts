// Decoding on a step interface: greedy, beam search, sampling, logits processors.
export { type BeamOptions, beamSearch, lengthNormalised } from "./beam.js";
export {
  type GenerationSettings,
  maxNewTokens,
  parseGenerationConfig,
} from "./generation-config.js";
export { argmax, decodeStepwise, greedy, type TokenChooser } from "./greedy.js";
export { logSoftmaxRows, processLogProbs } from "./processors.js";
export { type SamplingOptions, sample, sampleToken } from "./sampling.js";
export type { GenerationOptions, Hypothesis, IncrementalDecoder } from "./types.js";
