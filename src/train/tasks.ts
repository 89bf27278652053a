// What the training loop needs to know about each model structure (src/models/family.ts), and
// nothing else: how examples become a batch, and the forward pass that gives logits and a loss.
// The loop, checkpoints, schedules, exact resumption and early stopping stay one implementation
// for every family; a family's structure picks the batch it is fed:
//
//   encoder-decoder: source -> encoder, shifted labels -> decoder (translation, summarization,
//                    span corruption, infilling, MASS)
//   decoder-only:    one sequence, labels aligned with positions (causal LM, prefix LM)
//   encoder-only:    one sequence, labels at masked positions (masked LM)
import type { FamilyModel } from "../models/family.js";
import { familyOf } from "../models/registry.js";
import type { Example } from "../objectives/types.js";
import type { Tensor } from "../tensor/tensor.js";
import type { Rng } from "../util/rng.js";
import { collateLM, collateSeq2Seq } from "./collate.js";

/** A model of any registered family. */
export type TrainableModel = FamilyModel;

/**
 * Decoder-only attention over a source+target example: "prefix" is bidirectional over the prefix
 * (the source) and causal after it (T5's prefix LM); "causal" is causal everywhere. Either way
 * nothing in the prefix is predicted, so the two differ only in the mask.
 */
export type DecoderMask = "prefix" | "causal";

export interface TaskBatch {
  /** Labels that are predicted (not -100): the unit of the loss and of tokens/s. */
  targetTokens: number;
  labels: Tensor;
}

export interface TrainTask {
  collate(examples: readonly Example[]): TaskBatch;
  /** logits [B, T, V] and the mean cross-entropy over the batch's targets. */
  forward(
    batch: TaskBatch,
    options: { rng?: Rng; labelSmoothing?: number },
  ): { logits: Tensor; loss: Tensor | null };
  /** The name of the masked-token accuracy in validation metrics, when the task reports one. */
  accuracyMetric?: string;
}

export function taskFor(model: TrainableModel, options: { mask?: DecoderMask } = {}): TrainTask {
  const cfg = model.config;
  // The batch is the structure's (Seq2SeqBatch or LMBatch); the family's model reads it.
  const forward: TrainTask["forward"] = (batch, o) => model.forward(batch as never, o);
  switch (familyOf(cfg).structure) {
    case "encoder-decoder":
      return {
        collate: (ex) => collateSeq2Seq(ex, cfg.pad_token_id, cfg.decoder_start_token_id),
        forward,
      };
    case "decoder-only": {
      const prefix = (options.mask ?? "prefix") === "prefix";
      return {
        collate: (ex) => collateLM(ex, cfg.pad_token_id, prefix && ex.some((e) => e.prefix_length)),
        forward,
      };
    }
    case "encoder-only":
      return {
        collate: (ex) => collateLM(ex, cfg.pad_token_id),
        // The masked-LM loss has no label smoothing: the head predicts a few chosen tokens only.
        forward: (batch, o) => model.forward(batch as never, { rng: o.rng }),
        accuracyMetric: "valid_mlm_accuracy",
      };
  }
}

/** Positions whose label is not -100 and whose largest logit is the label. logits [B, T, V]. */
export function countCorrect(logits: Tensor, labels: Tensor): number {
  const V = logits.shape[logits.rank - 1];
  const l = labels.i32;
  const x = logits.f32;
  let correct = 0;
  for (let i = 0; i < l.length; i++) {
    if (l[i] === -100) continue;
    let best = 0;
    const o = i * V;
    for (let j = 1; j < V; j++) if (x[o + j] > x[o + best]) best = j;
    if (best === l[i]) correct++;
  }
  return correct;
}
