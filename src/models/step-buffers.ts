// The working memory of incremental decoding: one decoding step of a decoder (one new token per
// row, `Decoder.step`) computes on flat arrays in these buffers, preallocated and grown when more
// rows come, so a step allocates nothing. What each buffer holds, per row:
//   x    [R, D]  the residual stream          h    [R, D]  a sublayer's normalised input
//   q, k, v [R, A]  this step's projections   att  [R, A]  attention output before out_proj
//   (A = H * Dh, the attention's inner width: D, except in T5 where d_kv sets it)
//   f    [R, F]  the feed-forward's hidden     logits [R, V]
//   mean, rstd [R]  layer-norm statistics
import type { AttentionStepBuffers } from "../attention/multi-head.js";

/** Which cached positions each physical cache row may attend to. */
export interface KeepMask {
  /** [rows, stride] of 0/1 bytes (1 = real). */
  keep: Uint8Array;
  stride: number;
}

/** The key masks of a step; null where no cached position is padding. */
export interface StepMasks {
  self: KeepMask | null;
  /** By the cross cache's physical rows (the source sentences). */
  cross: KeepMask | null;
}

/** A step's views of the buffers, each exactly R rows long. */
export interface StepView extends AttentionStepBuffers {
  R: number;
  x: Float32Array;
  h: Float32Array;
  f: Float32Array;
  logits: Float32Array;
  mean: Float32Array;
  rstd: Float32Array;
}

export class StepBuffers {
  private rowsCap = 0;
  private x = new Float32Array(0);
  private h = new Float32Array(0);
  private q = new Float32Array(0);
  private k = new Float32Array(0);
  private v = new Float32Array(0);
  private att = new Float32Array(0);
  private f = new Float32Array(0);
  private logits = new Float32Array(0);
  private mean = new Float32Array(0);
  private rstd = new Float32Array(0);

  /** Width D, feed-forward width F (the widest layer's), vocabulary V, attention width A. */
  constructor(
    readonly D: number,
    readonly F: number,
    readonly V: number,
    readonly A = D,
  ) {}

  /** Views of R rows (the arrays are replaced when R is more than they hold). */
  rows(R: number): StepView {
    this.ensure(R);
    const { D, F, V, A } = this;
    return {
      R,
      x: this.x.subarray(0, R * D),
      h: this.h.subarray(0, R * D),
      q: this.q.subarray(0, R * A),
      k: this.k.subarray(0, R * A),
      v: this.v.subarray(0, R * A),
      att: this.att.subarray(0, R * A),
      f: this.f.subarray(0, R * F),
      logits: this.logits.subarray(0, R * V),
      mean: this.mean,
      rstd: this.rstd,
    };
  }

  private ensure(R: number): void {
    if (R <= this.rowsCap) return;
    const { D, F, V, A } = this;
    this.rowsCap = R;
    this.x = new Float32Array(R * D);
    this.h = new Float32Array(R * D);
    this.q = new Float32Array(R * A);
    this.k = new Float32Array(R * A);
    this.v = new Float32Array(R * A);
    this.att = new Float32Array(R * A);
    this.f = new Float32Array(R * F);
    this.logits = new Float32Array(R * V);
    this.mean = new Float32Array(R);
    this.rstd = new Float32Array(R);
  }
}
