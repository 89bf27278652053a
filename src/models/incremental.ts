// Encoder-decoder and decoder-only models as incremental decoders (the IncrementalDecoder of
// src/decode, matched by shape, not imported, so decoding never depends on models): encode (or
// run the prompt) once, then feed one token per row per step on the layers' KV caches. Rows can
// be reordered (beam search) or dropped.
//
// Each step is `Decoder.step` (the same layers' flat-array path: preallocated buffers, the
// decoding attention kernel on the caches in place) and the model's head, which compute what
// `Decoder.forward` computes for one new token per row. Decoding never drops attention weights:
// a model left in training mode decodes as in evaluation.
import { AttentionCache } from "../attention/cache.js";
import { Bf16Weights } from "../nn/bf16-weights.js";
import type { DecodingWeights } from "../nn/decoding-weights.js";
import { Int8Weights } from "../nn/int8-weights.js";
import type { Linear } from "../nn/layers.js";
import { noGrad } from "../tensor/autograd.js";
import { withScratch } from "../tensor/pool.js";
import { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";
import type { DecoderLayerCache } from "./blocks.js";
import type { ModelConfig } from "./config.js";
import type { DecodingStep } from "./model-step.js";
import type { KeepMask } from "./step-buffers.js";

/** A cross-attention whose key and value projections of the encoder output fill its cache. */
export interface CrossProjections {
  readonly k_proj: Linear;
  readonly v_proj: Linear;
  readonly heads: number;
  /** The heads of its keys and values (grouped-query attention); absent: heads. */
  readonly kvHeads?: number;
  readonly headDim: number;
}

/**
 * What decoding asks of an encoder-decoder (the structure's decoding contract): the encoder, each
 * decoder layer's cross-attention, and a step of decoder and head on per-layer caches. maskwise's
 * encoder-decoder and T5 both keep it.
 */
export interface Seq2SeqDecodable {
  readonly config: { readonly vocab_size: number };
  /** ids [N, S], mask [N, S] (1 = real) -> memory [N, S, D] */
  encode(ids: Tensor, mask: Tensor): Tensor;
  /** One entry per decoder layer; null for a layer without cross-attention. */
  crossAttentions(): readonly (CrossProjections | null)[];
  /** A step of decoder and head, multiplying by the copies in `copies` where it has them. */
  decodingStep(copies: DecodingWeights | null): DecodingStep;
  /** The Linears a step multiplies by (their weights' copies serve `--precision`). */
  decodingLinears(): (Linear | null | undefined)[];
}

/**
 * What decoding asks of a decoder-only model (the structure's decoding contract): its layers'
 * caches, a pass over new positions on them, and a step of layers and head. maskwise's
 * decoder-only model and the Llama family both keep it.
 */
export interface DecoderOnlyDecodable {
  readonly config: ModelConfig;
  /** Layers with a self-attention cache (one DecoderLayerCache each). */
  readonly cachedLayers: number;
  /**
   * ids [N, Tnew] after what the caches hold, mask [N, Tall] (1 = real) over every position so
   * far -> logits [N, Tnew, V]; the caches gain the new positions. `prefixLengths`: a prefix LM's
   * bidirectional prefix per row.
   */
  logitsOnCaches(
    ids: Tensor,
    mask: Tensor,
    caches: readonly DecoderLayerCache[],
    prefixLengths?: readonly number[],
  ): Tensor;
  /** A step of layers and head, multiplying by the copies in `copies` where it has them. */
  decodingStep(copies: DecodingWeights | null): DecodingStep;
  /** The Linears a step multiplies by (their weights' copies serve `--precision`). */
  decodingLinears(): (Linear | null | undefined)[];
}

/**
 * bfloat16 copies of the weights a decoding step multiplies by: every decoder Linear a step
 * reads (the encoder's keys and values are projected once per source, in float32) and the head.
 */
export function decodingBf16Weights(model: Pick<Seq2SeqDecodable, "decodingLinears">): Bf16Weights {
  return new Bf16Weights(model.decodingLinears());
}

/**
 * int8 copies (per output row, src/nn/int8-weights.ts) of the same weights: `--precision int8`.
 */
export function decodingInt8Weights(model: Pick<Seq2SeqDecodable, "decodingLinears">): Int8Weights {
  return new Int8Weights(model.decodingLinears());
}

/** The copies `--precision` asks a decoding step to multiply by; float32: none. */
export function decodingWeights(
  model: Pick<Seq2SeqDecodable, "decodingLinears">,
  precision: "float32" | "bfloat16" | "int8",
): DecodingWeights | undefined {
  if (precision === "bfloat16") return decodingBf16Weights(model);
  if (precision === "int8") return decodingInt8Weights(model);
  return undefined;
}

export function newCaches(layers: number): DecoderLayerCache[] {
  return Array.from({ length: layers }, () => ({
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
  private readonly caches: DecoderLayerCache[];
  private readonly step: DecodingStep;
  /** Source keep mask [N, S] by original sentence (the cross caches' physical rows). */
  private readonly sourceKeep: KeepMask;
  private nRows: number;
  private steps = 0;

  /**
   * sourceIds [N, S] and sourceMask [N, S] (1 = real); each row starts one hypothesis. With
   * `weights`, the steps multiply by those low-precision copies of the decoder's weights. With
   * `step`, the decoder steps on that one (`model.decodingStep(weights)`) and its buffers instead
   * of making its own: batches decoded one after another share one, so each does not allocate
   * the step's working memory (the logits alone are rows x V floats) afresh.
   */
  constructor(
    model: Seq2SeqDecodable,
    sourceIds: Tensor,
    sourceMask: Tensor,
    options: { weights?: DecodingWeights; step?: DecodingStep } = {},
  ) {
    this.vocabSize = model.config.vocab_size;
    this.nRows = sourceIds.shape[0];
    const cross = model.crossAttentions();
    this.caches = newCaches(cross.length);
    const S = sourceMask.shape[1];
    this.sourceKeep = { keep: keepFrom(sourceMask, S), stride: S };
    this.step = options.step ?? model.decodingStep(options.weights ?? null);
    // The encoder's output, then its keys and values [N, S, H * Dh] for every layer, once;
    // reorders only remap their rows. The cache copies them into its own storage, so the
    // encoder's values and the projections go back to the buffer pool.
    noGrad(() =>
      withScratch(
        () => {
          const memory = model.encode(sourceIds, sourceMask);
          cross.forEach((attn, i) => {
            if (!attn) return;
            const [N, S] = memory.shape;
            this.caches[i].cross.append(
              attn.k_proj.forward(memory).f32,
              attn.v_proj.forward(memory).f32,
              N,
              S,
              attn.kvHeads ?? attn.heads,
              attn.headDim,
            );
          });
        },
        () => [],
      ),
    );
  }

  get rows(): number {
    return this.nRows;
  }

  next(tokens: Int32Array): Float32Array {
    this.steps++;
    // Generated tokens are never padding: every row's new token sits at position steps - 1.
    const positions = new Int32Array(this.rows).fill(this.steps - 1);
    return this.step.run(Int32Array.from(tokens), positions, this.caches, {
      self: null,
      cross: this.sourceKeep,
    });
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) {
      c.self.reorder(keep);
      c.cross.reorder(keep);
    }
    this.nRows = keep.length;
  }

  /**
   * Room for `steps` more tokens in the self-attention caches (allocated at the first step), and
   * for `rows` rows at once (beam search's sentences x beams).
   */
  reserve(steps: number, rows = 0): void {
    for (const c of this.caches) c.self.reserve(steps, rows);
  }

  /**
   * Gives the caches' storage back to the buffer pool, for the next batch's decoder to reuse;
   * this decoder is done (a later `next` starts from empty caches and fails).
   */
  release(): void {
    for (const c of this.caches) {
      c.self.release();
      c.cross.release();
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
  private readonly caches: DecoderLayerCache[];
  private pending: Float32Array | null;
  private readonly step: DecodingStep;
  /** Rows, and positions held so far (prompt width plus steps). */
  private N: number;
  private T: number;
  /** Self-attention keep mask [rows, stride] of every position so far (1 = real). */
  private keep: Uint8Array;
  private stride: number;
  /** Real tokens so far per row: the position of the row's next token. */
  private counts: Int32Array;

  /**
   * promptIds [N, P] and promptMask [N, P] (1 = real; every row needs at least one real token).
   * With `weights`, the steps after the prompt multiply by those low-precision copies of the
   * weights.
   */
  constructor(
    private readonly model: DecoderOnlyDecodable,
    promptIds: Tensor,
    promptMask: Tensor,
    options: { weights?: DecodingWeights } = {},
  ) {
    this.vocabSize = model.config.vocab_size;
    this.caches = newCaches(model.cachedLayers);
    const [N, P] = promptIds.shape;
    this.N = N;
    this.T = P;
    const V = this.vocabSize;
    // The prompt runs through the layers' tensor path, filling the caches.
    const logits = noGrad(() => model.logitsOnCaches(promptIds, promptMask, this.caches).f32);
    this.pending = logits.length === 0 ? new Float32Array(0) : new Float32Array(N * V);
    for (let r = 0; r < N; r++)
      this.pending.set(logits.subarray((r * P + P - 1) * V, (r * P + P) * V), r * V);
    this.step = model.decodingStep(options.weights ?? null);
    this.stride = Math.max(16, 2 * P);
    this.keep = keepFrom(promptMask, this.stride);
    this.counts = new Int32Array(N);
    for (let r = 0; r < N; r++)
      for (let t = 0; t < P; t++) this.counts[r] += promptMask.data[r * P + t] !== 0 ? 1 : 0;
  }

  get rows(): number {
    return this.N;
  }

  next(tokens: Int32Array): Float32Array {
    if (this.pending) {
      const out = this.pending;
      this.pending = null;
      return out;
    }
    const { N, T } = this;
    this.ensureStride(T + 1);
    this.T = T + 1;
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

  /** Positions held per row: the prompt's width plus every token fed since. */
  get length(): number {
    return this.T;
  }

  /**
   * Feeds `tokens` [N][n] (n more real tokens for every row, a conversation's next turn) through
   * the layers' tensor path on the caches, as the prompt was; the next `next` returns the logits
   * after them and ignores its tokens.
   */
  extend(tokens: readonly (readonly number[])[]): void {
    const { N, T } = this;
    const n = tokens[0]?.length ?? 0;
    if (tokens.length !== N || n === 0 || tokens.some((t) => t.length !== n)) {
      throw new MaskwiseError(`extend takes ${N} rows of equally many tokens (at least one)`, {
        code: "E_SHAPE",
        where: "DecoderOnlyIncremental.extend",
      });
    }
    const mask = new Int32Array(N * (T + n));
    for (let r = 0; r < N; r++) {
      for (let t = 0; t < T; t++) mask[r * (T + n) + t] = this.keep[r * this.stride + t];
      mask.fill(1, r * (T + n) + T, (r + 1) * (T + n));
    }
    const ids = new Tensor(Int32Array.from(tokens.flat()), [N, n]);
    const V = this.vocabSize;
    const logits = noGrad(
      () => this.model.logitsOnCaches(ids, new Tensor(mask, [N, T + n]), this.caches).f32,
    );
    this.pending = new Float32Array(N * V);
    for (let r = 0; r < N; r++)
      this.pending.set(logits.subarray((r * n + n - 1) * V, (r * n + n) * V), r * V);
    this.ensureStride(T + n);
    for (let r = 0; r < N; r++) {
      this.keep.fill(1, r * this.stride + T, r * this.stride + T + n);
      this.counts[r] += n;
    }
    this.T = T + n;
  }

  /** Forgets every position from `length` on; `extend` then continues from there. */
  truncate(length: number): void {
    for (const c of this.caches) c.self.truncate(length);
    for (let r = 0; r < this.N; r++) {
      const row = this.keep.subarray(r * this.stride, (r + 1) * this.stride);
      row.fill(0, length);
      let real = 0;
      for (let t = 0; t < length; t++) real += row[t];
      this.counts[r] = real;
    }
    this.T = length;
    this.pending = null;
  }

  /** Room for `steps` more tokens in the caches and the keep mask. */
  reserve(steps: number): void {
    for (const c of this.caches) c.self.reserve(steps);
    this.ensureStride(this.T + steps);
  }

  /** Widens the keep mask so that `T` positions fit. */
  private ensureStride(T: number): void {
    if (T <= this.stride) return;
    let stride = this.stride;
    while (stride < T) stride *= 2;
    const keep = new Uint8Array(this.N * stride);
    for (let r = 0; r < this.N; r++)
      keep.set(this.keep.subarray(r * this.stride, r * this.stride + this.T), r * stride);
    this.keep = keep;
    this.stride = stride;
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) c.self.reorder(keep);
    this.N = keep.length;
    const stride = this.stride;
    const picked = new Uint8Array(keep.length * stride);
    keep.forEach((r, i) => {
      picked.set(this.keep.subarray(r * stride, (r + 1) * stride), i * stride);
    });
    this.keep = picked;
    this.counts = Int32Array.from(keep, (r) => this.counts[r]);
  }
}
