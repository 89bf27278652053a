// Attention: the mask algebra (true = may attend), fused attention, multi-head attention, caches.
export { AttentionCache, mergeHeads, splitHeads } from "./cache.js";
export { type AttentionOptions, attention, attentionWeights } from "./fused.js";
export * from "./masks.js";
export { type AttentionCall, type MaskSource, MultiHeadAttention } from "./multi-head.js";
export { renderAscii, renderPng, renderSvg } from "./render.js";
export { parseMaskSpec, type SpecParams } from "./spec.js";
