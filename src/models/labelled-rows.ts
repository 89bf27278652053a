// The training loss from the positions that have a label only. With padded batches a fifth or
// more of the [B, T] positions carry -100, and the V-wide output projection (the largest GEMM
// of a step, forward and both backward products) would compute logits nobody uses for them.
// hidden [B, T, D] -> the labelled rows [N, D] (a gather whose backward scatters into hidden)
// -> logits [N, V] -> mean cross-entropy over N, which is the loss over [B, T] with -100 ignored.
import { padRows, type Unpadded } from "../attention/unpadded.js";
import { embedding } from "../tensor/ops/select.js";
import { reshape } from "../tensor/ops/shape.js";
import { Tensor } from "../tensor/tensor.js";

/**
 * Positions of `labels` that are not -100, as indices into the flattened rows and their labels
 * [N]; null when all or none have a label (then the full logits serve as well).
 */
export function labelledRows(labels: Tensor): { index: Tensor; labels: Tensor } | null {
  const all = labels.i32;
  let n = 0;
  for (let i = 0; i < all.length; i++) if (all[i] !== -100) n++;
  if (n === 0 || n === all.length) return null;
  const index = new Int32Array(n);
  const picked = new Int32Array(n);
  for (let i = 0, j = 0; i < all.length; i++) {
    if (all[i] === -100) continue;
    index[j] = i;
    picked[j++] = all[i];
  }
  return { index: new Tensor(index, [n]), labels: new Tensor(picked, [n]) };
}

/**
 * The head and the loss in one (rows [N, D], labels [N]) where a model has one that need not
 * hold all the logits (src/models/head-loss.ts); null: take project then loss.
 */
export type FusedLoss = (rows: Tensor, labels: Tensor) => Tensor | null;

/**
 * The loss through `project` on the labelled rows of hidden [B, T, D] (labels [B, T]), and the
 * full logits [B, T, V] computed only when first read. Null when the labels do not match hidden's
 * rows or skip nothing: the caller then takes its full path (which also reports bad shapes).
 *
 * With `layout`, hidden holds only the layout's rows [N, D] (src/attention/unpadded.ts) and the
 * result is never null; the logits, when read, are [B, T, V] with the head's bias alone at the
 * positions that were not computed. With `fused`, the loss comes from it where it gives one.
 */
export function lossOnLabelledRows(
  hidden: Tensor,
  labels: Tensor,
  project: (h: Tensor) => Tensor,
  loss: (logits: Tensor, labels: Tensor) => Tensor,
  layout: Unpadded | null = null,
  fused?: FusedLoss,
): { logits: Tensor; loss: Tensor } | null {
  if (layout) return lossOnKeptRows(hidden, labels, layout, project, loss, fused);
  const D = hidden.shape[hidden.rank - 1];
  const rows = hidden.rank < 2 ? 0 : hidden.size / D;
  if (labels.dtype !== "int32" || labels.rank !== hidden.rank - 1 || labels.size !== rows) {
    return null;
  }
  if (labels.shape.some((s, i) => s !== hidden.shape[i])) return null;
  const picked = labelledRows(labels);
  if (!picked) return null;
  const rowsOf = embedding(reshape(hidden, [-1, D]), picked.index);
  const value = fused?.(rowsOf, picked.labels) ?? loss(project(rowsOf), picked.labels);
  let logits: Tensor | null = null;
  return {
    get logits(): Tensor {
      logits ??= project(hidden);
      return logits;
    },
    loss: value,
  };
}

/** hidden [N, D] holds the layout's rows; labels [B, T]. */
function lossOnKeptRows(
  hidden: Tensor,
  labels: Tensor,
  layout: Unpadded,
  project: (h: Tensor) => Tensor,
  loss: (logits: Tensor, labels: Tensor) => Tensor,
  fused?: FusedLoss,
): { logits: Tensor; loss: Tensor } {
  const kept = layout.pick(labels); // [N]
  const picked = labelledRows(kept);
  const [h, y] = picked ? [embedding(hidden, picked.index), picked.labels] : [hidden, kept];
  const value = fused?.(h, y) ?? loss(project(h), y);
  let logits: Tensor | null = null;
  return {
    get logits(): Tensor {
      logits ??= project(padRows(hidden, layout));
      return logits;
    },
    loss: value,
  };
}
