// The key/value cache of incremental decoding (one per attention layer), and the head split/merge.
// Self-attention appends each step's keys and values; cross-attention computes the encoder's once
// and reuses them. Beam search reorders the batch rows when it prunes beams.
//
// Storage is preallocated: keys and values live in buffers [P, H, capacity, Dh] (P physical
// rows) that grow by doubling, so an append writes the new positions in place instead of
// concatenating the whole cache every step. Rows are reached through a row map: a reorder only
// rewrites the map (beams of one sentence share the encoder's keys without copies), and the rows
// are gathered into fresh buffers only when something is appended to rows that a map shares or
// repeats. The decoding kernel (DecodeAttentionArgs) reads the buffers through the map directly;
// `k` and `v` give the contiguous [B, H, T, Dh] tensors the general attention takes.
import { permute, reshape } from "../tensor/ops/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";

/** The raw view of a cache for the decoding kernel. */
export interface CacheView {
  /** [P, H, capacity, Dh] */
  k: Float32Array;
  v: Float32Array;
  P: number;
  capacity: number;
  length: number;
  /** [B]: the physical row of each batch row. */
  rows: Int32Array;
}

export class AttentionCache {
  private kBuf: Float32Array = new Float32Array(0);
  private vBuf: Float32Array = new Float32Array(0);
  /** Spare buffers of the same size, reused by the gather of a reorder. */
  private kSpare: Float32Array | null = null;
  private vSpare: Float32Array | null = null;
  private P = 0;
  private H = 0;
  private Dh = 0;
  private capacity = 0;
  private len = 0;
  /** Physical row of each batch row. */
  private map = new Int32Array(0);
  /** Whether map is 0..B-1 with B = P. */
  private identity = true;
  private kView: Tensor | null = null;
  private vView: Tensor | null = null;

  /** Keys held so far (the causal offset of the next query). */
  get length(): number {
    return this.len;
  }

  /** Batch rows. */
  get rows(): number {
    return this.map.length;
  }

  /** [B, H, T, Dh] keys, contiguous (a copy when the storage has spare capacity or a row map). */
  get k(): Tensor | null {
    if (this.map.length === 0 && this.len === 0) return null;
    this.kView ??= this.contiguous(this.kBuf);
    return this.kView;
  }

  /** [B, H, T, Dh] values. */
  get v(): Tensor | null {
    if (this.map.length === 0 && this.len === 0) return null;
    this.vView ??= this.contiguous(this.vBuf);
    return this.vView;
  }

  /** Appends new keys and values [B, H, Tnew, Dh]. */
  append(k: Tensor, v: Tensor): void {
    const [B, H, Tn, Dh] = k.shape;
    if (k.rank !== 4 || v.shape.some((s, i) => s !== k.shape[i])) {
      throw new MaskwiseError(
        `cache append of k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)}: both must be one [B, H, T, Dh]`,
        { code: "E_SHAPE", where: "AttentionCache.append" },
      );
    }
    this.prepare(B, H, Dh, Tn);
    const cap = this.capacity;
    const kd = k.f32;
    const vd = v.f32;
    for (let bh = 0; bh < B * H; bh++) {
      const from = bh * Tn * Dh;
      const to = (bh * cap + this.len) * Dh;
      this.kBuf.set(kd.subarray(from, from + Tn * Dh), to);
      this.vBuf.set(vd.subarray(from, from + Tn * Dh), to);
    }
    this.len += Tn;
  }

  /**
   * Appends one position per row from k and v laid out [B, H * Dh] (a Linear's output for one
   * token per row: the head split is only an index computation here).
   */
  appendStep(k: Float32Array, v: Float32Array, B: number, H: number, Dh: number): void {
    this.prepare(B, H, Dh, 1);
    const cap = this.capacity;
    const t = this.len;
    const kb = this.kBuf;
    const vb = this.vBuf;
    // Plain loops: Dh floats per head are too few for subarray views (an object each) to pay.
    for (let bh = 0; bh < B * H; bh++) {
      const from = bh * Dh;
      const to = (bh * cap + t) * Dh;
      for (let e = 0; e < Dh; e++) {
        kb[to + e] = k[from + e];
        vb[to + e] = v[from + e];
      }
    }
    this.len = t + 1;
  }

  /** Grows the storage so that `extra` more positions fit (no-op when they already do). */
  reserve(extra: number): void {
    if (this.P > 0 && this.len + extra > this.capacity) this.grow(this.len + extra);
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
    this.kView = this.vView = null;
  }

  /** The storage as the decoding kernel reads it. */
  view(): CacheView {
    return {
      k: this.kBuf,
      v: this.vBuf,
      P: this.P,
      capacity: this.capacity,
      length: this.len,
      rows: this.map,
    };
  }

  /** Makes room for Tn positions of B rows with H heads of width Dh, rows one-to-one. */
  private prepare(B: number, H: number, Dh: number, Tn: number): void {
    this.kView = this.vView = null;
    if (this.P === 0 && this.len === 0) {
      this.H = H;
      this.Dh = Dh;
      this.P = B;
      this.map = Int32Array.from({ length: B }, (_, i) => i);
      this.identity = true;
      this.capacity = 0;
      this.grow(Math.max(16, Tn));
      return;
    }
    if (B !== this.map.length || H !== this.H || Dh !== this.Dh) {
      throw new MaskwiseError(
        `cache append of ${B} rows, ${H} heads of ${Dh}: the cache holds ${this.map.length} rows, ${this.H} heads of ${this.Dh}`,
        { code: "E_SHAPE", where: "AttentionCache.append" },
      );
    }
    if (!this.identity) this.gather();
    if (this.len + Tn > this.capacity) this.grow(Math.max(2 * this.capacity, this.len + Tn));
  }

  /** Moves the rows into fresh storage in batch order, so row b is physical row b. */
  private gather(): void {
    const B = this.map.length;
    if (B === this.P) {
      this.gatherInPlace();
      return;
    }
    const row = this.H * this.capacity * this.Dh;
    const size = B * row;
    const fresh = (spare: Float32Array | null) =>
      spare && spare.length === size ? spare : new Float32Array(size);
    const k = fresh(this.kSpare);
    const v = fresh(this.vSpare);
    const used = this.len * this.Dh;
    for (let b = 0; b < B; b++) {
      const p = this.map[b];
      for (let h = 0; h < this.H; h++) {
        const from = p * row + h * this.capacity * this.Dh;
        const to = b * row + h * this.capacity * this.Dh;
        k.set(this.kBuf.subarray(from, from + used), to);
        v.set(this.vBuf.subarray(from, from + used), to);
      }
    }
    this.kSpare = this.kBuf.length === size ? this.kBuf : null;
    this.vSpare = this.vBuf.length === size ? this.vBuf : null;
    this.kBuf = k;
    this.vBuf = v;
    this.P = B;
    this.map = Int32Array.from({ length: B }, (_, i) => i);
    this.identity = true;
  }

  /**
   * The gather when the row count is unchanged (beam search after the first step): only rows
   * whose source differs are written, in place; a source row that is itself overwritten is first
   * saved to the spare buffer. Beams that survive in their own row cost nothing.
   */
  private gatherInPlace(): void {
    const { H, Dh, map } = this;
    const B = map.length;
    const row = H * this.capacity * Dh;
    const used = this.len * Dh;
    const moved = new Uint8Array(B); // row b receives another row's data
    for (let b = 0; b < B; b++) moved[b] = map[b] !== b ? 1 : 0;
    const saved = new Uint8Array(B); // row p is needed elsewhere and overwritten here
    for (let b = 0; b < B; b++) if (moved[b] && moved[map[b]]) saved[map[b]] = 1;
    if (saved.some((x) => x === 1)) {
      if (!this.kSpare || this.kSpare.length !== this.kBuf.length)
        this.kSpare = new Float32Array(this.kBuf.length);
      if (!this.vSpare || this.vSpare.length !== this.vBuf.length)
        this.vSpare = new Float32Array(this.vBuf.length);
    }
    // Within one buffer copyWithin moves the heads without creating views.
    const copyRow = (src: Float32Array, dst: Float32Array, from: number, to: number) => {
      for (let h = 0; h < H; h++) {
        const f = from * row + h * this.capacity * Dh;
        const d = to * row + h * this.capacity * Dh;
        if (src === dst) dst.copyWithin(d, f, f + used);
        else dst.set(src.subarray(f, f + used), d);
      }
    };
    const ks = this.kSpare as Float32Array;
    const vs = this.vSpare as Float32Array;
    for (let p = 0; p < B; p++) {
      if (!saved[p]) continue;
      copyRow(this.kBuf, ks, p, p);
      copyRow(this.vBuf, vs, p, p);
    }
    for (let b = 0; b < B; b++) {
      if (!moved[b]) continue;
      const p = map[b];
      copyRow(saved[p] ? ks : this.kBuf, this.kBuf, p, b);
      copyRow(saved[p] ? vs : this.vBuf, this.vBuf, p, b);
    }
    this.map = Int32Array.from({ length: B }, (_, i) => i);
    this.identity = true;
  }

  /** Reallocates the storage with room for `capacity` positions (the rows keep their order). */
  private grow(capacity: number): void {
    const { P, H, Dh, len } = this;
    const k = new Float32Array(P * H * capacity * Dh);
    const v = new Float32Array(P * H * capacity * Dh);
    for (let ph = 0; ph < P * H; ph++) {
      const from = ph * this.capacity * Dh;
      k.set(this.kBuf.subarray(from, from + len * Dh), ph * capacity * Dh);
      v.set(this.vBuf.subarray(from, from + len * Dh), ph * capacity * Dh);
    }
    this.kBuf = k;
    this.vBuf = v;
    this.kSpare = this.vSpare = null;
    this.capacity = capacity;
  }

  private contiguous(buf: Float32Array): Tensor {
    const { H, Dh, len, capacity } = this;
    const B = this.map.length;
    const out = new Float32Array(B * H * len * Dh);
    for (let b = 0; b < B; b++) {
      const p = this.map[b];
      for (let h = 0; h < H; h++) {
        const from = (p * H + h) * capacity * Dh;
        out.set(buf.subarray(from, from + len * Dh), (b * H + h) * len * Dh);
      }
    }
    return new Tensor(out, [B, H, len, Dh]);
  }
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
