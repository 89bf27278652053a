// Multi-head attention (Vaswani et al.) with Hugging Face's parameter names
// (q_proj, k_proj, v_proj, out_proj; weights [out, in]). Self-attention when no `source` is
// given, cross-attention otherwise. With a cache, self-attention appends this step's keys and
// values, and a mask given as a function receives the cache length as its causal offset, so the
// caller never computes offsets by hand; cross-attention projects the source once and reuses it.

import { Linear } from "../nn/layers.js";
import { Module } from "../nn/module.js";
import type { Tensor } from "../tensor/tensor.js";
import { fmtShape, MaskwiseError } from "../util/errors.js";
import type { Rng } from "../util/rng.js";
import { type AttentionCache, mergeHeads, splitHeads } from "./cache.js";
import { attention, attentionWeights } from "./fused.js";
import type { AttendMask } from "./masks.js";
import { headsToRows, rowsToHeads, type Unpadded } from "./unpadded.js";

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
  /** Score scale; default 1 / sqrt(Dh). T5 does not scale: 1. */
  scale?: number;
  cache?: AttentionCache;
  /** Seed of this call's attention dropout (training only). */
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
}

export class MultiHeadAttention extends Module {
  readonly q_proj: Linear;
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly out_proj: Linear;
  readonly headDim: number;

  constructor(
    readonly dModel: number,
    readonly heads: number,
    init: { rng: Rng; std?: number },
    readonly dropout = 0,
  ) {
    super();
    if (dModel % heads !== 0) {
      throw new MaskwiseError(`d_model ${dModel} is not divisible by ${heads} heads`, {
        code: "E_CONFIG",
        where: "MultiHeadAttention",
      });
    }
    this.headDim = dModel / heads;
    this.q_proj = this.child("q_proj", new Linear(dModel, dModel, init));
    this.k_proj = this.child("k_proj", new Linear(dModel, dModel, init));
    this.v_proj = this.child("v_proj", new Linear(dModel, dModel, init));
    this.out_proj = this.child("out_proj", new Linear(dModel, dModel, init));
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
    // [B, T, D] or kept rows [N, D] -> [B, H, T, Dh]
    const heads = (t: Tensor, layout: Unpadded | null) =>
      layout ? rowsToHeads(t, layout, H) : splitHeads(t, H);
    const q = heads(this.q_proj.forward(x), rows);
    let k: Tensor;
    let v: Tensor;
    let past = 0;
    if (call.source) {
      if (cache?.k && cache.v) {
        k = cache.k;
        v = cache.v;
      } else {
        const sourceRows = call.sourceRows ?? null;
        k = heads(this.k_proj.forward(call.source), sourceRows);
        v = heads(this.v_proj.forward(call.source), sourceRows);
        cache?.append(k, v);
      }
    } else {
      const kNew = heads(this.k_proj.forward(x), rows);
      const vNew = heads(this.v_proj.forward(x), rows);
      if (cache) {
        past = cache.length;
        cache.append(kNew, vNew);
        k = cache.k as Tensor;
        v = cache.v as Tensor;
      } else {
        k = kNew;
        v = vNew;
      }
    }
    const mask = typeof call.mask === "function" ? call.mask(past) : (call.mask ?? null);
    const bias = typeof call.bias === "function" ? call.bias(past) : (call.bias ?? null);
    const o = attention(q, k, v, mask, {
      training: this.training,
      dropout: this.dropout,
      seed: call.seed ?? 0,
      scale: call.scale,
      bias,
    });
    const out = this.out_proj.forward(rows ? headsToRows(o, rows) : mergeHeads(o));
    return call.returnWeights
      ? { out, weights: attentionWeights(q, k, mask, call.scale, bias) }
      : { out };
  }
}
