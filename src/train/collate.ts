// Padding a list of examples into one batch for an encoder-decoder:
//   input_ids [B, S] padded with pad, attention_mask 1 on real tokens;
//   labels [B, T] padded with -100 (never predicted);
//   decoder_input_ids [B, T]: the labels shifted right behind the decoder start token, unless the
//   objective gave its own (MASS); decoder_attention_mask masks decoder padding by default.
import { decoderMaskFromLabels, shiftTokensRight } from "../models/inputs.js";
import { type Example, IGNORE } from "../objectives/types.js";
import { Tensor } from "../tensor/tensor.js";

export interface Seq2SeqTensors {
  input_ids: Tensor;
  attention_mask: Tensor;
  decoder_input_ids: Tensor;
  decoder_attention_mask: Tensor;
  labels: Tensor;
  /** Labels that are predicted (not -100): the unit of the loss and of tokens/s. */
  targetTokens: number;
}

function pad2d(rows: readonly (readonly number[])[], fill: number): { ids: Tensor; mask: Tensor } {
  const B = rows.length;
  const T = Math.max(1, ...rows.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(fill);
  const mask = new Int32Array(B * T);
  rows.forEach((r, b) => {
    ids.set(r, b * T);
    mask.fill(1, b * T, b * T + r.length);
  });
  return { ids: new Tensor(ids, [B, T]), mask: new Tensor(mask, [B, T]) };
}

export function collateSeq2Seq(
  examples: readonly Example[],
  padTokenId: number,
  decoderStartTokenId: number,
): Seq2SeqTensors {
  const src = pad2d(
    examples.map((e) => e.input_ids),
    padTokenId,
  );
  const lab = pad2d(
    examples.map((e) => e.labels),
    IGNORE,
  );
  let decoderIds: Tensor;
  let decoderMask: Tensor;
  if (examples.every((e) => e.decoder_input_ids)) {
    const dec = pad2d(
      examples.map((e) => e.decoder_input_ids as number[]),
      padTokenId,
    );
    decoderIds = dec.ids;
    decoderMask = dec.mask;
  } else {
    decoderIds = shiftTokensRight(lab.ids, padTokenId, decoderStartTokenId);
    decoderMask = decoderMaskFromLabels(lab.ids);
  }
  let targetTokens = 0;
  for (const l of lab.ids.i32) if (l !== IGNORE) targetTokens++;
  return {
    input_ids: src.ids,
    attention_mask: src.mask,
    decoder_input_ids: decoderIds,
    decoder_attention_mask: decoderMask,
    labels: lab.ids,
    targetTokens,
  };
}

export interface LMTensors {
  /** [B, T] right-padded with pad */
  input_ids: Tensor;
  /** [B, T] 1 = real */
  attention_mask: Tensor;
  /** [B, T] -100 at padding and wherever nothing is predicted */
  labels: Tensor;
  /** Decoder-only prefix LM: each row's prefix length; absent = causal everywhere. */
  prefix_lengths?: number[];
  /** [B, T] packed rows: positions restarting with each document (padding at 0). */
  position_ids?: Tensor;
  /**
   * [B, T] packed rows: each token's document. Padding is in document 0, so a padding query
   * still sees a key (the row's first token) and its attention stays defined; no real query
   * sees padding, which the key-padding mask excludes.
   */
  document_ids?: Tensor;
  targetTokens: number;
}

/**
 * Padding for a single stack (decoder-only or encoder-only): labels are aligned with positions.
 * With `prefix` true, rows keep their `prefix_length` (0 when an example has none) so the decoder
 * attends bidirectionally over it; otherwise attention stays causal whatever the examples say.
 */
export function collateLM(
  examples: readonly Example[],
  padTokenId: number,
  prefix = false,
): LMTensors {
  const ids = pad2d(
    examples.map((e) => e.input_ids),
    padTokenId,
  );
  const lab = pad2d(
    examples.map((e) => e.labels),
    IGNORE,
  );
  let targetTokens = 0;
  for (const l of lab.ids.i32) if (l !== IGNORE) targetTokens++;
  // Packed rows beside unpacked ones: an unpacked row is one document counted from 0.
  const packed = examples.some((e) => e.position_ids || e.document_ids);
  return {
    input_ids: ids.ids,
    attention_mask: ids.mask,
    labels: lab.ids,
    ...(prefix ? { prefix_lengths: examples.map((e) => e.prefix_length ?? 0) } : {}),
    ...(packed
      ? {
          position_ids: pad2d(
            examples.map((e) => e.position_ids ?? e.input_ids.map((_, t) => t)),
            0,
          ).ids,
          document_ids: pad2d(
            examples.map((e) => e.document_ids ?? e.input_ids.map(() => 0)),
            0,
          ).ids,
        }
      : {}),
    targetTokens,
  };
}
