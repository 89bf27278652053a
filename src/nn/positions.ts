// Positions. maskwise derives them from the attention mask, never from the column index: the
// position of a token is the number of real tokens before it (cumulative sum of the mask minus
// one), so left padding does not shift a sequence and batched generation sees the positions
// training saw. Padding after a sequence repeats its last position; padding before it is -1.
import { getBackend } from "../tensor/dispatch.js";
import { Tensor } from "../tensor/tensor.js";

/** positions [B, T] (int32) from a Hugging Face 2D mask [B, T] (1 = real) and an offset (cache length). */
export function positionsFromMask(mask: Tensor, offset: Int32Array | null = null): Tensor {
  const [B, T] = mask.shape;
  const m = mask.data;
  const out = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = offset ? offset[b] : 0;
    for (let t = 0; t < T; t++) {
      count += m[b * T + t] !== 0 ? 1 : 0;
      out[b * T + t] = count - 1;
    }
  }
  return new Tensor(out, [B, T]);
}

/**
 * Where the sin and cos of channel pair i go: "interleaved" (Vaswani et al., fairseq: sin at 2i,
 * cos at 2i + 1) or "halves" (Marian: sin at i, cos at D/2 + i).
 */
export type SinusoidLayout = "interleaved" | "halves";

/** One position's encoding, written at out[at .. at + D). */
function encodeInto(
  p: number,
  freq: Float64Array,
  D: number,
  out: Float32Array,
  at: number,
  layout: SinusoidLayout,
): void {
  const half = Math.floor(D / 2);
  for (let i = 0; i < freq.length; i++) {
    const angle = p * freq[i];
    if (layout === "halves") {
      if (i < half) out[at + i] = Math.sin(angle);
      if (half + i < D) out[at + half + i] = Math.cos(angle);
      continue;
    }
    out[at + 2 * i] = Math.sin(angle);
    if (2 * i + 1 < D) out[at + 2 * i + 1] = Math.cos(angle);
  }
}

/**
 * Tables of encoded positions per width D, row r holding position r - 1 (so -1 is row 0), grown
 * by doubling. Every forward pass of a sinusoidal model needs the same rows, and computing a
 * sin and a cos per channel per token cost more than the embedding lookup itself.
 */
const tables = new Map<string, { freq: Float64Array; rows: number; data: Float32Array }>();

function tableFor(D: number, maxPosition: number, layout: SinusoidLayout) {
  const key = `${D} ${layout}`;
  let t = tables.get(key);
  if (!t) {
    const freq = new Float64Array(Math.ceil(D / 2));
    for (let i = 0; i < freq.length; i++) freq[i] = 10000 ** (-(2 * i) / D);
    t = { freq, rows: 0, data: new Float32Array(0) };
    tables.set(key, t);
  }
  if (maxPosition + 2 > t.rows) {
    const rows = Math.max(maxPosition + 2, 2 * t.rows, 64);
    const data = new Float32Array(rows * D);
    data.set(t.data);
    for (let r = t.rows; r < rows; r++) encodeInto(r - 1, t.freq, D, data, r * D, layout);
    t.rows = rows;
    t.data = data;
  }
  return t;
}

/** Positions beyond this are encoded directly instead of through a table. */
const MAX_TABLE_POSITION = 1 << 16;

/**
 * The table holding every one of `positions` (row p + 1 is position p), or null when one lies
 * outside [-1, MAX_TABLE_POSITION] and must be encoded directly.
 */
function tableHolding(
  positions: ArrayLike<number>,
  D: number,
  layout: SinusoidLayout,
): { rows: number; data: Float32Array } | null {
  let lo = 0;
  let hi = -1;
  for (let r = 0; r < positions.length; r++) {
    if (positions[r] < lo) lo = positions[r];
    if (positions[r] > hi) hi = positions[r];
  }
  return lo >= -1 && hi <= MAX_TABLE_POSITION ? tableFor(D, hi, layout) : null;
}

/**
 * out[r] = float32(float32(out[r] * scale) + encoding of positions[r]) for each row r of out
 * [R, D]: what a decoding step does to its token rows, the bits of sinusoidalPositions added
 * after the scale. Reads the table in place (no [R, D] encodings array, no gather call, which
 * a step of a few rows paid for more than for the additions).
 */
export function addScaledSinusoids(
  out: Float32Array,
  positions: Int32Array,
  D: number,
  scale: number,
  layout: SinusoidLayout = "interleaved",
): void {
  const R = positions.length;
  const table = tableHolding(positions, D, layout);
  const pos = table ? table.data : sinusoidalPositions(new Tensor(positions, [R]), D, layout).f32;
  for (let r = 0; r < R; r++) {
    const from = table ? (positions[r] + 1) * D : r * D;
    const at = r * D;
    for (let j = 0; j < D; j++) out[at + j] = Math.fround(out[at + j] * scale) + pos[from + j];
  }
}

/**
 * Sinusoidal encodings (Vaswani et al.) for int32 positions [...]: output [..., D] with sin on
 * even and cos on odd channels (or the halves layout); channel pair i of position p uses
 * p / 10000^(2i/D). Computed in
 * double precision per position, so any position (even -1) is exact to float32; positions in
 * [-1, 65536] are copied from a table that holds exactly those values.
 */
export function sinusoidalPositions(
  positions: Tensor,
  D: number,
  layout: SinusoidLayout = "interleaved",
): Tensor {
  const p = positions.data;
  const out = new Float32Array(p.length * D);
  const t = tableHolding(p, D, layout);
  if (t) {
    // One gather of table rows (a copy per row from JavaScript cost more than the copying).
    const ids = new Int32Array(p.length);
    for (let r = 0; r < p.length; r++) ids[r] = p[r] + 1;
    if (p.length > 0 && D > 0)
      getBackend().gather({ table: t.data, ids, out, rows: p.length, cols: D, numRows: t.rows });
  } else {
    const freq = new Float64Array(Math.ceil(D / 2));
    for (let i = 0; i < freq.length; i++) freq[i] = 10000 ** (-(2 * i) / D);
    for (let r = 0; r < p.length; r++) encodeInto(p[r], freq, D, out, r * D, layout);
  }
  return new Tensor(out, [...positions.shape, D]);
}
