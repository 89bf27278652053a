// Lookup in a frozen table held as bfloat16 bits (a LoRA run's base token embedding,
// src/nn/layers.ts Embedding.holdWeightBf16): the rows of the ids, widened to float32 exactly
// (bfloat16 is the top half of a float32).
//   out [...ids, D] = table[ids]      table [N, D] as bfloat16 bits, ids int32
// Nothing is recorded on the tape: the table is not a parameter and ids carry no gradient.
import { fmtShape, MaskwiseError } from "../../util/errors.js";
import { allocF32 } from "../pool.js";
import { Tensor } from "../tensor.js";

/** Rows of `table` [numRows, cols] (bfloat16 bits) picked by `ids` (int32): [...ids.shape, cols]. */
export function embeddingBf16(
  table: Uint16Array,
  numRows: number,
  cols: number,
  ids: Tensor,
): Tensor {
  if (ids.dtype !== "int32" || table.length !== numRows * cols) {
    throw new MaskwiseError(
      `embedding needs a ${numRows} x ${cols} bfloat16 table and int32 ids, got ${table.length} values and ${ids.dtype} ${fmtShape(ids.shape)}`,
      { code: "E_SHAPE", where: "embeddingBf16" },
    );
  }
  const idx = ids.i32;
  const out = allocF32(idx.length * cols, false);
  // Widening is a shift into the high half of each float32, written through an integer view.
  const bits = new Uint32Array(out.buffer, out.byteOffset, idx.length * cols);
  for (let r = 0; r < idx.length; r++) {
    const t = idx[r];
    if (!(t >= 0 && t < numRows)) {
      throw new MaskwiseError(`id ${t} is outside the table of ${numRows} rows`, {
        code: "E_INDEX",
        where: "embeddingBf16",
      });
    }
    const src = t * cols;
    const dst = r * cols;
    for (let d = 0; d < cols; d++) bits[dst + d] = table[src + d] << 16;
  }
  return new Tensor(out, [...ids.shape, cols]);
}
