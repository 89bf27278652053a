// The key/value cache of incremental decoding (one per attention layer), and the head split/merge.
// Self-attention appends each step's keys and values; cross-attention computes the encoder's once
// and reuses them. Beam search reorders the batch rows when it prunes beams.
//
// Storage is preallocated: keys and values live in buffers [P, H, capacity, Dh] (P physical
// rows) that grow by doubling, so an append writes the new positions in place instead of
// concatenating the whole cache every step. Rows are reached through a row map: a reorder only
// rewrites the map (beams of one sentence share the encoder's keys without copies). Once
// something is appended after a reorder (beam search's self-attention), the cache keeps a slot
// table instead: the physical row of every position of every batch row. Batch row b writes its
// new positions into physical row b (no table refers to a position at or past the current
// length, so nothing it overwrites is still read), and a reorder copies table rows, a few
// integers per position, instead of the keys and values.
//
// The storage comes from the buffer pool (src/tensor/pool.ts) unzeroed: nothing reads a position
// before it is written (the map and the table only name positions below the length), and a run
// that decodes batch after batch reuses one batch's storage for the next once `release` gave it
// back, instead of having tens of megabytes zero-filled and faulted in for every batch.
//
// One way in and one way out: `append` takes keys and values as projections produce them,
// token-major [B, T, H * Dh] (`appendRows` the same rows inside wider ones), copied into place
// by the backend's cacheWrite, and `view` shows the storage; the decoding kernel
// (DecodeAttentionArgs) reads it through the map or the table directly, and `cachedHeads` copies
// it out as the contiguous [B, H, T, Dh] tensors the general attention takes.
import { getBackend } from "../tensor/dispatch.js";
import { permute, reshape } from "../tensor/ops/shape.js";
import { allocF32, releaseF32 } from "../tensor/pool.js";
import { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";

/** The raw view of a cache for the decoding kernel. */
export interface CacheView {
  /** [P, H, capacity, Dh] */
  k: Float32Array;
  v: Float32Array;
  P: number;
  H: number;
  Dh: number;
  capacity: number;
  length: number;
  /** [B]: the physical row of each batch row (unused, but valid, when slots is given). */
  rows: Int32Array;
  /** [B, slotStride] or null: the physical row of each position of each batch row. */
  slots: Int32Array | null;
  slotStride: number;
}

export class AttentionCache {
  private kBuf: Float32Array = new Float32Array(0);
  private vBuf: Float32Array = new Float32Array(0);
  private P = 0;
  private H = 0;
  private Dh = 0;
  private capacity = 0;
  private len = 0;
  /** Physical row of each batch row. */
  private map = new Int32Array(0);
  /** Whether map is 0..B-1 with B = P. */
  private identity = true;
  /**
   * The slot table [B, capacity], the physical row of each position of each batch row: kept once
   * reordered rows were appended to.
   */
  private slots: Int32Array | null = null;
  /** Positions `reserve` asked for before the first append. */
  private reserved = 0;
  /** Physical rows `reserve` asked for before the first append (beam search's N x K). */
  private reservedRows = 0;

  /** Keys held so far (the causal offset of the next query). */
  get length(): number {
    return this.len;
  }

  /** Batch rows. */
  get rows(): number {
    return this.map.length;
  }

  /** Positions that still fit before the storage must grow (a copy of everything held). */
  get room(): number {
    return this.P === 0 ? Math.max(16, this.reserved) : this.capacity - this.len;
  }

  /**
   * Appends T positions per row of keys and values laid out token-major [B, T, H * Dh] (the
   * projections' output: the head split is only an index computation here).
   */
  append(k: Float32Array, v: Float32Array, B: number, T: number, H: number, Dh: number): void {
    if (k.length !== B * T * H * Dh || v.length !== k.length) {
      throw new MaskwiseError(
        `cache append of ${k.length} keys and ${v.length} values: both must be [${B}, ${T}, ${H} * ${Dh}]`,
        { code: "E_SHAPE", where: "AttentionCache.append" },
      );
    }
    this.appendRows(k, 0, v, 0, H * Dh, B, T, H, Dh);
  }

  /**
   * Appends T positions per row whose keys and values sit inside wider source rows: the keys of
   * position t of row b are the H * Dh floats at kOffset + (b * T + t) * stride of k, its values
   * those at vOffset + (b * T + t) * stride of v (a fused projection's output [B * T, stride]
   * holding queries, keys and values side by side passes one array twice). Nothing is copied
   * out first: the backend's cacheWrite reads the rows where they are.
   */
  appendRows(
    k: Float32Array,
    kOffset: number,
    v: Float32Array,
    vOffset: number,
    stride: number,
    B: number,
    T: number,
    H: number,
    Dh: number,
  ): void {
    const last = (offset: number) => offset + (B * T - 1) * stride + H * Dh;
    if (
      !(Number.isInteger(kOffset) && kOffset >= 0 && Number.isInteger(vOffset) && vOffset >= 0) ||
      !Number.isInteger(stride) ||
      stride < H * Dh ||
      (B * T * H * Dh > 0 && (k.length < last(kOffset) || v.length < last(vOffset)))
    ) {
      throw new MaskwiseError(
        `cache append of ${B} x ${T} rows of ${H} * ${Dh} at stride ${stride} from keys at ${kOffset} of ${k.length} and values at ${vOffset} of ${v.length}: the rows do not fit`,
        {
          code: "E_SHAPE",
          where: "AttentionCache.appendRows",
          hint: "the offsets are non-negative integers, the stride an integer of at least H * Dh, and every row lies inside its array",
        },
      );
    }
    this.prepare(B, H, Dh, T);
    // Batch row b writes physical row b (prepare made sure it may); the cache is [P, H,
    // capacity, Dh] with P >= B.
    getBackend().cacheWrite({
      B,
      T,
      H,
      Dh,
      k,
      kOffset,
      v,
      vOffset,
      srcStride: stride,
      kCache: this.kBuf,
      vCache: this.vBuf,
      capacity: this.capacity,
      t0: this.len,
    });
    this.len += T;
  }

  /**
   * Forgets every position from `length` on, in every row (a conversation that went another way
   * after them). The storage stays; later appends overwrite it.
   */
  truncate(length: number): void {
    if (!Number.isInteger(length) || length < 0 || length > this.len) {
      throw new MaskwiseError(`cannot keep ${length} of the cache's ${this.len} positions`, {
        code: "E_INDEX",
        where: "AttentionCache.truncate",
      });
    }
    this.len = length;
  }

  /**
   * Grows the storage so that `extra` more positions fit (no-op when they already do); before
   * the first append, the first storage is made that long instead of growing by doubling as
   * positions come (each growth copies everything held).
   */
  reserve(extra: number, rows = 0): void {
    if (this.P === 0) {
      this.reserved = Math.max(this.reserved, this.len + extra);
      this.reservedRows = Math.max(this.reservedRows, rows);
    } else {
      if (this.len + extra > this.capacity) this.grow(this.len + extra);
      if (rows > this.P) this.addRows(rows);
    }
  }

  /**
   * Gives the storage back to the buffer pool and empties the cache (as new: the next append
   * starts over). Nothing may read an earlier `view` of it afterwards.
   */
  release(): void {
    releaseF32(this.kBuf);
    releaseF32(this.vBuf);
    this.kBuf = new Float32Array(0);
    this.vBuf = new Float32Array(0);
    this.P = 0;
    this.H = 0;
    this.Dh = 0;
    this.capacity = 0;
    this.len = 0;
    this.map = new Int32Array(0);
    this.identity = true;
    this.slots = null;
    this.reserved = 0;
    this.reservedRows = 0;
  }

  /**
   * Adds n batch rows after the current ones that hold no position of their own yet: a sentence
   * joining a running batch (continuous batching) in a self-attention cache. Positions below the
   * length stay storage of the other rows (the new rows' table names their own physical rows
   * there, which the caller's keep mask must hide: 0 below the length); their first append, like
   * every row's, writes at the length into physical row b. Before the first append this is a
   * no-op: that append sets the rows.
   */
  addBatchRows(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new MaskwiseError(`cannot add ${n} rows to a cache`, {
        code: "E_ARG",
        where: "AttentionCache.addBatchRows",
      });
    }
    if (this.P === 0 || n === 0) return;
    const B = this.map.length;
    const cap = this.capacity;
    const table = new Int32Array((B + n) * cap);
    if (this.slots) table.set(this.slots.subarray(0, B * cap));
    else for (let b = 0; b < B; b++) table.fill(this.map[b], b * cap, b * cap + this.len);
    for (let b = B; b < B + n; b++) table.fill(b, b * cap, b * cap + this.len);
    if (B + n > this.P) this.addRows(B + n);
    this.slots = table;
    this.map = identityRows(B + n);
    this.identity = B + n === this.P;
  }

  /**
   * Adds B batch rows after the current ones with T positions of keys and values each,
   * token-major [B, T, H * Dh]: sentences joining a running batch (continuous batching) in a
   * cross-attention cache. They take physical rows no batch row reads (left by finished
   * sentences) or new ones, and returns those rows, for the caller's keep mask (by physical row):
   * positions from T to the length hold another sentence's keys, or nothing, and must be masked;
   * so must the other rows' positions past their own when T raises the length. A cache with a
   * slot table (appended to after a reorder) has no rows free to reuse and refuses.
   */
  appendBatchRows(
    k: Float32Array,
    v: Float32Array,
    B: number,
    T: number,
    H: number,
    Dh: number,
  ): Int32Array {
    if (this.P === 0 && this.len === 0) {
      this.append(k, v, B, T, H, Dh);
      return identityRows(B);
    }
    const width = H * Dh;
    if (
      this.slots ||
      H !== this.H ||
      Dh !== this.Dh ||
      k.length !== B * T * width ||
      v.length !== k.length
    ) {
      throw new MaskwiseError(
        `cache rows of ${B} x ${T} x ${H} * ${Dh} cannot join a cache of ${this.H} heads of ${this.Dh}${this.slots ? " with a slot table" : ""}`,
        { code: "E_SHAPE", where: "AttentionCache.appendBatchRows" },
      );
    }
    if (T > this.capacity) this.grow(Math.max(2 * this.capacity, T));
    const used = new Uint8Array(this.P);
    for (const r of this.map) used[r] = 1;
    const taken = new Int32Array(B);
    let found = 0;
    for (let p = 0; p < this.P && found < B; p++) if (!used[p]) taken[found++] = p;
    if (found < B) {
      const P = this.P;
      this.addRows(P + B - found);
      for (let p = P; found < B; p++) taken[found++] = p;
    }
    const cap = this.capacity;
    const rowSize = H * cap * Dh;
    taken.forEach((p, i) => {
      getBackend().cacheWrite({
        B: 1,
        T,
        H,
        Dh,
        k,
        kOffset: i * T * width,
        v,
        vOffset: i * T * width,
        srcStride: width,
        kCache: this.kBuf.subarray(p * rowSize, (p + 1) * rowSize),
        vCache: this.vBuf.subarray(p * rowSize, (p + 1) * rowSize),
        capacity: cap,
        t0: 0,
      });
    });
    this.len = Math.max(this.len, T);
    const map = new Int32Array(this.map.length + B);
    map.set(this.map);
    map.set(taken, this.map.length);
    this.map = map;
    this.identity = false;
    return taken;
  }

  /**
   * Forgets the first n positions of every row and moves the rest to the front (storage and slot
   * table alike): a running batch whose live rows all started at or after position n (continuous
   * batching) keeps its length, and its decoding steps' work, bounded. The caller shifts its keep
   * mask with it.
   */
  dropFront(n: number): void {
    if (!Number.isInteger(n) || n < 0 || n > this.len) {
      throw new MaskwiseError(`cannot drop ${n} of the cache's ${this.len} positions`, {
        code: "E_INDEX",
        where: "AttentionCache.dropFront",
      });
    }
    if (n === 0) return;
    const { P, H, Dh, len, capacity: cap } = this;
    for (let ph = 0; ph < P * H; ph++) {
      const at = ph * cap * Dh;
      this.kBuf.copyWithin(at, at + n * Dh, at + len * Dh);
      this.vBuf.copyWithin(at, at + n * Dh, at + len * Dh);
    }
    const slots = this.slots;
    if (slots)
      for (let b = 0; b < this.map.length; b++)
        slots.copyWithin(b * cap, b * cap + n, b * cap + len);
    this.len = len - n;
  }

  /** Keeps batch rows `rows` (in that order; repeats allowed): the beam search reorder. */
  reorder(rows: readonly number[]): void {
    const B = this.map.length;
    const next = new Int32Array(rows.length);
    let identity = rows.length === this.P;
    rows.forEach((r, i) => {
      if (!Number.isInteger(r) || r < 0 || r >= B) {
        throw new MaskwiseError(`row ${r} is outside the cache's ${B} rows`, {
          code: "E_INDEX",
          where: "AttentionCache.reorder",
        });
      }
      next[i] = this.map[r];
      if (next[i] !== i) identity = false;
    });
    this.map = next;
    this.identity = identity;
    const slots = this.slots;
    if (slots) {
      const cap = this.capacity;
      const table = new Int32Array(rows.length * cap);
      rows.forEach((r, i) => {
        table.set(slots.subarray(r * cap, r * cap + this.len), i * cap);
      });
      this.slots = table;
    }
  }

  /** The storage as the decoding kernel reads it. */
  view(): CacheView {
    return {
      k: this.kBuf,
      v: this.vBuf,
      P: this.P,
      H: this.H,
      Dh: this.Dh,
      capacity: this.capacity,
      length: this.len,
      rows: this.map,
      slots: this.slots,
      slotStride: this.slots ? this.capacity : 0,
    };
  }

  /** Makes room for Tn positions of B rows with H heads of width Dh, rows one-to-one. */
  private prepare(B: number, H: number, Dh: number, Tn: number): void {
    if (this.P === 0 && this.len === 0) {
      this.H = H;
      this.Dh = Dh;
      // Rows past B (reserved for beams) are storage only until a slot table sends rows there.
      this.P = Math.max(B, this.reservedRows);
      this.map = identityRows(B);
      this.identity = true;
      this.capacity = 0;
      this.grow(Math.max(16, Tn, this.reserved));
      return;
    }
    if (B !== this.map.length || H !== this.H || Dh !== this.Dh) {
      throw new MaskwiseError(
        `cache append of ${B} rows, ${H} heads of ${Dh}: the cache holds ${this.map.length} rows, ${this.H} heads of ${this.Dh}`,
        { code: "E_SHAPE", where: "AttentionCache.append" },
      );
    }
    if (this.len + Tn > this.capacity) this.grow(Math.max(2 * this.capacity, this.len + Tn));
    if (this.slots || !this.identity) this.useSlots(B, Tn);
  }

  /**
   * Appends of Tn positions to B rows with a slot table: the table is built from the row map the
   * first time, physical rows are added when the batch outgrew them (beam search's first step),
   * and the new positions of batch row b are recorded as physical row b's.
   */
  private useSlots(B: number, Tn: number): void {
    const cap = this.capacity;
    if (!this.slots) {
      this.slots = new Int32Array(B * cap);
      for (let b = 0; b < B; b++) this.slots.fill(this.map[b], b * cap, b * cap + this.len);
    }
    if (B > this.P) this.addRows(B);
    for (let b = 0; b < B; b++) this.slots.fill(b, b * cap + this.len, b * cap + this.len + Tn);
    this.map = identityRows(B);
    this.identity = true;
  }

  /** Grows the storage to P physical rows (the existing rows keep their place). */
  private addRows(P: number): void {
    const size = P * this.H * this.capacity * this.Dh;
    const k = allocF32(size, false, false);
    const v = allocF32(size, false, false);
    k.set(this.kBuf);
    v.set(this.vBuf);
    this.replaceStorage(k, v);
    this.P = P;
  }

  /** Takes k and v as the storage, the old storage (copied from already) back to the pool. */
  private replaceStorage(k: Float32Array, v: Float32Array): void {
    releaseF32(this.kBuf);
    releaseF32(this.vBuf);
    this.kBuf = k;
    this.vBuf = v;
  }

  /** Reallocates the storage with room for `capacity` positions (the rows keep their order). */
  private grow(capacity: number): void {
    const { P, H, Dh, len } = this;
    const k = allocF32(P * H * capacity * Dh, false, false);
    const v = allocF32(P * H * capacity * Dh, false, false);
    for (let ph = 0; ph < P * H; ph++) {
      const from = ph * this.capacity * Dh;
      k.set(this.kBuf.subarray(from, from + len * Dh), ph * capacity * Dh);
      v.set(this.vBuf.subarray(from, from + len * Dh), ph * capacity * Dh);
    }
    this.replaceStorage(k, v);
    if (this.slots) {
      const B = this.map.length;
      const table = new Int32Array(B * capacity);
      for (let b = 0; b < B; b++)
        table.set(this.slots.subarray(b * this.capacity, b * this.capacity + len), b * capacity);
      this.slots = table;
    }
    this.capacity = capacity;
  }
}

/**
 * The row map 0..B-1. A plain loop: Int32Array.from with a mapping function takes the generic
 * iteration path, and beam search's self-attention makes a new map at every step of every layer.
 */
function identityRows(B: number): Int32Array<ArrayBuffer> {
  const map = new Int32Array(B);
  for (let i = 0; i < B; i++) map[i] = i;
  return map;
}

/**
 * The cache's keys or values as a contiguous tensor [B, H, T, Dh] (through the row map or the
 * slot table): what the general attention takes when a whole sequence runs on a cache.
 */
export function cachedHeads(view: CacheView, which: "k" | "v"): Tensor {
  const { H, Dh, length: len, capacity } = view;
  const buf = view[which];
  const B = view.rows.length;
  const out = new Float32Array(B * H * len * Dh);
  const slots = view.slots;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      if (!slots) {
        const from = (view.rows[b] * H + h) * capacity * Dh;
        out.set(buf.subarray(from, from + len * Dh), (b * H + h) * len * Dh);
        continue;
      }
      for (let j = 0; j < len; j++) {
        const from = ((slots[b * view.slotStride + j] * H + h) * capacity + j) * Dh;
        out.set(buf.subarray(from, from + Dh), ((b * H + h) * len + j) * Dh);
      }
    }
  }
  return new Tensor(out, [B, H, len, Dh]);
}

/** [B, T, H * Dh] -> [B, H, T, Dh] */
export function splitHeads(x: Tensor, H: number): Tensor {
  const [B, T, D] = x.shape;
  return permute(reshape(x, [B, T, H, D / H]), [0, 2, 1, 3]);
}

/** [B, H, T, Dh] -> [B, T, H * Dh] */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, T, Dh] = x.shape;
  return reshape(permute(x, [0, 2, 1, 3]), [B, T, H * Dh]);
}
