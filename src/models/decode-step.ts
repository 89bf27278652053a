// One decoding step of a Transformer decoder for one new token per row, on the layers' KV caches,
// computed straight on flat arrays: the path `Decoder.forward` takes with a cache, minus what
// only training and whole sequences need. No tensors, no tape, no masks built per step: each
// Linear is one GEMM that writes into a preallocated buffer whose bias (and, for the layer
// outputs, the residual) is already in place (beta = 1); a token's projections [R, H * Dh] are
// already the per-head layout the cache stores, so heads are never split or merged; attention
// reads the caches through their row maps or slot tables (DecodeAttentionArgs). Model code
// stays the single definition: tests check every step against full recomputation by
// `model.forward`.
//
// With `Bf16Weights`, the step's Linear layers and the output projection read bfloat16 copies
// of their weights (half the bytes a token streams) and take their inputs rounded to bfloat16
// (products exact, so a CPU's bfloat16 dot-product instruction can compute them; see
// src/tensor/bf16.ts); activations, caches and sums stay float32.
//
// Pre-norm layer (normalize_before):  x += SA(LN1(x)); x += CA(LN2(x)); x += FFN(LN3(x))
// Post-norm layer:                    x = LN1(x + SA(x)); x = LN2(x + CA(x)); x = LN3(x + FFN(x))
import type { AttentionCache } from "../attention/cache.js";
import type { MultiHeadAttention } from "../attention/multi-head.js";
import { decodeAttentionReference, gemmBf16Reference } from "../backend/reference-decode.js";
import type { Embedding, LayerNorm, Linear } from "../nn/layers.js";
import { sinusoidalPositions } from "../nn/positions.js";
import type { Backend, DecodeAttentionArgs } from "../tensor/backend.js";
import { toBf16 } from "../tensor/bf16.js";
import { getBackend } from "../tensor/dispatch.js";
import { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";
import type { DecoderLayerCache } from "./blocks.js";
import type { Decoder } from "./stacks.js";

/** Key masks of a step: which cached positions each physical cache row may attend to. */
export interface StepMasks {
  /** Self-attention keep [rows, stride] (1 = real), or null when no decoder position is padding. */
  self: { keep: Uint8Array; stride: number } | null;
  /** Cross-attention keep [sources, stride] by the cross cache's physical rows, or null. */
  cross: { keep: Uint8Array; stride: number } | null;
}

/**
 * bfloat16 copies of the weights a decoding step multiplies by (every decoder Linear and the
 * output projection), keyed by the float32 weight they copy. A snapshot: build it after the
 * weights are final (training changes the float32 weights, not these).
 */
export class Bf16Weights {
  private readonly byWeight = new Map<Float32Array, Uint16Array>();

  constructor(decoder: Decoder, lmHead: Linear) {
    const add = (lin: Linear | null | undefined) => {
      if (lin && !this.byWeight.has(lin.weight.f32))
        this.byWeight.set(lin.weight.f32, toBf16(lin.weight.f32));
    };
    for (const layer of decoder.layers.items) {
      add(layer.self_attn.q_proj);
      add(layer.self_attn.k_proj);
      add(layer.self_attn.v_proj);
      add(layer.self_attn.out_proj);
      // The encoder's keys and values are projected once per source, in float32.
      add(layer.encoder_attn?.q_proj);
      add(layer.encoder_attn?.out_proj);
      add(layer.fc1);
      add(layer.fc2);
    }
    add(lmHead);
  }

  /** The bfloat16 copy of weight `w`, or undefined when it has none. */
  of(w: Float32Array): Uint16Array | undefined {
    return this.byWeight.get(w);
  }

  /** Bytes of the copies. */
  get bytes(): number {
    let n = 0;
    for (const u of this.byWeight.values()) n += u.byteLength;
    return n;
  }
}

export class DecodeStep {
  private readonly D: number;
  private readonly H: number;
  private readonly Dh: number;
  private readonly F: number;
  private readonly V: number;
  private rowsCap = 0;
  // Buffers [rows, ...], grown when more rows come.
  private x = new Float32Array(0); // residual stream [R, D]
  private h = new Float32Array(0); // normalised input of a sublayer [R, D]
  private q = new Float32Array(0); // [R, D]
  private k = new Float32Array(0); // [R, D]
  private v = new Float32Array(0); // [R, D]
  private att = new Float32Array(0); // attention output [R, D]
  private f = new Float32Array(0); // feed-forward hidden [R, F]
  private logits = new Float32Array(0); // [R, V], returned by run() and rewritten by the next
  private mean = new Float32Array(0);
  private rstd = new Float32Array(0);

  constructor(
    private readonly decoder: Decoder,
    private readonly lmHead: Linear,
    private readonly logitsBias: Tensor,
    private readonly bf16: Bf16Weights | null = null,
  ) {
    const cfg = decoder.cfg;
    this.D = cfg.d_model;
    this.H = cfg.decoder_attention_heads;
    this.Dh = this.D / this.H;
    this.F = cfg.decoder_ffn_dim;
    this.V = cfg.vocab_size;
  }

  /**
   * tokens [R] at positions [R] (the index among the row's real tokens) -> logits [R, V]; each
   * layer's self cache gains one position per row.
   */
  run(
    tokens: Int32Array,
    positions: Int32Array,
    caches: readonly DecoderLayerCache[],
    masks: StepMasks,
  ): Float32Array {
    const R = tokens.length;
    const { D, F } = this;
    const cfg = this.decoder.cfg;
    this.ensure(R);
    const be = getBackend();
    this.embed(tokens, positions);
    const x = this.x.subarray(0, R * D);
    const h = this.h.subarray(0, R * D);
    const pre = cfg.normalize_before;
    this.decoder.layers.items.forEach((layer, i) => {
      const cache = caches[i];
      // Self-attention on the cache.
      const sa = this.selfAttention(
        be,
        layer.self_attn,
        pre ? this.norm(be, layer.self_attn_layer_norm, x, h, R) : x,
        cache.self,
        R,
        masks,
      );
      this.linear(be, layer.self_attn.out_proj, sa, x, R, true);
      if (!pre) this.norm(be, layer.self_attn_layer_norm, x, x, R);
      // Cross-attention on the encoder's keys and values.
      if (layer.encoder_attn && layer.encoder_attn_layer_norm) {
        const ln = layer.encoder_attn_layer_norm;
        const ca = this.crossAttention(
          be,
          layer.encoder_attn,
          pre ? this.norm(be, ln, x, h, R) : x,
          cache.cross,
          R,
          masks,
        );
        this.linear(be, layer.encoder_attn.out_proj, ca, x, R, true);
        if (!pre) this.norm(be, ln, x, x, R);
      }
      // Feed-forward.
      const fin = pre ? this.norm(be, layer.final_layer_norm, x, h, R) : x;
      const f = this.f.subarray(0, R * F);
      this.linear(be, layer.fc1, fin, f, R, false);
      be.unary(cfg.activation_function, f, f, R * F);
      this.linear(be, layer.fc2, f, x, R, true);
      if (!pre) this.norm(be, layer.final_layer_norm, x, x, R);
    });
    const last = this.decoder.layer_norm ? this.norm(be, this.decoder.layer_norm, x, h, R) : x;
    // logits = last lm_head^T + final_logits_bias
    const logits = this.logits.subarray(0, R * this.V);
    const bias = this.logitsBias.f32;
    for (let r = 0; r < R; r++) logits.set(bias, r * this.V);
    this.gemm(be, last, this.lmHead.weight.f32, logits, R, this.V, D, 1);
    return logits;
  }

  private ensure(R: number): void {
    if (R <= this.rowsCap) return;
    const { D, F } = this;
    this.rowsCap = R;
    this.x = new Float32Array(R * D);
    this.h = new Float32Array(R * D);
    this.q = new Float32Array(R * D);
    this.k = new Float32Array(R * D);
    this.v = new Float32Array(R * D);
    this.att = new Float32Array(R * D);
    this.f = new Float32Array(R * F);
    this.logits = new Float32Array(R * this.V);
    this.mean = new Float32Array(R);
    this.rstd = new Float32Array(R);
  }

  /** x = token embedding (scaled) + position encoding, as the decoder stack embeds. */
  private embed(tokens: Int32Array, positions: Int32Array): void {
    const { D } = this;
    const cfg = this.decoder.cfg;
    const R = tokens.length;
    const table = this.decoder.embed_tokens.weight.f32;
    const num = this.decoder.embed_tokens.num;
    // float32(sqrt(D)): the scalar the stack multiplies by; a product of two float32 values
    // is exact in double, so rounding it once gives the float32 product.
    const scale = cfg.scale_embedding ? Math.fround(Math.sqrt(D)) : 1;
    const pos = this.positionRows(positions);
    for (let r = 0; r < R; r++) {
      const t = tokens[r];
      if (!Number.isInteger(t) || t < 0 || t >= num) {
        throw new MaskwiseError(`token id ${t} is outside the vocabulary of ${num}`, {
          code: "E_INDEX",
          where: "decoding step",
        });
      }
      for (let d = 0; d < D; d++) {
        const e = Math.fround(table[t * D + d] * scale);
        this.x[r * D + d] = e + pos[r * D + d];
      }
    }
  }

  /** Position encodings [R, D] of the rows' positions. */
  private positionRows(positions: Int32Array): Float32Array {
    const learned: Embedding | null = this.decoder.embed_positions;
    if (!learned) return sinusoidalPositions(new Tensor(positions, [positions.length]), this.D).f32;
    const { D } = this;
    const max = this.decoder.cfg.max_position_embeddings;
    const out = new Float32Array(positions.length * D);
    positions.forEach((p, r) => {
      if (p >= max) {
        throw new MaskwiseError(`position ${p} exceeds max_position_embeddings ${max}`, {
          code: "E_SHAPE",
          where: "learned positions",
          hint: "shorten the input or raise max_position_embeddings",
        });
      }
      const row = Math.max(0, p); // left padding (-1) reads row 0, masked anyway
      out.set(learned.weight.f32.subarray(row * D, (row + 1) * D), r * D);
    });
    return out;
  }

  private norm(
    be: Backend,
    ln: LayerNorm,
    x: Float32Array,
    out: Float32Array,
    R: number,
  ): Float32Array {
    be.layerNorm(x, ln.weight.f32, ln.bias.f32, out, this.mean, this.rstd, R, this.D, ln.eps);
    return out;
  }

  /** out = x W^T + b, or out += x W^T + b with `residual` (out then holds the residual). */
  private linear(
    be: Backend,
    lin: Linear,
    x: Float32Array,
    out: Float32Array,
    R: number,
    residual: boolean,
  ): void {
    const n = lin.outFeatures;
    const b = lin.bias?.f32;
    if (residual) {
      if (b) for (let r = 0; r < R; r++) for (let j = 0; j < n; j++) out[r * n + j] += b[j];
    } else if (b) {
      for (let r = 0; r < R; r++) out.set(b, r * n);
    } else {
      out.fill(0, 0, R * n);
    }
    this.gemm(be, x, lin.weight.f32, out, R, n, lin.inFeatures, 1);
  }

  /** C [m, n] = A [m, k] W^T + beta C, with W [n, k] (its bfloat16 copy when there is one). */
  private gemm(
    be: Backend,
    a: Float32Array,
    w: Float32Array,
    c: Float32Array,
    m: number,
    n: number,
    k: number,
    beta: number,
  ): void {
    const half = this.bf16?.of(w);
    if (half && beta === 1) {
      // Every row count takes the same bfloat16 product, so a translation does not depend on
      // how many others share its batch.
      if (be.gemmBf16) be.gemmBf16(m, n, k, a, half, c);
      else gemmBf16Reference(m, n, k, a, half, c);
      return;
    }
    be.gemm({
      batch: 1,
      m,
      n,
      k,
      transA: false,
      transB: true,
      alpha: 1,
      beta,
      a,
      aOffset: 0,
      lda: k,
      strideA: 0,
      b: w,
      bOffset: 0,
      ldb: k,
      strideB: 0,
      c,
      cOffset: 0,
      ldc: n,
      strideC: 0,
    });
  }

  private selfAttention(
    be: Backend,
    attn: MultiHeadAttention,
    input: Float32Array,
    cache: AttentionCache,
    R: number,
    masks: StepMasks,
  ): Float32Array {
    const { D, H, Dh } = this;
    const q = this.q.subarray(0, R * D);
    const k = this.k.subarray(0, R * D);
    const v = this.v.subarray(0, R * D);
    this.linear(be, attn.q_proj, input, q, R, false);
    this.linear(be, attn.k_proj, input, k, R, false);
    this.linear(be, attn.v_proj, input, v, R, false);
    if (cache.length > 0 && cache.rows !== R) {
      throw new MaskwiseError(
        `the self-attention cache holds ${cache.rows} rows, the step has ${R}`,
        {
          code: "E_SHAPE",
          where: "decoding step",
        },
      );
    }
    cache.appendStep(k, v, R, H, Dh);
    return this.attend(be, q, cache, R, masks.self);
  }

  private crossAttention(
    be: Backend,
    attn: MultiHeadAttention,
    input: Float32Array,
    cache: AttentionCache,
    R: number,
    masks: StepMasks,
  ): Float32Array {
    const q = this.q.subarray(0, R * this.D);
    this.linear(be, attn.q_proj, input, q, R, false);
    if (cache.rows !== R) {
      throw new MaskwiseError(
        `the cross-attention cache holds ${cache.rows} rows, the step has ${R}`,
        {
          code: "E_SHAPE",
          where: "decoding step",
        },
      );
    }
    return this.attend(be, q, cache, R, masks.cross);
  }

  private attend(
    be: Backend,
    q: Float32Array,
    cache: AttentionCache,
    R: number,
    mask: { keep: Uint8Array; stride: number } | null,
  ): Float32Array {
    const view = cache.view();
    const out = this.att.subarray(0, R * this.D);
    const args: DecodeAttentionArgs = {
      R,
      H: this.H,
      Dh: this.Dh,
      q,
      k: view.k,
      v: view.v,
      P: view.P,
      capacity: view.capacity,
      length: view.length,
      rows: view.rows,
      keep: mask ? mask.keep : null,
      keepStride: mask ? mask.stride : 0,
      slots: view.slots,
      slotStride: view.slotStride,
      scale: 1 / Math.sqrt(this.Dh),
      out,
    };
    if (be.decodeAttention) be.decodeAttention(args);
    else decodeAttentionReference(args);
    return out;
  }
}
