// Formats: safetensors (read, and written as Hugging Face writes it), PyTorch .bin state dicts
// through a restricted unpickler, sharded checkpoints, tie groups, checkpoint averaging.
export { averageCheckpoints } from "./average.js";
export * from "./safetensors.js";
export * from "./safetensors-hf.js";
export { mergeShards, parseShardIndex, type ShardIndex } from "./shards.js";
export * from "./tied.js";
export { parseTorchStateDict, readTorchPickle, type TorchLoadOptions } from "./torch-bin.js";
