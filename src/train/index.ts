// Training and translation of text.
export { collateLM, collateSeq2Seq, type LMTensors, type Seq2SeqTensors } from "./collate.js";
export { curvesPng, curvesScene, curvesSvg } from "./curves.js";
export {
  type ExampleSource,
  exampleRng,
  fixedExamples,
  noisedExamples,
  type Objective,
} from "./examples.js";
export { FREEZE_GROUPS, freezeParameters } from "./freeze.js";
export { type ContinueOptions, continuePrompts } from "./generate.js";
export {
  collectSeries,
  type MetricsRecord,
  parseMetricsJsonl,
  type Series,
} from "./metrics-log.js";
export { MemoryStore, type RunStore } from "./store.js";
export { type DecoderMask, type TrainableModel, type TrainTask, taskFor } from "./tasks.js";
export { Trainer, type TrainerOptions } from "./trainer.js";
export { type TextCodec, translateLines } from "./translate.js";
