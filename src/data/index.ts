// The data layer: record parsing, token-budget batching, packing, and the dataset registry. The
// streaming readers that open files live in src/node/readers.ts.
export {
  filterByLength,
  type LengthFilter,
  paddedCost,
  type TokenBatchOptions,
  tokenBudgetBatches,
} from "./batching.js";
export { DATASETS, type Dataset, type DatasetFile, fileUrl, findDataset } from "./datasets.js";
export { type PackedRows, type PackOptions, packDocuments } from "./packing.js";
export {
  type EmptyPolicy,
  jsonlFields,
  keepExample,
  newStats,
  type ReadStats,
  tsvFields,
} from "./records.js";
export { splitTatoeba, type TatoebaSplit, tatoebaPart, type ZhEnPair } from "./tatoeba-split.js";
