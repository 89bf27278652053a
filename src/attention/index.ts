// Attention: the mask algebra (true = may attend), fused attention, multi-head attention, caches.
export { AttentionCache, mergeHeads, splitHeads } from "./cache.js";
export { type AttentionOptions, attention, attentionWeights } from "./fused.js";
export * from "./masks.js";
export {
  type AttentionCall,
  type BiasSource,
  type MaskSource,
  MultiHeadAttention,
} from "./multi-head.js";
export * from "./position-bias.js";
export { renderAscii, renderPng, renderSvg } from "./render.js";
export { Rope, type RopeParameters, ropeInverseFrequencies } from "./rope.js";
export { parseMaskSpec, type SpecParams } from "./spec.js";
