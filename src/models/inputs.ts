// Decoder inputs by construction, and the default masks.
//
// Teacher forcing feeds the decoder the labels shifted one place right behind the decoder start
// token: labels [y1 y2 y3 </s> -100] -> decoder_input_ids [<start> y1 y2 y3 </s>], with -100
// turned back into padding (it is not a token). Labels keep -100 where nothing is predicted, so
// the loss skips them. The decoder padding mask is built by default, so padding is never attended
// to even when the caller passes no mask (a trap in Hugging Face seq2seq models).
import { positionsFromMask } from "../nn/positions.js";
import { slice } from "../tensor/ops/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";

/** labels [B, T] -> decoder_input_ids [B, T]. */
export function shiftTokensRight(
  labels: Tensor,
  padTokenId: number,
  decoderStartTokenId: number,
): Tensor {
  if (labels.rank !== 2 || labels.dtype !== "int32") {
    throw new MaskwiseError("labels must be an int32 [B, T] tensor", {
      code: "E_SHAPE",
      where: "shiftTokensRight",
    });
  }
  const [B, T] = labels.shape;
  const l = labels.i32;
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    if (T > 0) out[b * T] = decoderStartTokenId;
    for (let t = 1; t < T; t++) {
      const v = l[b * T + t - 1];
      out[b * T + t] = v === -100 ? padTokenId : v;
    }
  }
  return new Tensor(out, [B, T]);
}

/**
 * The 2D mask (1 = real) of ids [B, T]: real where the id is not padding. For decoder inputs the
 * first column is always real, because the decoder start token may be the padding id (T5, mBART).
 */
export function defaultMask(ids: Tensor, padTokenId: number, firstAlwaysReal: boolean): Tensor {
  const [B, T] = ids.shape;
  const d = ids.i32;
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++)
      out[b * T + t] = d[b * T + t] !== padTokenId || (firstAlwaysReal && t === 0) ? 1 : 0;
  }
  return new Tensor(out, [B, T]);
}

/**
 * The decoder mask that goes with shiftTokensRight(labels): position 0 (the start token) is real,
 * and position t is real when label t-1 is.
 */
export function decoderMaskFromLabels(labels: Tensor): Tensor {
  const [B, T] = labels.shape;
  const l = labels.i32;
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) out[b * T + t] = t === 0 || l[b * T + t - 1] !== -100 ? 1 : 0;
  }
  return new Tensor(out, [B, T]);
}

/** A 2D mask [N, T] -> [N, T + 1] with a real last column: one more decoded token per row. */
export function appendRealColumn(mask: Tensor): Tensor {
  const [N, T] = mask.shape;
  const grown = new Int32Array(N * (T + 1));
  for (let r = 0; r < N; r++) {
    grown.set(mask.i32.subarray(r * T, (r + 1) * T), r * (T + 1));
    grown[r * (T + 1) + T] = 1;
  }
  return new Tensor(grown, [N, T + 1]);
}

/**
 * The positions of the new tokens ids [B, Tnew]: `positionIds` when given (packed rows restart
 * at 0 with each document), else the number of real tokens before each in `attentionMask`
 * [B, Tpast + Tnew], as transformers' generate counts them (left padding safe).
 */
export function inputPositions(ids: Tensor, attentionMask: Tensor, positionIds?: Tensor): Tensor {
  const [B, Tnew] = ids.shape;
  const Tall = attentionMask.shape[1];
  if (positionIds) {
    if (positionIds.rank !== 2 || positionIds.shape[0] !== B || positionIds.shape[1] !== Tnew) {
      throw new MaskwiseError(
        `position_ids ${fmtShape(positionIds.shape)} must be [B, Tnew] = ${fmtShape([B, Tnew])}`,
        { code: "E_SHAPE", where: "position_ids" },
      );
    }
    return positionIds;
  }
  const all = positionsFromMask(attentionMask);
  return Tnew === Tall ? all : slice(all, 1, Tall - Tnew);
}

/**
 * Packed documents' ids [B, T] (every position so far, the attention mask's shape) as one list a
 * row, for the documents mask (attention/masks.ts `documents`).
 */
export function documentRows(documentIds: Tensor, attentionMask: Tensor): number[][] {
  const [B, T] = attentionMask.shape;
  if (documentIds.rank !== 2 || documentIds.shape[0] !== B || documentIds.shape[1] !== T) {
    throw new MaskwiseError(
      `document_ids ${fmtShape(documentIds.shape)} must have the attention mask's shape ${fmtShape([B, T])}`,
      { code: "E_SHAPE", where: "document_ids" },
    );
  }
  const d = documentIds.i32;
  return Array.from({ length: B }, (_, b) => Array.from(d.subarray(b * T, (b + 1) * T)));
}
