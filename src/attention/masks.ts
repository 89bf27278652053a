// Attention masks as one small algebra. Polarity, everywhere: true = MAY ATTEND.
//
// A mask answers, for batch row b, query i and key j, whether the query may attend to the key.
// Queries sit at positions i + offset (bottom-right aligned, as a KV cache needs: with `offset`
// cached keys, the first new query is position `offset`). Constructors build the usual masks;
// `and` / `or` combine them. Every mask can
//   - materialise a boolean grid [B, Tq, Tk] (`attendGrid`), for pictures, tests and converters;
//   - classify a block of queries x keys as all-masked, all-open or mixed (`block`), which is what
//     the fused attention kernel uses to skip work: a causal mask's upper triangle and a padded
//     row's tail are never computed.
import { MaskwiseError } from "../util/errors.js";

/** What a rectangular block of the grid holds. */
export const Block = {
  /** No query in the block may attend to any key in it. */
  None: 0,
  /** Every query in the block may attend to every key in it. */
  All: 1,
  /** Some may, some may not. */
  Mixed: 2,
} as const;
export type Block = (typeof Block)[keyof typeof Block];

export abstract class AttendMask {
  /** Batch rows this mask is defined for, or null if it is the same for every row. */
  abstract readonly batch: number | null;
  /** A short formula, e.g. `causal(offset=0) & padding([5, 3])`. */
  abstract describe(): string;
  /** May query i of batch row b attend to key j? */
  abstract allows(b: number, i: number, j: number): boolean;
  /** Classifies queries [i0, i1) x keys [j0, j1) of row b. Must never claim None/All wrongly. */
  abstract block(b: number, i0: number, i1: number, j0: number, j1: number): Block;

  and(...others: AttendMask[]): AttendMask {
    return and(this, ...others);
  }

  or(...others: AttendMask[]): AttendMask {
    return or(this, ...others);
  }

  /** The grid [B, Tq, Tk] as bytes, 1 = may attend. */
  attendGrid(B: number, Tq: number, Tk: number): Uint8Array {
    checkBatch(this, B);
    const grid = new Uint8Array(B * Tq * Tk);
    // Tile by tile: a tile the mask classifies as all-open or all-masked is filled at once, so
    // `allows` runs only where the mask is mixed (a causal diagonal, a padding boundary).
    const tile = 16;
    for (let b = 0; b < B; b++) {
      for (let i0 = 0; i0 < Tq; i0 += tile) {
        const i1 = Math.min(i0 + tile, Tq);
        for (let j0 = 0; j0 < Tk; j0 += tile) {
          const j1 = Math.min(j0 + tile, Tk);
          const cls = this.block(b, i0, i1, j0, j1);
          if (cls === Block.None) continue;
          for (let i = i0; i < i1; i++) {
            const row = (b * Tq + i) * Tk;
            if (cls === Block.All) grid.fill(1, row + j0, row + j1);
            else for (let j = j0; j < j1; j++) grid[row + j] = this.allows(b, i, j) ? 1 : 0;
          }
        }
      }
    }
    return grid;
  }

  /** The grid as nested booleans [B][Tq][Tk] (the JSON form of `maskwise masks show`). */
  toBooleans(B: number, Tq: number, Tk: number): boolean[][][] {
    const g = this.attendGrid(B, Tq, Tk);
    return Array.from({ length: B }, (_, b) =>
      Array.from({ length: Tq }, (_, i) =>
        Array.from({ length: Tk }, (_, j) => g[(b * Tq + i) * Tk + j] === 1),
      ),
    );
  }

  /**
   * Block classes [B, ceil(Tq / bq), ceil(Tk / bk)] as bytes (Block values): the map the fused
   * attention kernel walks.
   */
  blockMap(B: number, Tq: number, Tk: number, bq: number, bk: number): Uint8Array {
    checkBatch(this, B);
    const nq = Math.ceil(Tq / bq);
    const nk = Math.ceil(Tk / bk);
    const map = new Uint8Array(B * nq * nk);
    for (let b = 0; b < B; b++) {
      for (let qi = 0; qi < nq; qi++) {
        for (let ki = 0; ki < nk; ki++) {
          const i0 = qi * bq;
          const j0 = ki * bk;
          map[(b * nq + qi) * nk + ki] = this.block(
            b,
            i0,
            Math.min(i0 + bq, Tq),
            j0,
            Math.min(j0 + bk, Tk),
          );
        }
      }
    }
    return map;
  }
}

function checkBatch(mask: AttendMask, B: number): void {
  if (mask.batch !== null && mask.batch !== B) {
    throw new MaskwiseError(
      `mask ${mask.describe()} has ${mask.batch} batch rows, the attention has ${B}`,
      {
        code: "E_SHAPE",
        where: "attention mask",
        hint: "build the padding mask from the same batch as the queries and keys",
      },
    );
  }
}

function checkRow(mask: AttendMask, b: number): void {
  if (mask.batch !== null && (b < 0 || b >= mask.batch)) {
    throw new MaskwiseError(`batch row ${b} is outside the mask's ${mask.batch} rows`, {
      code: "E_SHAPE",
      where: mask.describe(),
    });
  }
}

function checkInt(value: number, name: string, where: string, min = 0): void {
  if (!Number.isInteger(value) || value < min) {
    throw new MaskwiseError(`${name} must be an integer >= ${min}, got ${value}`, {
      code: "E_ARG",
      where,
    });
  }
}

// ---- Constructors ------------------------------------------------------------------------------

/** Every query may attend to every key. */
class FullMask extends AttendMask {
  readonly batch = null;
  describe() {
    return "full";
  }
  allows() {
    return true;
  }
  block() {
    return Block.All;
  }
}

export function full(): AttendMask {
  return new FullMask();
}

/**
 * Real positions, for each batch row: which keys are real (key padding, built from lengths for
 * right padding or from a Hugging Face 2D attention mask, 1 = real token, any pattern) or, on
 * the query axis, which queries are computed at all (the kept rows of an unpadded layout: a
 * query left out attends to nothing, so the kernel skips its row).
 */
class RealPositionsMask extends AttendMask {
  readonly batch: number;
  /** real[b][t] = 1 when position t of row b is real. */
  private readonly real: Uint8Array[];
  /** prefix[b][t] = number of real positions before t (for O(1) block classification). */
  private readonly prefix: Int32Array[];
  constructor(
    real: Uint8Array[],
    private readonly label: string,
    private readonly axis: "keys" | "queries" = "keys",
  ) {
    super();
    this.batch = real.length;
    this.real = real;
    this.prefix = real.map((r) => {
      const p = new Int32Array(r.length + 1);
      for (let j = 0; j < r.length; j++) p[j + 1] = p[j] + r[j];
      return p;
    });
  }
  describe() {
    return this.label;
  }
  allows(b: number, i: number, j: number) {
    checkRow(this, b);
    const t = this.axis === "keys" ? j : i;
    return t < this.real[b].length && this.real[b][t] === 1;
  }
  override attendGrid(B: number, Tq: number, Tk: number): Uint8Array {
    checkBatch(this, B);
    const grid = new Uint8Array(B * Tq * Tk);
    for (let b = 0; b < B; b++) {
      const real = this.real[b];
      const first = b * Tq * Tk;
      if (this.axis === "keys") {
        // Every query row of b is the same row of keys: the first one, then copies doubling.
        if (Tq > 0) grid.set(real.subarray(0, Tk), first);
        for (let done = 1; done < Tq; done *= 2)
          grid.copyWithin(first + done * Tk, first, first + Math.min(done, Tq - done) * Tk);
        continue;
      }
      for (let i = 0; i < Tq; i++)
        if (i < real.length && real[i] === 1) grid.fill(1, first + i * Tk, first + (i + 1) * Tk);
    }
    return grid;
  }
  block(b: number, i0: number, i1: number, j0: number, j1: number) {
    checkRow(this, b);
    const [t0, t1] = this.axis === "keys" ? [j0, j1] : [i0, i1];
    const p = this.prefix[b];
    const n = this.real[b].length;
    const lo = Math.min(t0, n);
    const hi = Math.min(t1, n);
    const count = p[hi] - p[lo];
    if (count === 0) return Block.None;
    return count === t1 - t0 ? Block.All : Block.Mixed;
  }
}

/**
 * Only the marked queries attend: query i of row b may attend (to any key) when kept[b][i] is
 * 1. Positions past a row's array are not kept.
 */
export function keptQueries(kept: readonly Uint8Array[]): AttendMask {
  const counts = kept.map((r) => r.reduce((n, x) => n + (x ? 1 : 0), 0));
  return new RealPositionsMask(
    kept.map((r) => Uint8Array.from(r, (x) => (x ? 1 : 0))),
    `queries([${counts.join(", ")}])`,
    "queries",
  );
}

/** Key j of row b is real when j < lengths[b]. */
export function keyPadding(lengths: readonly number[]): AttendMask {
  for (const [b, l] of lengths.entries()) checkInt(l, `length of row ${b}`, "keyPadding");
  const maxLen = Math.max(0, ...lengths);
  const real = lengths.map((l) => {
    const r = new Uint8Array(maxLen);
    r.fill(1, 0, l);
    return r;
  });
  return new RealPositionsMask(real, `padding([${lengths.join(", ")}])`);
}

/**
 * From a Hugging Face 2D attention mask [B][Tk], 1 = real token, 0 = padding. Left padding, right
 * padding or holes are all taken as given.
 */
export function keyPaddingFromAttentionMask(
  attentionMask:
    | readonly (readonly number[])[]
    | { data: ArrayLike<number>; shape: readonly number[] },
): AttendMask {
  // Row b's flags from values v(j), j < T, each checked to be 0 or 1: a plain loop into bytes
  // (a training step builds three of these per batch).
  const realRow = (b: number, T: number, v: (j: number) => number): Uint8Array => {
    const r = new Uint8Array(T);
    for (let j = 0; j < T; j++) {
      const x = v(j);
      if (x !== 0 && x !== 1) {
        throw new MaskwiseError(
          `attention_mask[${b}][${j}] is ${x}; it must be 1 (real) or 0 (padding)`,
          {
            code: "E_ARG",
            where: "keyPaddingFromAttentionMask",
          },
        );
      }
      r[j] = x;
    }
    return r;
  };
  let real: Uint8Array[];
  if ("shape" in attentionMask) {
    const [B, T] = attentionMask.shape;
    if (attentionMask.shape.length !== 2) {
      throw new MaskwiseError(
        `attention_mask must be [B, T], got [${attentionMask.shape.join(", ")}]`,
        {
          code: "E_SHAPE",
          where: "keyPaddingFromAttentionMask",
        },
      );
    }
    const d = attentionMask.data;
    real = Array.from({ length: B }, (_, b) => realRow(b, T, (j) => d[b * T + j]));
  } else {
    real = attentionMask.map((r, b) => realRow(b, r.length, (j) => r[j]));
  }
  return new RealPositionsMask(
    real,
    `padding(attention_mask ${real.length}x${real[0]?.length ?? 0})`,
  );
}

/** Cross-attention key padding: decoder queries may attend to the real source tokens only. */
export const crossPadding = keyPadding;

/** Causal: query i (at position i + offset) sees keys 0 .. i + offset. */
class CausalMask extends AttendMask {
  readonly batch = null;
  constructor(readonly offset: number) {
    super();
  }
  describe() {
    return `causal(offset=${this.offset})`;
  }
  allows(_b: number, i: number, j: number) {
    return j <= i + this.offset;
  }
  override attendGrid(B: number, Tq: number, Tk: number): Uint8Array {
    const grid = new Uint8Array(B * Tq * Tk);
    for (let r = 0; r < B * Tq; r++) {
      const i = r % Tq;
      grid.fill(1, r * Tk, r * Tk + Math.max(0, Math.min(Tk, i + this.offset + 1)));
    }
    return grid;
  }
  block(_b: number, i0: number, i1: number, j0: number, j1: number) {
    if (j0 > i1 - 1 + this.offset) return Block.None;
    if (j1 - 1 <= i0 + this.offset) return Block.All;
    return Block.Mixed;
  }
}

export function causal(offset = 0): AttendMask {
  checkInt(offset, "offset", "causal");
  return new CausalMask(offset);
}

/** Causal sliding window: query at position p sees keys p - W + 1 .. p (itself and W - 1 before). */
class WindowMask extends AttendMask {
  readonly batch = null;
  constructor(
    readonly window: number,
    readonly offset: number,
  ) {
    super();
  }
  describe() {
    return `window(${this.window}, offset=${this.offset})`;
  }
  allows(_b: number, i: number, j: number) {
    const p = i + this.offset;
    return j <= p && j > p - this.window;
  }
  block(_b: number, i0: number, i1: number, j0: number, j1: number) {
    const pLo = i0 + this.offset;
    const pHi = i1 - 1 + this.offset;
    // Entirely above the diagonal, or entirely left of every query's window.
    if (j0 > pHi || j1 - 1 <= pLo - this.window) return Block.None;
    if (j1 - 1 <= pLo && j0 > pHi - this.window) return Block.All;
    return Block.Mixed;
  }
}

export function slidingWindow(window: number, offset = 0): AttendMask {
  checkInt(window, "window", "slidingWindow", 1);
  checkInt(offset, "offset", "slidingWindow");
  return new WindowMask(window, offset);
}

/** Prefix: keys before P are seen by every query. `causal().or(prefix(P))` is a prefix LM. */
class PrefixMask extends AttendMask {
  readonly batch: number | null;
  constructor(readonly prefixes: readonly number[] | number) {
    super();
    this.batch = typeof prefixes === "number" ? null : prefixes.length;
  }
  private p(b: number): number {
    if (typeof this.prefixes === "number") return this.prefixes;
    checkRow(this, b);
    return this.prefixes[b];
  }
  describe() {
    return `prefix(${typeof this.prefixes === "number" ? this.prefixes : `[${this.prefixes.join(", ")}]`})`;
  }
  allows(b: number, _i: number, j: number) {
    return j < this.p(b);
  }
  block(b: number, _i0: number, _i1: number, j0: number, j1: number) {
    const p = this.p(b);
    if (j0 >= p) return Block.None;
    return j1 <= p ? Block.All : Block.Mixed;
  }
}

/** Keys before `prefix` (one number, or one per batch row) are visible to every query. */
export function prefix(prefix: number | readonly number[]): AttendMask {
  if (typeof prefix === "number") checkInt(prefix, "prefix", "prefix");
  else for (const [b, p] of prefix.entries()) checkInt(p, `prefix of row ${b}`, "prefix");
  return new PrefixMask(typeof prefix === "number" ? prefix : [...prefix]);
}

/** Prefix LM (Raffel et al., T5): bidirectional over the first P positions, causal after. */
export function prefixLM(prefixLength: number | readonly number[], offset = 0): AttendMask {
  return or(causal(offset), prefix(prefixLength));
}

/**
 * Packed documents: a query sees only keys of its own segment. `segments` gives a segment id per
 * key position (one array, or one per batch row); the query at position i + offset has the
 * segment of key position i + offset. Combine with `causal()` for packed causal LM training.
 */
class DocumentsMask extends AttendMask {
  readonly batch: number | null;
  private readonly rows: Int32Array[];
  /** Whether each row's ids never decrease (packed runs), which makes blocks cheap to classify. */
  private readonly sorted: boolean[];
  constructor(
    segments: readonly (readonly number[])[],
    perRow: boolean,
    readonly offset: number,
  ) {
    super();
    this.batch = perRow ? segments.length : null;
    this.rows = segments.map((s) => Int32Array.from(s));
    this.sorted = this.rows.map((r) => r.every((v, k) => k === 0 || v >= r[k - 1]));
  }
  private row(b: number): Int32Array {
    if (this.batch === null) return this.rows[0];
    checkRow(this, b);
    return this.rows[b];
  }
  describe() {
    return `documents(${this.rows.map((r) => `[${Array.from(r).join(", ")}]`).join(", ")})`;
  }
  allows(b: number, i: number, j: number) {
    const r = this.row(b);
    const p = i + this.offset;
    if (p >= r.length || j >= r.length) return false;
    return r[p] === r[j];
  }
  block(b: number, i0: number, i1: number, j0: number, j1: number) {
    const r = this.row(b);
    const q0 = i0 + this.offset;
    const q1 = Math.min(i1 + this.offset, r.length);
    const k1 = Math.min(j1, r.length);
    if (q0 >= q1 || j0 >= k1) return Block.None;
    const clipped = q1 < i1 + this.offset || k1 < j1;
    if (this.sorted[this.batch === null ? 0 : b]) {
      // Runs: the blocks' id intervals either coincide in one id, are disjoint, or overlap.
      const qLo = r[q0];
      const qHi = r[q1 - 1];
      const kLo = r[j0];
      const kHi = r[k1 - 1];
      if (qHi < kLo || kHi < qLo) return Block.None;
      if (!clipped && qLo === qHi && kLo === kHi && qLo === kLo) return Block.All;
      return Block.Mixed;
    }
    let any = false;
    let all = !clipped;
    for (let p = q0; p < q1; p++) {
      for (let j = j0; j < k1; j++) {
        if (r[p] === r[j]) any = true;
        else all = false;
      }
    }
    return all ? Block.All : any ? Block.Mixed : Block.None;
  }
}

export function documents(
  segments: readonly number[] | readonly (readonly number[])[],
  offset = 0,
): AttendMask {
  checkInt(offset, "offset", "documents");
  const perRow = segments.length > 0 && Array.isArray(segments[0]);
  const rows = perRow ? (segments as number[][]) : [segments as number[]];
  for (const [b, r] of rows.entries()) {
    for (const [k, v] of r.entries())
      checkInt(v, `segment id at row ${b}, position ${k}`, "documents");
  }
  return new DocumentsMask(rows, perRow, offset);
}

/** An explicit grid [B or 1, Tq, Tk], 1 = may attend: for masks no constructor describes. */
class GridMask extends AttendMask {
  constructor(
    readonly grid: Uint8Array,
    readonly rowsB: number,
    readonly Tq: number,
    readonly Tk: number,
    private readonly label: string,
  ) {
    super();
  }
  get batch() {
    return this.rowsB === 1 ? null : this.rowsB;
  }
  describe() {
    return this.label;
  }
  allows(b: number, i: number, j: number) {
    if (i >= this.Tq || j >= this.Tk) return false;
    const bb = this.rowsB === 1 ? 0 : b;
    return this.grid[(bb * this.Tq + i) * this.Tk + j] === 1;
  }
  block(b: number, i0: number, i1: number, j0: number, j1: number) {
    let any = false;
    let all = true;
    for (let i = i0; i < i1; i++) {
      for (let j = j0; j < j1; j++) {
        if (this.allows(b, i, j)) any = true;
        else all = false;
      }
    }
    return all ? Block.All : any ? Block.Mixed : Block.None;
  }
}

/** A mask from an explicit grid of [B or 1][Tq][Tk] booleans, true = may attend. */
export function fromAttendGrid(grid: readonly (readonly (readonly boolean[])[])[]): AttendMask {
  const B = grid.length;
  const Tq = grid[0]?.length ?? 0;
  const Tk = grid[0]?.[0]?.length ?? 0;
  const data = new Uint8Array(B * Tq * Tk);
  grid.forEach((rows, b) => {
    if (rows.length !== Tq)
      throw new MaskwiseError(`grid row ${b} has ${rows.length} queries, row 0 has ${Tq}`, {
        code: "E_SHAPE",
        where: "fromAttendGrid",
      });
    rows.forEach((keys, i) => {
      if (keys.length !== Tk)
        throw new MaskwiseError(`grid[${b}][${i}] has ${keys.length} keys, expected ${Tk}`, {
          code: "E_SHAPE",
          where: "fromAttendGrid",
        });
      keys.forEach((v, j) => {
        data[(b * Tq + i) * Tk + j] = v ? 1 : 0;
      });
    });
  });
  return new GridMask(data, B, Tq, Tk, `grid(${B}x${Tq}x${Tk})`);
}

// ---- Converters from the other conventions ------------------------------------------------------

/**
 * From PyTorch's `key_padding_mask` [B][Tk] of nn.MultiheadAttention, where TRUE MEANS IGNORE
 * (the opposite of maskwise): key j of row b is real where the value is false.
 */
export function fromTorchKeyPaddingMask(ignore: readonly (readonly boolean[])[]): AttendMask {
  const real = ignore.map((r) => Uint8Array.from(r, (v) => (v ? 0 : 1)));
  return new RealPositionsMask(
    real,
    `padding(torch key_padding_mask ${ignore.length}x${ignore[0]?.length ?? 0})`,
  );
}

/**
 * From a boolean `attn_mask` [Tq][Tk] of nn.MultiheadAttention, where TRUE MEANS NOT ALLOWED.
 * (scaled_dot_product_attention's boolean mask is the other way round: use fromAttendGrid.)
 */
export function fromTorchBlockedMask(blocked: readonly (readonly boolean[])[]): AttendMask {
  return fromAttendGrid([blocked.map((r) => r.map((v) => !v))]);
}

/**
 * From an additive bias [B or 1][Tq][Tk] (0 where allowed, -inf or a large negative number such
 * as Hugging Face's finfo.min where not): allowed where bias > threshold (default -1e4).
 */
export function fromAdditiveBias(
  bias: readonly (readonly (readonly number[])[])[],
  threshold = -1e4,
): AttendMask {
  return fromAttendGrid(bias.map((rows) => rows.map((r) => r.map((v) => v > threshold))));
}

// ---- Combinators ------------------------------------------------------------------------------

function commonBatch(parts: AttendMask[], op: string): number | null {
  let batch: number | null = null;
  for (const p of parts) {
    if (p.batch === null) continue;
    if (batch !== null && batch !== p.batch) {
      throw new MaskwiseError(`cannot combine masks with ${batch} and ${p.batch} batch rows`, {
        code: "E_SHAPE",
        where: op,
        hint: parts.map((q) => q.describe()).join(` ${op} `),
      });
    }
    batch = p.batch;
  }
  return batch;
}

/**
 * grid[x] = grid[x] & other[x] (or |) over two grids of 0/1 bytes: four bytes a word where both
 * start on a word boundary (the grids are fresh arrays), the same bytes as byte by byte.
 */
function combineGrids(grid: Uint8Array, other: Uint8Array, op: "and" | "or"): void {
  const n = grid.length;
  let x = 0;
  if (grid.byteOffset % 4 === 0 && other.byteOffset % 4 === 0) {
    const words = n >> 2;
    const g = new Uint32Array(grid.buffer, grid.byteOffset, words);
    const o = new Uint32Array(other.buffer, other.byteOffset, words);
    if (op === "and") for (let w = 0; w < words; w++) g[w] &= o[w];
    else for (let w = 0; w < words; w++) g[w] |= o[w];
    x = words << 2;
  }
  if (op === "and") for (; x < n; x++) grid[x] &= other[x];
  else for (; x < n; x++) grid[x] |= other[x];
}

class AndMask extends AttendMask {
  readonly batch: number | null;
  constructor(readonly parts: AttendMask[]) {
    super();
    this.batch = commonBatch(parts, "&");
  }
  describe() {
    return this.parts
      .map((p) => (p instanceof OrMask ? `(${p.describe()})` : p.describe()))
      .join(" & ");
  }
  allows(b: number, i: number, j: number) {
    return this.parts.every((p) => p.allows(b, i, j));
  }
  /** The parts' grids, element by element: a typed-array pass per part, no call per element. */
  override attendGrid(B: number, Tq: number, Tk: number): Uint8Array {
    checkBatch(this, B);
    const grid = this.parts[0].attendGrid(B, Tq, Tk);
    for (let k = 1; k < this.parts.length; k++)
      combineGrids(grid, this.parts[k].attendGrid(B, Tq, Tk), "and");
    return grid;
  }
  block(b: number, i0: number, i1: number, j0: number, j1: number) {
    let all = true;
    for (const p of this.parts) {
      const c = p.block(b, i0, i1, j0, j1);
      if (c === Block.None) return Block.None;
      if (c !== Block.All) all = false;
    }
    // Each part is None-free but some are Mixed: their intersection may still be empty, but
    // Mixed is always a safe answer (the kernel then checks each element).
    return all ? Block.All : Block.Mixed;
  }
}

class OrMask extends AttendMask {
  readonly batch: number | null;
  constructor(readonly parts: AttendMask[]) {
    super();
    this.batch = commonBatch(parts, "|");
  }
  describe() {
    return this.parts.map((p) => p.describe()).join(" | ");
  }
  allows(b: number, i: number, j: number) {
    return this.parts.some((p) => p.allows(b, i, j));
  }
  override attendGrid(B: number, Tq: number, Tk: number): Uint8Array {
    checkBatch(this, B);
    const grid = this.parts[0].attendGrid(B, Tq, Tk);
    for (let k = 1; k < this.parts.length; k++)
      combineGrids(grid, this.parts[k].attendGrid(B, Tq, Tk), "or");
    return grid;
  }
  block(b: number, i0: number, i1: number, j0: number, j1: number) {
    let none = true;
    for (const p of this.parts) {
      const c = p.block(b, i0, i1, j0, j1);
      if (c === Block.All) return Block.All;
      if (c !== Block.None) none = false;
    }
    return none ? Block.None : Block.Mixed;
  }
}

/** May attend where every mask allows it. */
export function and(...masks: AttendMask[]): AttendMask {
  if (masks.length === 0) return full();
  return masks.length === 1 ? masks[0] : new AndMask(masks);
}

/** May attend where any mask allows it. */
export function or(...masks: AttendMask[]): AttendMask {
  if (masks.length === 0) {
    throw new MaskwiseError("or() needs at least one mask", { code: "E_ARG", where: "or" });
  }
  return masks.length === 1 ? masks[0] : new OrMask(masks);
}
