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
import { releaseF32, withScratch } from "../tensor/pool.js";
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

/**
 * Sentences run through the encoder for `Seq2SeqIncremental.admitEncoded`: n sentences of S
 * positions, their mask [n, S] (1 = real), and each decoder layer's cross-attention keys and
 * values [n, S, heads * headDim] (null for a layer without cross-attention).
 */
export interface EncodedSources {
  n: number;
  S: number;
  mask: Tensor;
  layers: ({ k: Float32Array; v: Float32Array; heads: number; headDim: number } | null)[];
}

export class Seq2SeqIncremental {
  readonly vocabSize: number;
  private readonly model: Seq2SeqDecodable;
  private readonly caches: DecoderLayerCache[];
  private readonly step: DecodingStep;
  /**
   * Source keep mask [P, stride] by the cross caches' physical rows (one per source sentence):
   * 1 at the sentence's real positions.
   */
  private sourceKeep: KeepMask;
  private nRows: number;
  /** Tokens fed to each batch row so far: the position of its next token. */
  private fed: Int32Array;
  /**
   * Once sentences joined (`admit`): the self-attention keep mask [rows, stride] by batch row,
   * 1 from the cache position of the row's first token on; null while every row started at 0.
   */
  private selfKeep: KeepMask | null = null;
  /** The self-attention caches' length (every row appends one position per step). */
  private selfLength = 0;

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
    this.model = model;
    this.vocabSize = model.config.vocab_size;
    this.nRows = sourceIds.shape[0];
    this.fed = new Int32Array(this.nRows);
    this.caches = newCaches(model.crossAttentions().length);
    this.sourceKeep = { keep: new Uint8Array(0), stride: sourceMask.shape[1] };
    this.step = options.step ?? model.decodingStep(options.weights ?? null);
    // The encoder's output, then its keys and values [N, S, H * Dh] for every layer, once;
    // reorders only remap their rows. The caches copy them into their own storage, and the
    // projections go back to the buffer pool.
    const sources = this.encodeSources(sourceIds, sourceMask);
    this.joinCross(sources, 0, this.nRows);
    this.releaseSources(sources);
  }

  get rows(): number {
    return this.nRows;
  }

  /** Whether `admit` can add sentences to the running batch (the step takes per-row positions). */
  get admits(): boolean {
    return this.step.rowPositions === true;
  }

  /**
   * Encodes sentences for `admitEncoded`: sourceIds [n, S] and sourceMask [n, S] through the
   * encoder, and every layer's cross-attention keys and values [n, S, H * Dh] (from the buffer
   * pool: `releaseSources` gives them back). The encoder runs on the whole group at once (its
   * products at full width) while the sentences join the batch a few at a time.
   */
  encodeSources(sourceIds: Tensor, sourceMask: Tensor): EncodedSources {
    const [n, S] = sourceMask.shape;
    const cross = this.model.crossAttentions();
    const layers: EncodedSources["layers"] = [];
    noGrad(() =>
      withScratch(
        () => {
          const memory = this.model.encode(sourceIds, sourceMask);
          for (const attn of cross) {
            layers.push(
              attn && {
                k: attn.k_proj.forward(memory).f32,
                v: attn.v_proj.forward(memory).f32,
                heads: attn.kvHeads ?? attn.heads,
                headDim: attn.headDim,
              },
            );
          }
        },
        // The keys and values stay taken from the pool until releaseSources gives them back.
        () => layers.flatMap((l) => (l ? [l.k, l.v] : [])),
      ),
    );
    return { n, S, mask: sourceMask, layers };
  }

  /**
   * Gives encoded sources' keys and values back to the buffer pool once every sentence of them
   * joined (the cross caches hold copies); nothing may admit from them afterwards.
   */
  releaseSources(sources: EncodedSources): void {
    for (const l of sources.layers) {
      if (!l) continue;
      releaseF32(l.k);
      releaseF32(l.v);
    }
    sources.layers = [];
  }

  /**
   * Adds sentences `from`..`from + count - 1` of `sources` to the running batch (continuous
   * batching): they become batch rows rows..rows + count - 1, each starting one hypothesis at
   * position 0 while the other rows go on. Their self-attention keys start at the caches'
   * current length (the keep mask hides what lies before), their encoder keys take the cross
   * caches' free rows.
   */
  admitEncoded(sources: EncodedSources, from: number, count: number): void {
    if (!this.admits) {
      throw new MaskwiseError("this model's decoding step puts every row at one position", {
        code: "E_ARG",
        where: "Seq2SeqIncremental.admit",
        hint: "decode its sentences batch by batch",
      });
    }
    const { n } = sources;
    if (
      !Number.isInteger(from) ||
      !Number.isInteger(count) ||
      from < 0 ||
      count < 0 ||
      from + count > n
    ) {
      throw new MaskwiseError(
        `sentences ${from}..${from + count - 1} are not among the ${n} encoded`,
        {
          code: "E_INDEX",
          where: "Seq2SeqIncremental.admitEncoded",
        },
      );
    }
    if (sources.layers.length !== this.caches.length) {
      throw new MaskwiseError("these encoded sources were released", {
        code: "E_ARG",
        where: "Seq2SeqIncremental.admitEncoded",
        hint: "encode the sentences again (encodeSources)",
      });
    }
    if (count === 0) return;
    this.joinCross(sources, from, count);
    for (const c of this.caches) c.self.addBatchRows(count);
    const B = this.nRows;
    const fed = new Int32Array(B + count);
    fed.set(this.fed);
    this.fed = fed;
    // Keep mask rows of the newcomers: nothing before the caches' current length is theirs.
    const T = this.selfLength;
    const prev = this.selfKeep;
    const stride = Math.max(16, prev ? prev.stride : 2 * T, T + 1);
    const keep = new Uint8Array((B + count) * stride);
    for (let b = 0; b < B; b++) {
      if (prev) keep.set(prev.keep.subarray(b * prev.stride, b * prev.stride + T), b * stride);
      else keep.fill(1, b * stride, b * stride + T);
    }
    this.selfKeep = { keep, stride };
    this.nRows = B + count;
  }

  /**
   * Sentences from..from + count - 1 of `sources` into the cross caches (free physical rows, or
   * new ones) and their rows of the source keep mask.
   */
  private joinCross(sources: EncodedSources, from: number, count: number): void {
    const S = sources.S;
    let taken: Int32Array = new Int32Array(0);
    sources.layers.forEach((layer, i) => {
      if (!layer) return;
      const w = layer.heads * layer.headDim;
      const part = (x: Float32Array) => x.subarray(from * S * w, (from + count) * S * w);
      // Every layer's cross cache went through the same reorders: the same rows are free.
      taken = this.caches[i].cross.appendBatchRows(
        part(layer.k),
        part(layer.v),
        count,
        S,
        layer.heads,
        layer.headDim,
      );
    });
    this.markSources(taken, sources.mask, from);
  }

  /** Encodes sentences and adds them all to the running batch (encodeSources, admitEncoded). */
  admit(sourceIds: Tensor, sourceMask: Tensor): void {
    const sources = this.encodeSources(sourceIds, sourceMask);
    this.admitEncoded(sources, 0, sources.n);
    this.releaseSources(sources);
  }

  /**
   * Writes the source keep rows of the cross caches' physical rows `taken` from rows from.. of
   * `mask` [n, S].
   */
  private markSources(taken: Int32Array, mask: Tensor, from: number): void {
    const S = mask.shape[1];
    let { keep, stride } = this.sourceKeep;
    const P = Math.max(keep.length / stride, ...taken.map((p) => p + 1));
    if (S > stride || P * stride > keep.length) {
      // Wider sources or more physical rows: a new mask, the old rows copied (0 past their end).
      const wider = Math.max(S, stride);
      const grown = new Uint8Array(P * wider);
      for (let p = 0; p < keep.length / stride; p++)
        grown.set(keep.subarray(p * stride, (p + 1) * stride), p * wider);
      keep = grown;
      stride = wider;
    }
    taken.forEach((p, i) => {
      keep.fill(0, p * stride, (p + 1) * stride);
      for (let t = 0; t < S; t++)
        keep[p * stride + t] = mask.data[(from + i) * S + t] !== 0 ? 1 : 0;
    });
    this.sourceKeep = { keep, stride };
  }

  next(tokens: Int32Array): Float32Array {
    const R = this.rows;
    this.compact();
    let self: KeepMask | null = null;
    if (this.selfKeep) {
      // This step's position is every row's own.
      const T = this.selfLength;
      if (T + 1 > this.selfKeep.stride) this.restride(2 * (T + 1));
      const { keep, stride } = this.selfKeep;
      for (let r = 0; r < R; r++) keep[r * stride + T] = 1;
      self = this.selfKeep;
    }
    // Generated tokens are never padding: a row's new token sits at the position of its count.
    const positions = Int32Array.from(this.fed);
    for (let r = 0; r < R; r++) this.fed[r]++;
    this.selfLength++;
    return this.step.run(Int32Array.from(tokens), positions, this.caches, {
      self,
      cross: this.sourceKeep,
    });
  }

  /**
   * Once every row's first token lies at or past half the caches' length, or the next position
   * would make the caches grow, the positions before the earliest one are nobody's: they leave
   * the caches (a uniform shift), so that the length, the keys each step scores and the storage
   * follow the live rows and not the whole run. (A row that runs long holds the length at its
   * own, and storage grows for it only.)
   */
  private compact(): void {
    const mask = this.selfKeep;
    if (!mask) return;
    const T = this.selfLength;
    let first = T;
    for (let r = 0; r < this.rows && first > 0; r++) first = Math.min(first, T - this.fed[r]);
    const full = this.caches.some((c) => c.self.room < 1);
    if (first === 0 || (!full && (first < 8 || 2 * first < T))) return;
    for (const c of this.caches) c.self.dropFront(first);
    const { keep, stride } = mask;
    for (let r = 0; r < this.rows; r++) {
      keep.copyWithin(r * stride, r * stride + first, r * stride + T);
      keep.fill(0, r * stride + T - first, r * stride + T);
    }
    this.selfLength = T - first;
  }

  /** Widens the self keep mask to `stride` positions per row. */
  private restride(stride: number): void {
    const prev = this.selfKeep;
    if (!prev) return;
    const keep = new Uint8Array(this.rows * stride);
    for (let r = 0; r < this.rows; r++)
      keep.set(prev.keep.subarray(r * prev.stride, r * prev.stride + this.selfLength), r * stride);
    this.selfKeep = { keep, stride };
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) {
      c.self.reorder(keep);
      c.cross.reorder(keep);
    }
    this.nRows = keep.length;
    this.fed = Int32Array.from(keep, (r) => this.fed[r]);
    const prev = this.selfKeep;
    if (prev) {
      const picked = new Uint8Array(keep.length * prev.stride);
      keep.forEach((r, i) => {
        picked.set(prev.keep.subarray(r * prev.stride, (r + 1) * prev.stride), i * prev.stride);
      });
      this.selfKeep = { keep: picked, stride: prev.stride };
    }
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
