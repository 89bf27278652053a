// The forward pass every encoder-decoder runs, whatever its layers: the batch checked, masks
// defaulted from the pad id, padding left out in training (src/attention/unpadded.ts), the
// encoder, the decoder on the encoder's output, then logits and the mean cross-entropy over
// labels that are not -100 (in training, only the labelled positions reach the head).
import { Unpadded } from "../attention/unpadded.js";
import { crossEntropy } from "../tensor/ops/nn.js";
import type { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import type { ForwardOptions, Seq2SeqBatch } from "./encoder-decoder.js";
import { defaultMask } from "./inputs.js";
import { lossOnLabelledRows } from "./labelled-rows.js";

/** What the pass needs of a model: its pad id, its mode, and its three parts. */
export interface Seq2SeqParts {
  readonly config: { readonly pad_token_id: number };
  readonly training: boolean;
  /** ids [B, S], mask [B, S] -> memory [B, S, D] (or [N, D] on kept rows). */
  encodeRows(ids: Tensor, mask: Tensor, rows: Unpadded | null, rng: Rng | undefined): Tensor;
  /** decoder ids [B, T] and mask, on the memory -> hidden [B, T, D] (or [N, D]). */
  decodeRows(
    ids: Tensor,
    mask: Tensor,
    memory: Tensor,
    sourceMask: Tensor,
    rows: Unpadded | null,
    memoryRows: Unpadded | null,
    rng: Rng | undefined,
  ): Tensor;
  /** hidden [.., D] -> logits [.., V] */
  project(hidden: Tensor): Tensor;
}

export function seq2seqForward(
  m: Seq2SeqParts,
  batch: Seq2SeqBatch,
  options: ForwardOptions,
  where: string,
): { logits: Tensor; loss: Tensor | null } {
  const ids = batch.input_ids;
  const dec = batch.decoder_input_ids;
  if (ids.rank !== 2 || dec.rank !== 2 || ids.shape[0] !== dec.shape[0]) {
    throw new MaskwiseError(
      `input_ids ${fmtShape(ids.shape)} and decoder_input_ids ${fmtShape(dec.shape)} must be [B, S] and [B, T]`,
      { code: "E_SHAPE", where },
    );
  }
  const pad = m.config.pad_token_id;
  const srcMask = batch.attention_mask ?? defaultMask(ids, pad, false);
  const tgtMask = batch.decoder_attention_mask ?? defaultMask(dec, pad, true);
  checkSame(srcMask, ids, "attention_mask", "input_ids");
  checkSame(tgtMask, dec, "decoder_attention_mask", "decoder_input_ids");
  if (batch.labels) checkSame(batch.labels, dec, "labels", "decoder_input_ids");
  const rng = options.rng && m.training ? options.rng : undefined;
  const training = batch.labels !== undefined && m.training;
  // Training: the real positions only (a labelled one counts as real); null = all of them.
  const unpad = training && options.unpad !== false;
  const srcRows = unpad ? Unpadded.of(srcMask) : null;
  const tgtRows = unpad ? Unpadded.of(tgtMask, batch.labels) : null;
  const memory = m.encodeRows(ids, srcMask, srcRows, rng);
  const hidden = m.decodeRows(dec, tgtMask, memory, srcMask, tgtRows, srcRows, rng);
  const ceOptions = { ignoreIndex: -100, labelSmoothing: options.labelSmoothing ?? 0 };
  if (batch.labels && training) {
    // Training: the loss needs the logits of labelled positions only (labelled-rows.ts).
    const rows = lossOnLabelledRows(
      hidden,
      batch.labels,
      (h) => m.project(h),
      (l, y) => crossEntropy(l, y, ceOptions),
      tgtRows,
    );
    if (rows) return rows;
  }
  const logits = m.project(hidden);
  const loss = batch.labels ? crossEntropy(logits, batch.labels, ceOptions) : null;
  return { logits, loss };
}

/** Checks that a batch field has the shape of another and int32 values. */
export function checkSame(a: Tensor, b: Tensor, an: string, bn: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((s, i) => s !== b.shape[i])) {
    throw new MaskwiseError(
      `${an} ${fmtShape(a.shape)} does not match ${bn} ${fmtShape(b.shape)}`,
      { code: "E_SHAPE", where: "model inputs" },
    );
  }
  if (a.dtype !== "int32")
    throw new MaskwiseError(`${an} must be int32`, { code: "E_DTYPE", where: "model inputs" });
}
