// maskwise for Node.js: the browser-safe core plus files, model directories, datasets and the
// native backend (chosen on import: MASKWISE_BACKEND=native|reference, default native).
import { initBackend } from "./node/backend.js";

export * from "./core.js";
export { initBackend, nativeBackend } from "./node/backend.js";
export { loadEncoderDecoder, saveModel } from "./node/model-dir.js";
export { DirectoryStore } from "./node/run-store.js";
export { loadModelTokenizer, readTokenizerFiles } from "./node/tokenizer-files.js";

initBackend();
