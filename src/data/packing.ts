// Packing monolingual documents into fixed-length rows for pretraining (GPT-2, T5, RoBERTa's
// FULL-SENTENCES): documents are laid end to end, so almost no position is padding. Each position
// carries the id of the document it came from (a segment id), so the packed-documents mask keeps
// attention inside a document, and a position id that restarts at 0 with each document.
import { MaskwiseError } from "../util/errors.js";

export interface PackOptions {
  /** Tokens per row. */
  rowLength: number;
  /** The id that fills the tail of the last row (and of rows a document did not fill). */
  padId: number;
  /** Appended after every document (e.g. `</s>`), so the model learns where documents end. */
  separatorId?: number;
  /**
   * true (default): a document that does not fit continues in the next row. false: it starts a
   * new row instead, and only documents longer than a row are cut.
   */
  split?: boolean;
}

export interface PackedRows {
  /** [rows][rowLength] token ids. */
  ids: number[][];
  /**
   * [rows][rowLength] segment ids, non-decreasing along a row (a document's piece in a row is one
   * run, numbered from 0 in that row); padding is one more segment after the last document.
   */
  segmentIds: number[][];
  /** [rows][rowLength] position within the document (continuing across a row boundary). */
  positionIds: number[][];
  /** Real (non-padding) tokens in each row. */
  lengths: number[];
}

export function packDocuments(docs: Iterable<readonly number[]>, options: PackOptions): PackedRows {
  const { rowLength, padId, separatorId, split = true } = options;
  if (!Number.isInteger(rowLength) || rowLength < 1) {
    throw new MaskwiseError(`rowLength must be a positive integer, got ${rowLength}`, {
      code: "E_ARG",
      where: "rowLength",
      hint: "give the number of tokens per row",
    });
  }
  const out: PackedRows = { ids: [], segmentIds: [], positionIds: [], lengths: [] };
  let ids: number[] = [];
  let seg: number[] = [];
  let pos: number[] = [];
  let segment = -1;
  const flush = () => {
    out.lengths.push(ids.length);
    const padSegment = segment + 1;
    while (ids.length < rowLength) {
      ids.push(padId);
      seg.push(padSegment);
      pos.push(0);
    }
    out.ids.push(ids);
    out.segmentIds.push(seg);
    out.positionIds.push(pos);
    ids = [];
    seg = [];
    pos = [];
    segment = -1;
  };
  for (const doc of docs) {
    const tokens = separatorId === undefined ? doc : [...doc, separatorId];
    if (tokens.length === 0) continue;
    if (!split && ids.length > 0 && ids.length + tokens.length > rowLength) flush();
    segment++;
    for (let k = 0; k < tokens.length; k++) {
      if (ids.length === rowLength) {
        flush();
        segment = 0;
      }
      ids.push(tokens[k]);
      seg.push(segment);
      pos.push(k);
    }
    if (ids.length === rowLength) flush();
  }
  if (ids.length > 0) flush();
  return out;
}
