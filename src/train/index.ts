// Training and translation of text.
export { collateSeq2Seq, type Seq2SeqTensors } from "./collate.js";
export { MemoryStore, type RunStore } from "./store.js";
export { Trainer, type TrainerOptions } from "./trainer.js";
export { type TextCodec, translateLines } from "./translate.js";
