// Encoder-decoder and decoder-only models as incremental decoders (the IncrementalDecoder of
// src/decode, matched by shape, not imported, so decoding never depends on models): encode (or
// run the prompt) once, then feed one token per row per step on the layers' KV caches. Rows can
// be reordered (beam search) or dropped.
//
// Each step runs on `DecodeStep` (flat arrays, preallocated buffers, the decoding attention
// kernel on the caches in place), which computes what `Decoder.forward` computes for one new
// token per row. The module path remains for the one case the step leaves out: attention dropout
// of a model left in training mode.
import { AttentionCache, splitHeads } from "../attention/cache.js";
import { noGrad } from "../tensor/autograd.js";
import { withScratch } from "../tensor/pool.js";
import { Tensor } from "../tensor/tensor.js";
import type { DecoderLayerCache } from "./blocks.js";
import { type Bf16Weights, DecodeStep } from "./decode-step.js";
import type { DecoderOnlyModel } from "./decoder-only.js";
import type { EncoderDecoderModel } from "./encoder-decoder.js";
import { appendRealColumn } from "./inputs.js";
import type { Decoder } from "./stacks.js";

function pickRows(t: Tensor, keep: readonly number[]): Tensor {
  const [, ...rest] = t.shape;
  const row = rest.reduce((p, s) => p * s, 1);
  const out =
    t.dtype === "int32" ? new Int32Array(keep.length * row) : new Float32Array(keep.length * row);
  keep.forEach((r, i) => {
    out.set(t.data.subarray(r * row, (r + 1) * row), i * row);
  });
  return new Tensor(out, [keep.length, ...rest]);
}

/** Whether the module path would apply dropout (attention dropout in training mode). */
function needsModulePath(decoder: Decoder): boolean {
  return decoder.training && decoder.cfg.attention_dropout > 0;
}

function newCaches(decoder: Decoder): DecoderLayerCache[] {
  return decoder.layers.items.map(() => ({
    self: new AttentionCache(),
    cross: new AttentionCache(),
  }));
}

/** A keep mask [rows, stride] of 0/1 bytes from a Hugging Face mask [rows, T] (1 = real). */
function keepFrom(mask: Tensor, stride: number): Uint8Array {
  const [N, T] = mask.shape;
  const keep = new Uint8Array(N * stride);
  for (let r = 0; r < N; r++)
    for (let t = 0; t < T; t++) keep[r * stride + t] = mask.data[r * T + t] !== 0 ? 1 : 0;
  return keep;
}

export class Seq2SeqIncremental {
  readonly vocabSize: number;
  private memory: Tensor;
  private sourceMask: Tensor;
  private readonly caches: DecoderLayerCache[];
  private readonly step: DecodeStep | null;
  /** Source keep mask [N, S] by original sentence (the cross caches' physical rows). */
  private readonly sourceKeep: Uint8Array;
  private nRows: number;
  private steps = 0;

  /**
   * sourceIds [N, S] and sourceMask [N, S] (1 = real); each row starts one hypothesis. With
   * `bf16`, the steps multiply by those bfloat16 copies of the decoder's weights.
   */
  constructor(
    private readonly model: EncoderDecoderModel,
    sourceIds: Tensor,
    sourceMask: Tensor,
    options: { bf16?: Bf16Weights } = {},
  ) {
    this.vocabSize = model.config.vocab_size;
    // The encoder's intermediate values go back to the buffer pool; only its output is kept.
    this.memory = noGrad(() =>
      withScratch(
        () => model.encode(sourceIds, sourceMask),
        (m) => (m.data instanceof Float32Array ? [m.data] : []),
      ),
    );
    this.sourceMask = sourceMask;
    this.nRows = sourceIds.shape[0];
    this.caches = newCaches(model.decoder);
    this.sourceKeep = keepFrom(sourceMask, sourceMask.shape[1]);
    const decoder = model.decoder;
    this.step = needsModulePath(decoder)
      ? null
      : new DecodeStep(decoder, model.lm_head, model.final_logits_bias, options.bf16 ?? null);
    if (this.step) {
      // The encoder's keys and values [N, H, S, Dh], once; reorders only remap their rows.
      const H = model.config.decoder_attention_heads;
      // The cache copies them into its own storage, so the projections are scratch.
      noGrad(() =>
        withScratch(
          () => {
            decoder.layers.items.forEach((layer, i) => {
              const attn = layer.encoder_attn;
              if (!attn) return;
              this.caches[i].cross.append(
                splitHeads(attn.k_proj.forward(this.memory), H),
                splitHeads(attn.v_proj.forward(this.memory), H),
              );
            });
          },
          () => [],
        ),
      );
    }
  }

  get rows(): number {
    return this.nRows;
  }

  next(tokens: Int32Array): Float32Array {
    const rows = this.rows;
    this.steps++;
    if (this.step) {
      // Generated tokens are never padding: every row's new token sits at position steps - 1.
      const positions = new Int32Array(rows).fill(this.steps - 1);
      return this.step.run(Int32Array.from(tokens), positions, this.caches, {
        self: null,
        cross: { keep: this.sourceKeep, stride: this.sourceMask.shape[1] },
      });
    }
    return noGrad(() => {
      const mask = new Tensor(new Int32Array(rows * this.steps).fill(1), [rows, this.steps]);
      const h = this.model.decoder.forward(new Tensor(Int32Array.from(tokens), [rows, 1]), mask, {
        memory: this.memory,
        sourceMask: this.sourceMask,
        caches: this.caches,
      });
      return this.model.project(h).f32;
    });
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) {
      c.self.reorder(keep);
      c.cross.reorder(keep);
    }
    this.nRows = keep.length;
    if (!this.step) {
      this.memory = pickRows(this.memory, keep);
      this.sourceMask = pickRows(this.sourceMask, keep);
    }
  }
}

/**
 * A decoder-only model as an incremental decoder. The prompts (left padding allowed: positions
 * come from the mask) are run once at construction; the first `next` returns the logits after
 * each prompt (its tokens are ignored), and every later call feeds one token per row.
 */
export class DecoderOnlyIncremental {
  readonly vocabSize: number;
  private mask: Tensor;
  private readonly caches: DecoderLayerCache[];
  private pending: Float32Array | null;
  private readonly step: DecodeStep | null;
  /** Self-attention keep mask [rows, stride] of every position so far (1 = real). */
  private keep: Uint8Array;
  private stride: number;
  /** Real tokens so far per row: the position of the row's next token. */
  private counts: Int32Array;

  /**
   * promptIds [N, P] and promptMask [N, P] (1 = real; every row needs at least one real token).
   * With `bf16`, the steps after the prompt multiply by those bfloat16 copies of the weights.
   */
  constructor(
    private readonly model: DecoderOnlyModel,
    promptIds: Tensor,
    promptMask: Tensor,
    options: { bf16?: Bf16Weights } = {},
  ) {
    this.vocabSize = model.config.vocab_size;
    this.mask = promptMask;
    this.caches = newCaches(model.decoder);
    const [N, P] = promptIds.shape;
    const V = this.vocabSize;
    const logits = noGrad(
      () =>
        model.project(model.decoder.forward(promptIds, promptMask, { caches: this.caches })).f32,
    );
    this.pending = logits.length === 0 ? new Float32Array(0) : new Float32Array(N * V);
    for (let r = 0; r < N; r++)
      this.pending.set(logits.subarray((r * P + P - 1) * V, (r * P + P) * V), r * V);
    this.step = needsModulePath(model.decoder)
      ? null
      : new DecodeStep(model.decoder, model.lm_head, model.final_logits_bias, options.bf16 ?? null);
    this.stride = Math.max(16, 2 * P);
    this.keep = keepFrom(promptMask, this.stride);
    this.counts = new Int32Array(N);
    for (let r = 0; r < N; r++)
      for (let t = 0; t < P; t++) this.counts[r] += promptMask.data[r * P + t] !== 0 ? 1 : 0;
  }

  get rows(): number {
    return this.mask.shape[0];
  }

  next(tokens: Int32Array): Float32Array {
    if (this.pending) {
      const out = this.pending;
      this.pending = null;
      return out;
    }
    const [N, T] = this.mask.shape;
    this.mask = appendRealColumn(this.mask);
    if (this.step) {
      if (T + 1 > this.stride) {
        const stride = 2 * this.stride;
        const keep = new Uint8Array(N * stride);
        for (let r = 0; r < N; r++)
          keep.set(this.keep.subarray(r * this.stride, r * this.stride + T), r * stride);
        this.keep = keep;
        this.stride = stride;
      }
      const positions = Int32Array.from(this.counts);
      for (let r = 0; r < N; r++) {
        this.keep[r * this.stride + T] = 1;
        this.counts[r]++;
      }
      return this.step.run(Int32Array.from(tokens), positions, this.caches, {
        self: { keep: this.keep, stride: this.stride },
        cross: null,
      });
    }
    return noGrad(
      () =>
        this.model.project(
          this.model.decoder.forward(new Tensor(Int32Array.from(tokens), [N, 1]), this.mask, {
            caches: this.caches,
          }),
        ).f32,
    );
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) c.self.reorder(keep);
    this.mask = pickRows(this.mask, keep);
    const stride = this.stride;
    const picked = new Uint8Array(keep.length * stride);
    keep.forEach((r, i) => {
      picked.set(this.keep.subarray(r * stride, (r + 1) * stride), i * stride);
    });
    this.keep = picked;
    this.counts = Int32Array.from(keep, (r) => this.counts[r]);
  }
}
