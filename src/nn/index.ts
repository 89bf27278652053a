// Modules and layers.
export { Embedding, LayerNorm, Linear } from "./layers.js";
export {
  addLora,
  LoraAdapter,
  type LoraSpec,
  loraLayers,
  loraScaling,
  mergeLora,
} from "./lora.js";
export { Container, Module, ModuleList } from "./module.js";
export { positionsFromMask, sinusoidalPositions } from "./positions.js";
export { RMSNorm } from "./rms-norm.js";
