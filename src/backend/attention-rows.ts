// The row layout of AttentionArgs (qSlots and kSlots, src/tensor/backend.ts) for the reference
// backend, by its definition: the head layout on the rows laid out by head, zeros where a
// position has no row, and the results taken back at the rows.
import type { AttentionArgs, F32, I32 } from "../tensor/backend.js";
import { MaskwiseError } from "../util/errors.js";

/** Rows of a [N, H * Dh] array that the slots may name: every slot is -1 or below it. */
function rowsOf(x: F32, slots: I32, need: number, H: number, Dh: number, name: string): number {
  const N = H * Dh === 0 ? 0 : Math.floor(x.length / (H * Dh));
  if (slots.length < need) {
    throw new MaskwiseError(`${name} holds ${slots.length} slots, the sizes need ${need}`, {
      code: "E_ARG",
      where: "attention",
    });
  }
  for (let i = 0; i < need; i++) {
    if (slots[i] < -1 || slots[i] >= N) {
      throw new MaskwiseError(`${name}[${i}] names row ${slots[i]}, outside -1 .. ${N - 1}`, {
        code: "E_ARG",
        where: "attention",
      });
    }
  }
  return N;
}

/** x [N, H * Dh] at the slots' rows -> [B, H, T, Dh], zeros where a position has no row. */
export function headsOf(x: F32, slots: I32, B: number, H: number, T: number, Dh: number): F32 {
  const out = new Float32Array(B * H * T * Dh);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const r = slots[b * T + t];
      if (r < 0) continue;
      for (let h = 0; h < H; h++)
        out.set(x.subarray((r * H + h) * Dh, (r * H + h + 1) * Dh), ((b * H + h) * T + t) * Dh);
    }
  }
  return out;
}

/** heads [B, H, T, Dh] written into (or, with `add`, added onto) the slots' rows of dst. */
export function intoRows(
  dst: F32,
  heads: F32,
  slots: I32,
  B: number,
  H: number,
  T: number,
  Dh: number,
  add: boolean,
): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const r = slots[b * T + t];
      if (r < 0) continue;
      for (let h = 0; h < H; h++) {
        const from = ((b * H + h) * T + t) * Dh;
        const to = (r * H + h) * Dh;
        for (let e = 0; e < Dh; e++) dst[to + e] = (add ? dst[to + e] : 0) + heads[from + e];
      }
    }
  }
}

/** The key/value heads of a row-layout call (kvHeads, H when absent), checked to divide H. */
export function kvHeadsOf(a: AttentionArgs): number {
  const Hkv = a.kvHeads ?? a.H;
  if (!Number.isInteger(Hkv) || Hkv < 1 || a.H % Hkv !== 0) {
    throw new MaskwiseError(`kvHeads ${Hkv} does not divide the ${a.H} query heads`, {
      code: "E_ARG",
      where: "attention",
      hint: "kvHeads is a positive divisor of H (absent: H)",
    });
  }
  return Hkv;
}

/** [B, Hkv, T, Dh] -> [B, Hkv * G, T, Dh], each head G times in a row (repeat_kv). */
function repeatHeads(x: F32, B: number, Hkv: number, G: number, T: number, Dh: number): F32 {
  if (G === 1) return x;
  const out = new Float32Array(B * Hkv * G * T * Dh);
  const n = T * Dh;
  for (let bh = 0; bh < B * Hkv; bh++)
    for (let g = 0; g < G; g++) out.set(x.subarray(bh * n, (bh + 1) * n), (bh * G + g) * n);
  return out;
}

/** The reverse of repeatHeads for gradients: [B, Hkv * G, T, Dh] summed over each group. */
export function sumGroups(x: F32, B: number, Hkv: number, G: number, T: number, Dh: number): F32 {
  if (G === 1) return x;
  const out = new Float32Array(B * Hkv * T * Dh);
  const n = T * Dh;
  for (let bh = 0; bh < B * Hkv; bh++) {
    for (let g = 0; g < G; g++) {
      const from = (bh * G + g) * n;
      for (let e = 0; e < n; e++) out[bh * n + e] += x[from + e];
    }
  }
  return out;
}

/**
 * The same attention in the head layout: q, k and v laid out by head (k and v repeated to the
 * H query heads when kvHeads < H); slots dropped.
 */
export function headArgs(a: AttentionArgs): AttentionArgs {
  const { B, H, Tq, Tk, Dh } = a;
  const Hkv = kvHeadsOf(a);
  const qSlots = a.qSlots as I32;
  const kSlots = a.kSlots;
  if (!kSlots) {
    throw new MaskwiseError("qSlots is given without kSlots", {
      code: "E_ARG",
      where: "attention",
    });
  }
  rowsOf(a.q, qSlots, B * Tq, H, Dh, "qSlots");
  const Nk = rowsOf(a.k, kSlots, B * Tk, Hkv, Dh, "kSlots");
  if (a.v.length < Nk * Hkv * Dh) {
    throw new MaskwiseError(`v holds ${a.v.length} values, k's ${Nk} rows need ${Nk * Hkv * Dh}`, {
      code: "E_ARG",
      where: "attention",
    });
  }
  return {
    ...a,
    q: headsOf(a.q, qSlots, B, H, Tq, Dh),
    k: repeatHeads(headsOf(a.k, kSlots, B, Hkv, Tk, Dh), B, Hkv, H / Hkv, Tk, Dh),
    v: repeatHeads(headsOf(a.v, kSlots, B, Hkv, Tk, Dh), B, Hkv, H / Hkv, Tk, Dh),
    qSlots: null,
    kSlots: null,
    kvHeads: H,
  };
}
