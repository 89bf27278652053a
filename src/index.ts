// maskwise for Node.js: the browser-safe core plus files, model directories, Hugging Face weights
// and hub downloads, datasets and the native backend (chosen on import: MASKWISE_BACKEND=native|reference, default native).
import { initBackend } from "./node/backend.js";

export * from "./core.js";
export {
  loadAdapter,
  mergeAdapter,
  readAdapterConfig,
  saveAdapter,
} from "./node/adapter.js";
export { initBackend, nativeBackend } from "./node/backend.js";
export {
  cachedSnapshot,
  type HubOptions,
  hubCacheDir,
  hubDownload,
  resolveModelPath,
} from "./node/hub.js";
export { loadEncoderDecoder, saveModel } from "./node/model-dir.js";
export { loadPretrained, type Pretrained, type PretrainedOptions } from "./node/pretrained.js";
export { DirectoryStore } from "./node/run-store.js";
export { loadModelTokenizer, readTokenizerFiles } from "./node/tokenizer-files.js";
export { findWeights, type LoadedWeights, loadWeights, readWeightsFile } from "./node/weights.js";
export { type SaveWeightsOptions, saveWeightsLikeHf } from "./node/weights-save.js";

initBackend();
