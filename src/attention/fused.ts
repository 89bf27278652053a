// Scaled dot-product attention as one primitive on the tape:
//   out = softmax(q k^T * scale + bias, masked) v      q [B, H, Tq, Dh], k and v [B, H, Tk, Dh]
// computed by the backend's fused kernel, which never stores the [Tq, Tk] score matrix and skips
// the blocks the mask excludes. A query with nothing to attend to gets 0 and passes 0 gradient.
// The optional bias ([H, Tq, Tk] shared by the batch, or [B, H, Tq, Tk]) is an input of the
// same node: its gradient comes out of the same backward pass (src/attention/position-bias.ts
// builds T5's and ALiBi's).
import { record } from "../tensor/autograd.js";
import type { AttentionArgs } from "../tensor/backend.js";
import { getBackend } from "../tensor/dispatch.js";
import { allocF32, releaseF32 } from "../tensor/pool.js";
import { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import { type AttendMask, full } from "./masks.js";
import type { Unpadded } from "./unpadded.js";

export interface AttentionOptions {
  /** Score scale; default 1 / sqrt(Dh) (Vaswani et al.). */
  scale?: number;
  /** Attention dropout probability (only when `training`). */
  dropout?: number;
  /** Seed of the dropout pattern; the same seed drops the same weights. */
  seed?: number;
  training?: boolean;
  /** Block sizes of the mask's block map (the unit of skipping). */
  blockQ?: number;
  blockK?: number;
  /** Skip the blocks the mask excludes (default true; false only for benchmarks and checks). */
  skipBlocks?: boolean;
  /**
   * Added to the scaled scores: [H, Tq, Tk] (shared by the batch) or [B, H, Tq, Tk]. A learned
   * bias (T5's, gathered from its bucket embedding) gets its gradient, summed over the batch
   * when shared. It never un-masks: masked positions stay masked whatever their bias.
   */
  bias?: Tensor | null;
}

function checkShapes(q: Tensor, k: Tensor, v: Tensor): [number, number, number, number, number] {
  const bad = (why: string): never => {
    throw new MaskwiseError(
      `attention of q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}: ${why}`,
      {
        code: "E_SHAPE",
        where: "attention",
        hint: "q is [B, H, Tq, Dh]; k and v are [B, H, Tk, Dh]",
      },
    );
  };
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) bad("all three need 4 axes");
  const [B, H, Tq, Dh] = q.shape;
  const Tk = k.shape[2];
  if (k.shape[0] !== B || k.shape[1] !== H || k.shape[3] !== Dh)
    bad("k does not match q in B, H or Dh");
  if (v.shape.some((s, i) => s !== k.shape[i])) bad("v must have the shape of k");
  return [B, H, Tq, Tk, Dh];
}

/** The bias's batch rows (1 when shared), after checking it against the attention's sizes. */
function checkBias(bias: Tensor, B: number, H: number, Tq: number, Tk: number): number {
  const s = bias.shape;
  const shared = s.length === 3 || (s.length === 4 && s[0] === 1);
  const tail = s.slice(s.length - 3);
  const ok =
    bias.dtype === "float32" &&
    (s.length === 3 || (s.length === 4 && (s[0] === 1 || s[0] === B))) &&
    tail[0] === H &&
    tail[1] === Tq &&
    tail[2] === Tk;
  if (!ok) {
    throw new MaskwiseError(
      `attention bias ${bias.dtype} ${fmtShape(s)} does not fit B ${B}, H ${H}, Tq ${Tq}, Tk ${Tk}`,
      {
        code: "E_SHAPE",
        where: "attention",
        hint: "the bias is float32 [H, Tq, Tk] (shared by the batch) or [B, H, Tq, Tk]",
      },
    );
  }
  return shared ? 1 : B;
}

/** The last grid and block map built for each mask object. */
interface Layout {
  B: number;
  Tq: number;
  Tk: number;
  blockQ: number;
  blockK: number;
  attend: Uint8Array;
  blocks: Uint8Array;
}
const layouts = new WeakMap<AttendMask, Layout>();

/**
 * The mask's grid and block map for these sizes. A model passes one mask object to every layer
 * of a stack, so the grid is built once per forward rather than once per layer (masks are
 * immutable, and the kernels only read the grid).
 */
function layoutOf(
  m: AttendMask,
  B: number,
  Tq: number,
  Tk: number,
  blockQ: number,
  blockK: number,
) {
  const last = layouts.get(m);
  if (
    last &&
    last.B === B &&
    last.Tq === Tq &&
    last.Tk === Tk &&
    last.blockQ === blockQ &&
    last.blockK === blockK
  ) {
    return last;
  }
  const layout = {
    B,
    Tq,
    Tk,
    blockQ,
    blockK,
    attend: m.attendGrid(B, Tq, Tk),
    blocks: m.blockMap(B, Tq, Tk, blockQ, blockK),
  };
  layouts.set(m, layout);
  return layout;
}

/** Builds the kernel arguments: the mask's grid and block map for this batch. */
export function attentionArgs(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttendMask | null,
  options: AttentionOptions = {},
): AttentionArgs {
  return kernelArgs(checkShapes(q, k, v), q.f32, k.f32, v.f32, mask, options);
}

/** The kernel arguments for these sizes and arrays (of either layout). */
function kernelArgs(
  [B, H, Tq, Tk, Dh]: [number, number, number, number, number],
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  mask: AttendMask | null,
  options: AttentionOptions,
): AttentionArgs {
  const m = mask ?? full();
  const maskBatch = m.batch ?? 1;
  if (m.batch !== null && m.batch !== B) {
    throw new MaskwiseError(`mask ${m.describe()} has ${m.batch} batch rows, q has ${B}`, {
      code: "E_SHAPE",
      where: "attention",
      hint: "build the padding mask from the same batch",
    });
  }
  const blockQ = options.blockQ ?? 32;
  const blockK = options.blockK ?? 32;
  const dropout = options.training ? (options.dropout ?? 0) : 0;
  if (!(dropout >= 0 && dropout < 1)) {
    throw new MaskwiseError(`attention dropout ${dropout} is outside [0, 1)`, {
      code: "E_ARG",
      where: "attention",
    });
  }
  const { attend, blocks } = layoutOf(m, maskBatch, Tq, Tk, blockQ, blockK);
  const bias = options.bias ?? null;
  const biasBatch = bias ? checkBias(bias, B, H, Tq, Tk) : 1;
  return {
    B,
    H,
    Tq,
    Tk,
    Dh,
    q,
    k,
    v,
    attend,
    maskBatch,
    blocks,
    blockQ,
    blockK,
    scale: options.scale ?? 1 / Math.sqrt(Dh),
    skipBlocks: options.skipBlocks ?? true,
    dropout,
    seed: options.seed ?? 0,
    bias: bias ? bias.f32 : null,
    biasBatch,
    qSlots: null,
    kSlots: null,
    kvHeads: H,
  };
}

export function attention(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  mask: AttendMask | null,
  options: AttentionOptions = {},
): Tensor {
  const args = attentionArgs(q, k, v, mask, options);
  const { B, H, Tq, Dh } = args;
  // The kernel writes every row of both (zeros and -Infinity for a row with nothing to attend).
  const out = allocF32(B * H * Tq * Dh, false);
  const lse = allocF32(B * H * Tq, false);
  getBackend().attentionForward(args, out, lse);
  const y = new Tensor(out, [B, H, Tq, Dh]);
  return recordAttention(y, "attention", [q, k, v], options.bias ?? null, args, out, lse);
}

/**
 * Puts an attention output on the tape (inputs q, k, v and the bias, if any): its backward is
 * the kernel's, for either layout of `args`. The kernel produces all three gradients at once.
 * When none of them exists yet it writes them (no zero-filling); otherwise it accumulates, and
 * a fresh one among them is zeroed.
 */
function recordAttention(
  y: Tensor,
  op: string,
  qkv: [Tensor, Tensor, Tensor],
  bias: Tensor | null,
  args: AttentionArgs,
  out: Float32Array,
  lse: Float32Array,
): Tensor {
  const kern = getBackend();
  return record(y, op, bias ? [...qkv, bias] : qkv, (g, sink) => {
    const sinks = [sink(0, true), sink(1, true), sink(2, true)];
    const accumulate = sinks.some((s) => s?.acc);
    const [dq, dk, dv] = sinks.map((s, i) => {
      const n = qkv[i].size;
      if (!s) return accumulate ? new Float32Array(n) : allocF32(n, false);
      return accumulate && !s.acc ? s.g.fill(0) : s.g;
    });
    const sb = bias ? sink(3) : null;
    kern.attentionBackward(args, out, lse, g, dq, dk, dv, sb ? sb.g : null, accumulate);
    sinks.forEach((s, i) => {
      if (!s) releaseF32([dq, dk, dv][i]);
    });
  });
}

/**
 * Attention on the kept rows of unpadded training (src/attention/unpadded.ts): q [Nq, H * Dh]
 * at the positions of `qRows`, k and v [Nk, Hkv * Dh] at those of `kRows` -> out [Nq, H * Dh].
 * The same numbers as headsToRows(attention(rowsToHeads(q), rowsToHeads(k), rowsToHeads(v),
 * mask), qRows), gradients included: the kernel reads and writes the rows itself (AttentionArgs'
 * row layout) instead of a copy of every input, output and gradient laid out by head. `mask` is
 * over the padded positions [B, Tq, Tk]; a position without a row reads as zeros. With fewer
 * key/value heads than query heads (grouped-query attention, Hkv dividing H) each key/value head
 * serves H / Hkv query heads in a row, as repeat_kv would lay them out, without the copies.
 */
export function attentionRows(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  H: number,
  qRows: Unpadded,
  kRows: Unpadded,
  mask: AttendMask | null,
  options: AttentionOptions = {},
): Tensor {
  const D = q.shape[1];
  const Dh = D / H;
  // Key/value heads: k's width in heads of Dh.
  const Hkv = k.rank === 2 && Number.isInteger(Dh) && Dh > 0 ? k.shape[1] / Dh : Number.NaN;
  if (
    q.rank !== 2 ||
    k.rank !== 2 ||
    v.rank !== 2 ||
    q.shape[0] !== qRows.count ||
    k.shape[0] !== kRows.count ||
    v.shape[0] !== kRows.count ||
    !Number.isInteger(Dh) ||
    !Number.isInteger(Hkv) ||
    Hkv < 1 ||
    H % Hkv !== 0 ||
    v.shape[1] !== k.shape[1] ||
    qRows.B !== kRows.B
  ) {
    throw new MaskwiseError(
      `attention on rows needs q [${qRows.count}, H * Dh] with ${H} heads, k and v [${kRows.count}, Hkv * Dh] with Hkv dividing ${H}, and one batch, got q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)}`,
      { code: "E_SHAPE", where: "attentionRows" },
    );
  }
  const sizes: [number, number, number, number, number] = [qRows.B, H, qRows.T, kRows.T, Dh];
  const args = kernelArgs(sizes, q.f32, k.f32, v.f32, mask, options);
  args.qSlots = qRows.slotIndex(1);
  args.kSlots = kRows.slotIndex(1);
  args.kvHeads = Hkv;
  const out = allocF32(q.size, false);
  const lse = allocF32(qRows.B * H * qRows.T, false);
  getBackend().attentionForward(args, out, lse);
  const y = new Tensor(out, [qRows.count, D]);
  return recordAttention(y, "attentionRows", [q, k, v], options.bias ?? null, args, out, lse);
}

/**
 * The attention weights [B, H, Tq, Tk] for inspection (no gradient, no dropout): softmax of the
 * masked scaled (and biased) scores, 0 where masked and in rows with nothing to attend to.
 */
export function attentionWeights(
  q: Tensor,
  k: Tensor,
  mask: AttendMask | null,
  scale?: number,
  bias?: Tensor | null,
): Tensor {
  const args = attentionArgs(q, k, k, mask, { scale, bias });
  const { B, H, Tq, Tk, Dh, attend, maskBatch } = args;
  const bs = args.bias;
  const w = new Float32Array(B * H * Tq * Tk);
  const qs = q.f32;
  const ks = k.f32;
  for (let b = 0; b < B; b++) {
    const mb = maskBatch === 1 ? 0 : b;
    for (let h = 0; h < H; h++) {
      const bh = b * H + h;
      for (let i = 0; i < Tq; i++) {
        const row = (bh * Tq + i) * Tk;
        let m = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < Tk; j++) {
          if (!attend[(mb * Tq + i) * Tk + j]) continue;
          let s = 0;
          for (let d = 0; d < Dh; d++) s += qs[(bh * Tq + i) * Dh + d] * ks[(bh * Tk + j) * Dh + d];
          const bb = args.biasBatch === 1 ? h : bh;
          w[row + j] = s * args.scale + (bs ? bs[(bb * Tq + i) * Tk + j] : 0);
          m = Math.max(m, w[row + j]);
        }
        if (m === Number.NEGATIVE_INFINITY) {
          w.fill(0, row, row + Tk);
          continue;
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) {
          w[row + j] = attend[(mb * Tq + i) * Tk + j] ? Math.exp(w[row + j] - m) : 0;
          sum += w[row + j];
        }
        for (let j = 0; j < Tk; j++) w[row + j] /= sum;
      }
    }
  }
  return new Tensor(w, [B, H, Tq, Tk]);
}
