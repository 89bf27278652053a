// maskwise's browser-safe core: everything that runs without Node (the reference backend, the
// mask algebra, models, objectives, decoding, training, tokenizers, metrics). `src/index.ts`
// adds the Node side (files, the native backend, datasets).
export * as attention from "./attention/index.js";
export * as data from "./data/index.js";
export * as decode from "./decode/index.js";
export * as evaluation from "./eval/index.js";
export * as io from "./io/index.js";
export * as models from "./models/index.js";
export * as nn from "./nn/index.js";
export * as objectives from "./objectives/index.js";
export * as optim from "./optim/index.js";
export * as T from "./tensor/index.js";
export * as tokenizer from "./tokenizer/index.js";
export * as train from "./train/index.js";
export { MaskwiseError } from "./util/errors.js";
export { Rng } from "./util/rng.js";
