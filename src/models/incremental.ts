// Encoder-decoder models as incremental decoders (the IncrementalDecoder of src/decode, matched
// by shape, not imported, so decoding never depends on models): encode once, then feed one token
// per row per step on the layers' KV caches. Rows can be reordered (beam search) or dropped.
import { AttentionCache } from "../attention/cache.js";
import { noGrad } from "../tensor/autograd.js";
import { Tensor } from "../tensor/tensor.js";
import type { DecoderLayerCache } from "./blocks.js";
import type { DecoderOnlyModel } from "./decoder-only.js";
import type { EncoderDecoderModel } from "./encoder-decoder.js";

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

export class Seq2SeqIncremental {
  readonly vocabSize: number;
  private memory: Tensor;
  private sourceMask: Tensor;
  private readonly caches: DecoderLayerCache[];
  private steps = 0;

  /** sourceIds [N, S] and sourceMask [N, S] (1 = real); each row starts one hypothesis. */
  constructor(
    private readonly model: EncoderDecoderModel,
    sourceIds: Tensor,
    sourceMask: Tensor,
  ) {
    this.vocabSize = model.config.vocab_size;
    this.memory = noGrad(() => model.encode(sourceIds, sourceMask));
    this.sourceMask = sourceMask;
    this.caches = model.decoder.layers.items.map(() => ({
      self: new AttentionCache(),
      cross: new AttentionCache(),
    }));
  }

  get rows(): number {
    return this.memory.shape[0];
  }

  next(tokens: Int32Array): Float32Array {
    const rows = this.rows;
    this.steps++;
    return noGrad(() => {
      // Generated tokens are never padding: the decoder mask so far is all ones.
      const mask = new Tensor(new Int32Array(rows * this.steps).fill(1), [rows, this.steps]);
      const h = this.model.decoder.forward(
        new Tensor(Int32Array.from(tokens), [rows, 1]),
        mask,
        this.memory,
        this.sourceMask,
        undefined,
        this.caches,
      );
      return this.model.project(h).f32;
    });
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) {
      c.self.reorder(keep);
      c.cross.reorder(keep);
    }
    this.memory = pickRows(this.memory, keep);
    this.sourceMask = pickRows(this.sourceMask, keep);
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

  /** promptIds [N, P] and promptMask [N, P] (1 = real; every row needs at least one real token). */
  constructor(
    private readonly model: DecoderOnlyModel,
    promptIds: Tensor,
    promptMask: Tensor,
  ) {
    this.vocabSize = model.config.vocab_size;
    this.mask = promptMask;
    this.caches = model.decoder.layers.items.map(() => ({
      self: new AttentionCache(),
      cross: new AttentionCache(),
    }));
    const [N, P] = promptIds.shape;
    const V = this.vocabSize;
    const logits = noGrad(
      () =>
        model.project(
          model.decoder.forward(promptIds, promptMask, null, null, undefined, this.caches),
        ).f32,
    );
    this.pending = logits.length === 0 ? new Float32Array(0) : new Float32Array(N * V);
    for (let r = 0; r < N; r++)
      this.pending.set(logits.subarray((r * P + P - 1) * V, (r * P + P) * V), r * V);
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
    const grown = new Int32Array(N * (T + 1));
    for (let r = 0; r < N; r++) {
      grown.set(this.mask.i32.subarray(r * T, (r + 1) * T), r * (T + 1));
      grown[r * (T + 1) + T] = 1;
    }
    this.mask = new Tensor(grown, [N, T + 1]);
    return noGrad(
      () =>
        this.model.project(
          this.model.decoder.forward(
            new Tensor(Int32Array.from(tokens), [N, 1]),
            this.mask,
            null,
            null,
            undefined,
            this.caches,
          ),
        ).f32,
    );
  }

  reorder(keep: readonly number[]): void {
    for (const c of this.caches) c.self.reorder(keep);
    this.mask = pickRows(this.mask, keep);
  }
}
