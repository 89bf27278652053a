// Computing the real tokens only. Of a padded batch [B, T], only N positions are real, and a
// Transformer's token-wise layers (projections, feed-forward, layer norms, residuals) spend
// (B*T - N) / (B*T) of their work on padding whose outputs nobody reads: padding is masked as a
// key, and its label is -100. In training the stacks therefore run those layers on the N kept
// rows [N, D], and build the padded layout [B, H, T, Dh] only where attention needs it (as
// FlashAttention's variable-length path and Hugging Face's unpad_input do). There the padding
// rows of q, k and v are zero: masked as keys, and as queries their outputs are dropped again,
// so no gradient reaches them.
//
// The two layout changes are primitives with each other as gradient:
//   rowsToHeads  [N, D]         -> [B, H, T, Dh]  (split heads; padding rows 0)
//   headsToRows  [B, H, T, Dh]  -> [N, D]         (merge heads; padding rows dropped)
// With every position kept they are splitHeads and mergeHeads (src/attention/cache.ts).
import { record } from "../tensor/autograd.js";
import { getBackend } from "../tensor/dispatch.js";
import { reshape } from "../tensor/ops/shape.js";
import { allocF32, releaseF32 } from "../tensor/pool.js";
import { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import { type AttendMask, and, keptQueries } from "./masks.js";

/** Which positions of a [B, T] batch are computed: flat indices b * T + t, ascending. */
export class Unpadded {
  private constructor(
    readonly B: number,
    readonly T: number,
    readonly rows: Int32Array,
  ) {}

  private readonly headRows = new Map<number, Int32Array>();
  private readonly slotRows = new Map<number, Int32Array>();

  /**
   * For H heads: entry i * H + h is the row (b * H + h) * T + t of [B, H, T, Dh] that holds
   * head h of kept row i = b * T + t. The layout changes are then one gather or scatter of
   * Dh-float rows (the backend's embedding kernels).
   */
  headIndex(H: number): Int32Array {
    let index = this.headRows.get(H);
    if (!index) {
      const { T, rows } = this;
      index = new Int32Array(rows.length * H);
      for (let i = 0; i < rows.length; i++) {
        const b = (rows[i] / T) | 0;
        const t = rows[i] - b * T;
        for (let h = 0; h < H; h++) index[i * H + h] = (b * H + h) * T + t;
      }
      this.headRows.set(H, index);
    }
    return index;
  }

  private queriesMask: AttendMask | null = null;
  private readonly masked = new WeakMap<AttendMask, AttendMask>();

  /**
   * `mask` (null: every key) and, for queries at the positions not kept, nothing at all: their
   * outputs are dropped again (headsToRows), and a query that attends to nothing is a row the
   * attention kernel skips. One object per mask, so that the kernel's grid is built once per
   * forward (src/attention/fused.ts caches it per mask object).
   */
  maskQueries(mask: AttendMask | null): AttendMask {
    if (!this.queriesMask) {
      const { B, T, rows } = this;
      const kept = Array.from({ length: B }, () => new Uint8Array(T));
      for (let i = 0; i < rows.length; i++) {
        const b = (rows[i] / T) | 0;
        kept[b][rows[i] - b * T] = 1;
      }
      this.queriesMask = keptQueries(kept);
    }
    if (!mask) return this.queriesMask;
    let both = this.masked.get(mask);
    if (!both) {
      both = and(mask, this.queriesMask);
      this.masked.set(mask, both);
    }
    return both;
  }

  /**
   * The inverse of headIndex: entry (b * H + h) * T + t is the row i * H + h of [N * H, Dh]
   * that holds head h of position t of batch row b, or -1 where that position is not kept. A
   * gather with it writes every slot of [B, H, T, Dh] once, the padding slots as zeros.
   */
  slotIndex(H: number): Int32Array {
    let index = this.slotRows.get(H);
    if (!index) {
      index = new Int32Array(this.B * H * this.T).fill(-1);
      const rowsOf = this.headIndex(H);
      for (let r = 0; r < rowsOf.length; r++) index[rowsOf[r]] = r;
      this.slotRows.set(H, index);
    }
    return index;
  }

  /** N, the number of kept rows. */
  get count(): number {
    return this.rows.length;
  }

  private static everyLast: Unpadded | null = null;

  /**
   * Every position of a [B, T] batch, in order: rows [B * T, D] are [B, T, D] as it is. The
   * last one is kept, so the layers of one forward share its slot tables.
   */
  static every(B: number, T: number): Unpadded {
    const last = Unpadded.everyLast;
    if (last && last.B === B && last.T === T) return last;
    const all = new Unpadded(
      B,
      T,
      Int32Array.from({ length: B * T }, (_, i) => i),
    );
    Unpadded.everyLast = all;
    return all;
  }

  /**
   * The positions where `mask` [B, T] is non-zero or, with `labels` [B, T], the label is not
   * -100 (a labelled position is computed even if the mask hides it as a key). Null when that
   * is every position (nothing to save) or when the labels' shape differs from the mask's (the
   * caller's full path reports that).
   */
  static of(mask: Tensor, labels?: Tensor): Unpadded | null {
    if (mask.rank !== 2) return null;
    const [B, T] = mask.shape;
    if (labels && (labels.rank !== 2 || labels.shape[0] !== B || labels.shape[1] !== T)) {
      return null;
    }
    const m = mask.data;
    const y = labels?.data;
    const keep = (i: number) => m[i] !== 0 || (y !== undefined && y[i] !== -100);
    let n = 0;
    for (let i = 0; i < B * T; i++) if (keep(i)) n++;
    if (n === B * T) return null;
    const rows = new Int32Array(n);
    for (let i = 0, j = 0; i < B * T; i++) if (keep(i)) rows[j++] = i;
    return new Unpadded(B, T, rows);
  }

  /** The kept positions' values of an int32 [B, T] tensor (ids, positions, labels): [N]. */
  pick(t: Tensor): Tensor {
    if (t.dtype !== "int32" || t.rank !== 2 || t.shape[0] !== this.B || t.shape[1] !== this.T) {
      throw new MaskwiseError(
        `cannot pick rows of a [${this.B}, ${this.T}] layout from ${t.dtype} ${fmtShape(t.shape)}`,
        { code: "E_SHAPE", where: "Unpadded.pick" },
      );
    }
    const src = t.i32;
    const out = new Int32Array(this.rows.length);
    for (let i = 0; i < out.length; i++) out[i] = src[this.rows[i]];
    return new Tensor(out, [out.length]);
  }
}

function checkRows(x: Tensor, layout: Unpadded, H: number, op: string): number {
  if (x.rank !== 2 || x.shape[0] !== layout.count || x.shape[1] % H !== 0) {
    throw new MaskwiseError(
      `${op} needs [${layout.count}, D] rows with D divisible by ${H} heads, got ${fmtShape(x.shape)}`,
      { code: "E_SHAPE", where: op },
    );
  }
  return x.shape[1];
}

/** x [N, D] (the kept rows) -> [B, H, T, D / H], zero at the positions not kept. */
export function rowsToHeads(x: Tensor, layout: Unpadded, H: number): Tensor {
  const D = checkRows(x, layout, H, "rowsToHeads");
  const { B, T } = layout;
  const Dh = D / H;
  const index = layout.headIndex(H);
  const slots = B * H * T; // rows of Dh floats in the output
  // Every slot written once: a kept position's head, or zeros.
  const out = allocF32(slots * Dh, false);
  getBackend().gather({
    table: x.f32,
    ids: layout.slotIndex(H),
    out,
    rows: slots,
    cols: Dh,
    numRows: index.length,
    zeroMissing: true,
  });
  const y = new Tensor(out, [B, H, T, Dh]);
  return record(y, "rowsToHeads", [x], (g, sink) => {
    const s = sink(0, true);
    if (!s) return;
    if (!s.acc) {
      getBackend().gather({
        table: g,
        ids: index,
        out: s.g,
        rows: index.length,
        cols: Dh,
        numRows: slots,
      });
      return;
    }
    const picked = allocF32(index.length * Dh, false);
    getBackend().gather({
      table: g,
      ids: index,
      out: picked,
      rows: index.length,
      cols: Dh,
      numRows: slots,
    });
    for (let j = 0; j < picked.length; j++) s.g[j] += picked[j];
    releaseF32(picked);
  });
}

/** x [B, H, T, Dh] -> the kept rows [N, H * Dh]; the other positions are dropped. */
export function headsToRows(x: Tensor, layout: Unpadded): Tensor {
  const { B, T } = layout;
  if (x.rank !== 4 || x.shape[0] !== B || x.shape[2] !== T) {
    throw new MaskwiseError(`headsToRows needs [${B}, H, ${T}, Dh], got ${fmtShape(x.shape)}`, {
      code: "E_SHAPE",
      where: "headsToRows",
    });
  }
  const H = x.shape[1];
  const Dh = x.shape[3];
  const index = layout.headIndex(H);
  const slots = B * H * T;
  const out = allocF32(index.length * Dh, false);
  getBackend().gather({
    table: x.f32,
    ids: index,
    out,
    rows: index.length,
    cols: Dh,
    numRows: slots,
  });
  const y = new Tensor(out, [layout.count, H * Dh]);
  return record(y, "headsToRows", [x], (g, sink) => {
    // The positions not kept get no gradient: a fresh gradient is written whole (zeros at the
    // slots not kept), an existing one takes the kept rows' additions.
    const s = sink(0, true);
    if (s && !s.acc) {
      getBackend().gather({
        table: g,
        ids: layout.slotIndex(H),
        out: s.g,
        rows: slots,
        cols: Dh,
        numRows: index.length,
        zeroMissing: true,
      });
    } else if (s) {
      getBackend().scatterAdd({
        dout: g,
        ids: index,
        dtable: s.g,
        rows: index.length,
        cols: Dh,
        numRows: slots,
      });
    }
  });
}

/** The kept rows [N, D] back in the padded layout [B, T, D], zero elsewhere. */
export function padRows(x: Tensor, layout: Unpadded): Tensor {
  const D = checkRows(x, layout, 1, "padRows");
  return reshape(rowsToHeads(x, layout, 1), [layout.B, layout.T, D]);
}
