// Multi-head attention (Vaswani et al.) with Hugging Face's parameter names
// (q_proj, k_proj, v_proj, out_proj; weights [out, in]). Self-attention when no `source` is
// given, cross-attention otherwise. With a cache, self-attention appends this step's keys and
// values, and a mask given as a function receives the cache length as its causal offset, so the
// caller never computes offsets by hand; cross-attention projects the source once and reuses it.
// Grouped-query attention (Ainslie et al.; Llama 2/3, Qwen2, Mistral) projects keys and values
// to Hkv < H heads, and query head h reads kv head floor(h / (H / Hkv)) (transformers' repeat_kv):
// the cache holds the Hkv heads, and only the tensor path repeats them. Rotary embeddings, where
// the layout has them, turn q and k at their tokens' positions before attention (./rope.ts).

import type { DecodingWeights } from "../nn/decoding-weights.js";
import { Linear, productInto } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import { getBackend } from "../tensor/dispatch.js";
import { broadcastTo, reshape } from "../tensor/ops/shape.js";
import type { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import { type AttentionCache, cachedHeads, mergeHeads, splitHeads } from "./cache.js";
import { attention, attentionRows, attentionWeights } from "./fused.js";
import { type FusedQkv, fuseQkv } from "./fused-qkv.js";
import type { AttendMask } from "./masks.js";
import type { Rope } from "./rope.js";
import { headsToRows, rowsToHeads, Unpadded } from "./unpadded.js";

/** A fixed mask, or one built from the number of cached keys before this step's queries. */
export type MaskSource = AttendMask | ((pastLength: number) => AttendMask) | null;

/**
 * An additive score bias [H, Tq, Tk] (or [B, H, Tq, Tk]), or one built from the number of cached
 * keys (the queries' position offset): T5's or ALiBi's (src/attention/position-bias.ts).
 */
export type BiasSource = Tensor | ((pastLength: number) => Tensor) | null;

export interface AttentionCall {
  /** Cross-attention source [B, S, D]; absent for self-attention. */
  source?: Tensor;
  mask?: MaskSource;
  /** Added to the scores of every head (position biases); none by default. */
  bias?: BiasSource;
  /** Score scale; default the layer's (AttentionLayout.scale). T5 does not scale: 1. */
  scale?: number;
  cache?: AttentionCache;
  /** Seed of this call's attention dropout (training only); absent: no dropout. */
  seed?: number;
  /** Also return the attention weights [B, H, Tq, Tk] (for inspection). */
  returnWeights?: boolean;
  /**
   * x holds only these positions' rows [N, D] (src/attention/unpadded.ts); the output has the
   * same rows. Not with a cache.
   */
  rows?: Unpadded | null;
  /** The source holds only these positions' rows [Ns, D]. */
  sourceRows?: Unpadded | null;
  /**
   * The positions of x's tokens, int32 [B, Tq] (or [N] with `rows`): where the layout has rotary
   * embeddings, q and k turn by them.
   */
  positions?: Tensor;
  /**
   * The residual stream, of the output's shape: the output is then residual + attention, the
   * sum taken by the output projection as one op (Linear.forward's `residual`).
   */
  residual?: Tensor;
}

/** Buffers [R, H * Dh] of one decoding step's attention (src/models/step-buffers.ts). */
export interface AttentionStepBuffers {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  att: Float32Array;
}

/** One decoding step's attention on a cache: one new query per row. */
export interface AttentionStep {
  cache: AttentionCache;
  /**
   * Self-attention (true: this step's keys and values are appended first) or cross-attention
   * (false: the source's keys and values are in the cache already).
   */
  self: boolean;
  /** [rows, stride] 0/1 bytes: which cached positions each physical cache row may see; null = all. */
  keep: { keep: Uint8Array; stride: number } | null;
  buffers: AttentionStepBuffers;
  /** Read these low-precision copies of the projections' weights (src/nn/decoding-weights.ts). */
  copies?: DecodingWeights | null;
  /**
   * A position bias for this step's queries (every row at the same position): score j of head h
   * gains bias[offset + h * headStride + j] (DecodeAttentionArgs; position-bias.ts builds it).
   */
  bias?: { bias: Float32Array; offset: number; headStride: number } | null;
  /** The positions of this step's tokens [R], for rotary embeddings. */
  positions?: Int32Array;
}

/**
 * How a family's attention differs from BART's: T5's projections are q, k, v and o without
 * biases, its heads need not split d_model (inner width H * Dh), and it does not scale scores.
 */
export interface AttentionLayout {
  /** Head width Dh; default d_model / H. */
  headDim?: number;
  /** Biases on the four projections (default true), or on each of q, k, v, out (Qwen2: q, k, v). */
  bias?: boolean | readonly [boolean, boolean, boolean, boolean];
  /** Parameter names of the q, k, v and output projections (default BART's). */
  names?: readonly [string, string, string, string];
  /** Score scale when a call gives none; default 1 / sqrt(Dh). */
  scale?: number;
  /** Key and value heads Hkv (grouped-query attention; 1: multi-query); default H. */
  kvHeads?: number;
  /** Rotary embeddings turning q and k (Llama); none by default. */
  rope?: Rope | null;
}

export class MultiHeadAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  readonly headDim: number;
  /** The score scale of every call that gives none. */
  readonly scale: number;
  /** Key and value heads (H unless grouped). */
  readonly kvHeads: number;
  readonly rope: Rope | null;
  /** Q, K and V as one weight for one-row self-attention steps while held (holdFusedQkv). */
  private fused: FusedQkv | null = null;

  constructor(
    readonly dModel: number,
    readonly heads: number,
    init: { rng: Rng; std?: number },
    readonly dropout = 0,
    layout: AttentionLayout = {},
  ) {
    super();
    if (layout.headDim === undefined && dModel % heads !== 0) {
      throw new MaskwiseError(`d_model ${dModel} is not divisible by ${heads} heads`, {
        code: "E_CONFIG",
        where: "MultiHeadAttention",
      });
    }
    this.headDim = layout.headDim ?? dModel / heads;
    this.scale = layout.scale ?? 1 / Math.sqrt(this.headDim);
    this.kvHeads = layout.kvHeads ?? heads;
    if (!Number.isInteger(this.kvHeads) || this.kvHeads < 1 || heads % this.kvHeads !== 0) {
      throw new MaskwiseError(`${this.kvHeads} key/value heads do not divide ${heads} heads`, {
        code: "E_CONFIG",
        where: "MultiHeadAttention",
        hint: "num_key_value_heads must divide num_attention_heads",
      });
    }
    this.rope = layout.rope ?? null;
    const inner = heads * this.headDim;
    const kvInner = this.kvHeads * this.headDim;
    const b = layout.bias ?? true;
    const [qb, kb, vb, ob] = typeof b === "boolean" ? [b, b, b, b] : b;
    const [qn, kn, vn, on] = layout.names ?? ["q_proj", "k_proj", "v_proj", "out_proj"];
    this.q_proj = this.child(qn, new Linear(dModel, inner, init, qb));
    this.k_proj = this.child(kn, new Linear(dModel, kvInner, init, kb));
    this.v_proj = this.child(vn, new Linear(dModel, kvInner, init, vb));
    this.out_proj = this.child(on, new Linear(inner, dModel, init, ob));
  }

  /**
   * x [B, Tq, D] -> [B, Tq, D] (and the weights when asked); with `rows`, x [N, D] -> [N, D].
   */
  forward(x: Tensor, call: AttentionCall = {}): { out: Tensor; weights?: Tensor } {
    const rows = call.rows ?? null;
    if ((rows ? x.rank !== 2 : x.rank !== 3) || x.shape[x.rank - 1] !== this.dModel) {
      throw new MaskwiseError(
        `attention input ${fmtShape(x.shape)} is not [${rows ? "N" : "B, T"}, ${this.dModel}]`,
        { code: "E_SHAPE", where: "MultiHeadAttention" },
      );
    }
    const cache = call.cache;
    if ((rows || call.sourceRows) && cache) {
      throw new MaskwiseError("attention on kept rows only cannot use a cache", {
        code: "E_ARG",
        where: "MultiHeadAttention",
      });
    }
    const H = this.heads;
    const Hkv = this.kvHeads;
    const rope = this.rope;
    if (rope && !call.positions) {
      throw new MaskwiseError("attention with rotary embeddings needs the tokens' positions", {
        code: "E_ARG",
        where: "MultiHeadAttention",
      });
    }
    // q and (self-attention) k turned at the tokens' positions.
    const turn = (t: Tensor, n: number) =>
      rope && call.positions ? rope.apply(t, call.positions, n) : t;
    // [B, T, n * Dh] or kept rows [N, n * Dh] -> [B, n, T, Dh]
    const heads = (t: Tensor, layout: Unpadded | null, n = H) =>
      layout ? rowsToHeads(t, layout, n) : splitHeads(t, n);
    const qp = turn(this.q_proj.forward(x), H);
    const past = cache && !call.source ? cache.length : 0;
    const mask = typeof call.mask === "function" ? call.mask(past) : (call.mask ?? null);
    const bias = typeof call.bias === "function" ? call.bias(past) : (call.bias ?? null);
    const scale = call.scale ?? this.scale;
    const options = {
      // Without a seed the call is deterministic (a model's forward without dropout randomness).
      training: this.training && call.seed !== undefined,
      dropout: this.dropout,
      seed: call.seed ?? 0,
      scale,
      bias,
    };
    // On kept rows, the positions not kept attend to nothing (their rows are skipped).
    const kernelMask = rows ? rows.maskQueries(mask) : mask;
    const keyRows = call.source ? (call.sourceRows ?? null) : rows;
    if (!cache && !call.returnWeights) {
      // Queries, keys and values stay rows [N, H * Dh] and [N, Hkv * Dh]: the kernel reads them
      // in place, each key/value head for its group of query heads. Without a layout every
      // position of [B, T, D] is a row (no head-layout copies, nor repeat_kv's).
      const input = call.source ?? x;
      const qRows = rows ?? Unpadded.every(x.shape[0], x.shape[1]);
      const kRows =
        keyRows ?? (call.source ? Unpadded.every(input.shape[0], input.shape[1]) : qRows);
      const flat = (t: Tensor) =>
        t.rank === 3 ? reshape(t, [t.shape[0] * t.shape[1], t.shape[2]]) : t;
      const kp = call.source ? this.k_proj.forward(input) : turn(this.k_proj.forward(input), Hkv);
      const vp = this.v_proj.forward(input);
      const o = attentionRows(flat(qp), flat(kp), flat(vp), H, qRows, kRows, kernelMask, options);
      const merged = rows ? o : reshape(o, [x.shape[0], x.shape[1], o.shape[1]]);
      return { out: this.out_proj.forward(merged, { residual: call.residual }) };
    }
    const q = heads(qp, rows);
    // Keys and values [B, Hkv, Tk, Dh]. On a cache they go in as projected, [B, T, Hkv * Dh],
    // and come out as every position so far; cross-attention projects the source the first
    // time only.
    const cached = (c: AttentionCache, kp?: Tensor, vp?: Tensor): [Tensor, Tensor] => {
      if (kp && vp) c.append(kp.f32, vp.f32, kp.shape[0], kp.shape[1], Hkv, this.headDim);
      const view = c.view();
      return [cachedHeads(view, "k"), cachedHeads(view, "v")];
    };
    let k: Tensor;
    let v: Tensor;
    if (call.source && cache && cache.length > 0) [k, v] = cached(cache);
    else {
      const input = call.source ?? x;
      const kp = call.source ? this.k_proj.forward(input) : turn(this.k_proj.forward(input), Hkv);
      const vp = this.v_proj.forward(input);
      if (cache) [k, v] = cached(cache, kp, vp);
      else {
        const layout = call.source ? (call.sourceRows ?? null) : rows;
        k = heads(kp, layout, Hkv);
        v = heads(vp, layout, Hkv);
      }
    }
    if (Hkv !== H) {
      k = repeatKv(k, H / Hkv);
      v = repeatKv(v, H / Hkv);
    }
    const o = attention(q, k, v, kernelMask, options);
    const out = this.out_proj.forward(rows ? headsToRows(o, rows) : mergeHeads(o), {
      residual: call.residual,
    });
    return call.returnWeights
      ? { out, weights: attentionWeights(q, k, mask, scale, bias) }
      : { out };
  }

  /**
   * Holds Q's, K's and V's weights as one (src/attention/fused-qkv.ts), which a self-attention
   * step of one row then multiplies by in one product, with the same results; returns the
   * release. The weights must not change until then (as for Backend.holdPacked); held weights
   * that cannot be fused (an adapter, bfloat16) leave the three products as they are. The fused
   * weight is returned too (or null), for the caller to hold packed.
   */
  holdFusedQkv(): { fused: FusedQkv | null; release: () => void } {
    const fused = fuseQkv(this.q_proj, this.k_proj, this.v_proj);
    this.fused = fused;
    return {
      fused,
      release: () => {
        if (this.fused === fused) this.fused = null;
      },
    };
  }

  /**
   * One decoding step on flat arrays: residual [R, D] += out_proj(attention of q_proj(x) on the
   * cache). The projections of one token per row, [R, H * Dh], are already the layout the cache
   * stores and the kernel reads, so heads are never split or merged; the kernel reads the cache
   * through its row map or slot table (DecodeAttentionArgs). Computes what `forward` computes
   * with a cache for one new position, without tensors, tape or dropout.
   */
  step(x: Float32Array, residual: Float32Array, R: number, s: AttentionStep): void {
    const H = this.heads;
    const Hkv = this.kvHeads;
    const Dh = this.headDim;
    const { att } = s.buffers;
    let q = s.buffers.q;
    // This step's keys and values [R, Hkv * Dh] (the buffers are [R, H * Dh]).
    let k = s.buffers.k.subarray(0, R * Hkv * Dh);
    let v = s.buffers.v.subarray(0, R * Hkv * Dh);
    const copies = s.copies ?? null;
    const cache = s.cache;
    const rope = this.rope;
    if (rope && !s.positions) {
      throw new MaskwiseError("a decoding step with rotary embeddings needs the positions", {
        code: "E_ARG",
        where: "MultiHeadAttention.step",
      });
    }
    // One row against Q, K and V held as one weight: its output row is q, k and v side by side.
    const fused = s.self && R === 1 && !copies ? this.fused : null;
    if (fused) {
      const D = this.q_proj.inFeatures;
      const out = fused.out;
      productInto(x, fused.w, out, 1, out.length, D, null, { beta: 0, bias: fused.bias });
      q = out.subarray(0, H * Dh);
      k = out.subarray(H * Dh, (H + Hkv) * Dh);
      v = out.subarray((H + Hkv) * Dh);
    } else {
      this.q_proj.into(x, q, R, false, copies);
    }
    if (rope && s.positions) rope.into(q, s.positions, R, H);
    if (s.self) {
      if (!fused) {
        this.k_proj.into(x, k, R, false, copies);
        this.v_proj.into(x, v, R, false, copies);
      }
      if (rope && s.positions) rope.into(k, s.positions, R, Hkv);
      if (cache.length > 0 && cache.rows !== R) cacheRowsDiffer("self", cache.rows, R);
      cache.append(k, v, R, 1, Hkv, Dh);
    } else if (cache.rows !== R) cacheRowsDiffer("cross", cache.rows, R);
    const view = cache.view();
    const args = {
      R,
      H,
      Dh,
      q,
      k: view.k,
      v: view.v,
      P: view.P,
      capacity: view.capacity,
      length: view.length,
      rows: view.rows,
      keep: s.keep ? s.keep.keep : null,
      keepStride: s.keep ? s.keep.stride : 0,
      slots: view.slots,
      slotStride: view.slotStride,
      scale: this.scale,
      out: att,
      bias: s.bias?.bias ?? null,
      biasOffset: s.bias?.offset ?? 0,
      biasHeadStride: s.bias?.headStride ?? 0,
      kvHeads: Hkv,
    };
    getBackend().decodeAttention(args);
    this.out_proj.into(att, residual, R, true, copies);
  }
}

/** [B, Hkv, T, Dh] -> [B, Hkv * G, T, Dh], each kv head G times in a row (repeat_kv). */
function repeatKv(x: Tensor, G: number): Tensor {
  const [B, Hkv, T, Dh] = x.shape;
  const spread = broadcastTo(reshape(x, [B, Hkv, 1, T, Dh]), [B, Hkv, G, T, Dh]);
  return reshape(spread, [B, Hkv * G, T, Dh]);
}

function cacheRowsDiffer(which: string, rows: number, R: number): never {
  throw new MaskwiseError(`the ${which}-attention cache holds ${rows} rows, the step has ${R}`, {
    code: "E_SHAPE",
    where: "decoding step",
  });
}
