// Formats: safetensors, checkpoint averaging.
export { averageCheckpoints } from "./average.js";
export * from "./safetensors.js";
