// Position biases added to attention scores, one value per (head, query position, key position):
// T5's relative-position buckets (Raffel et al., a learned scalar per bucket and head) and ALiBi
// (Press et al., a fixed slope per head times the distance). Both depend only on the distance
// j - i between key j and query i, so they are shared by every batch row: attention takes them
// as [H, Tq, Tk] (src/attention/fused.ts), and the decoding kernel as one vector per head indexed
// by distance (`distanceBias`), which serves every step without a [H, T, T] table.
import { embedding } from "../tensor/ops/select.js";
import { permute } from "../tensor/ops/shape.js";
import { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";

/** T5's bucketing: `relative_attention_num_buckets`, `relative_attention_max_distance`. */
export interface T5BucketOptions {
  /** Encoder self-attention looks both ways (half the buckets per direction); the decoder's does not. */
  bidirectional: boolean;
  numBuckets: number;
  maxDistance: number;
}

function checkBuckets(o: T5BucketOptions): void {
  const perSide = o.bidirectional ? Math.floor(o.numBuckets / 2) : o.numBuckets;
  if (!Number.isInteger(o.numBuckets) || Math.floor(perSide / 2) < 1 || !(o.maxDistance > 0)) {
    throw new MaskwiseError(
      `T5 buckets ${o.numBuckets} (max distance ${o.maxDistance}) leave no exact bucket`,
      {
        code: "E_CONFIG",
        where: "relative_attention_num_buckets",
        hint: "use at least 2 buckets (4 when bidirectional) and a positive max distance",
      },
    );
  }
}

/**
 * The bucket of relative position `relative` = key position - query position, as transformers'
 * T5 computes it: bidirectional, the buckets are halved and keys after the query use the upper
 * half; causal, keys after the query fall in bucket 0. Distances below max_exact (half the
 * buckets of a direction) have their own bucket; longer ones share log-spaced buckets up to
 * maxDistance, beyond which all fall in the last. The logarithm is taken in float32 arithmetic,
 * as torch takes it, so a distance on a bucket edge lands where it lands there.
 */
export function t5RelativePositionBucket(relative: number, o: T5BucketOptions): number {
  let buckets = o.numBuckets;
  let bucket = 0;
  let distance: number;
  if (o.bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (relative > 0) bucket += buckets;
    distance = Math.abs(relative);
  } else {
    distance = relative < 0 ? -relative : 0;
  }
  const maxExact = Math.floor(buckets / 2);
  if (distance < maxExact) return bucket + distance;
  const f = Math.fround;
  const logRatio = f(Math.log(f(distance / maxExact)));
  const scaled = f(f(logRatio / f(Math.log(o.maxDistance / maxExact))) * (buckets - maxExact));
  return bucket + Math.min(maxExact + Math.trunc(scaled), buckets - 1);
}

/**
 * The bucket of every (query, key) pair, int32 [Tq, Tk]: query i sits at position i + offset
 * (a KV cache of `offset` entries before it), key j at position j.
 */
export function t5BucketIndex(
  Tq: number,
  Tk: number,
  o: T5BucketOptions & { offset?: number },
): Tensor {
  checkBuckets(o);
  const offset = o.offset ?? 0;
  // Every pair at the same distance shares a bucket: one evaluation per distance.
  const lo = -(Tq - 1 + offset);
  const byDistance = new Int32Array(Math.max(0, Tk - lo));
  for (let d = 0; d < byDistance.length; d++) byDistance[d] = t5RelativePositionBucket(d + lo, o);
  const out = new Int32Array(Tq * Tk);
  for (let i = 0; i < Tq; i++)
    for (let j = 0; j < Tk; j++) out[i * Tk + j] = byDistance[j - (i + offset) - lo];
  return new Tensor(out, [Tq, Tk]);
}

/**
 * T5's bias [H, Tq, Tk] from its `relative_attention_bias` table [numBuckets, H] and a bucket
 * index [Tq, Tk] (`t5BucketIndex`): a gather and a transpose on the tape, so the table's
 * gradient flows back through them from attention's bias gradient. Computed once per forward
 * and passed to every layer of the stack, as T5 does.
 */
export function t5PositionBias(table: Tensor, buckets: Tensor): Tensor {
  if (table.rank !== 2 || buckets.rank !== 2 || buckets.dtype !== "int32") {
    throw new MaskwiseError(
      `T5 position bias of a table [${table.shape.join(", ")}] and buckets ${buckets.dtype} [${buckets.shape.join(", ")}]`,
      {
        code: "E_SHAPE",
        where: "relative_attention_bias",
        hint: "the table is [numBuckets, H], the buckets int32 [Tq, Tk]",
      },
    );
  }
  // [Tq, Tk] ids -> [Tq, Tk, H] -> [H, Tq, Tk]
  return permute(embedding(table, buckets), [2, 0, 1]);
}

/**
 * ALiBi's slope per head: for H a power of two, 2^(-8 h / H) for h = 1..H; otherwise the slopes
 * of the largest power of two below H, then every other slope of twice that many (the paper's
 * rule, as BLOOM builds it).
 */
export function alibiSlopes(H: number): Float32Array {
  if (!Number.isInteger(H) || H < 1) {
    throw new MaskwiseError(`ALiBi needs a positive number of heads, got ${H}`, {
      code: "E_CONFIG",
      where: "alibi",
    });
  }
  const closest = 2 ** Math.floor(Math.log2(H));
  const slopes = new Float32Array(H);
  for (let h = 0; h < closest; h++) slopes[h] = 2 ** ((-8 * (h + 1)) / closest);
  for (let e = 0; e < H - closest; e++) slopes[closest + e] = 2 ** ((-4 * (2 * e + 1)) / closest);
  return slopes;
}

/**
 * ALiBi's bias [H, Tq, Tk]: slope_h * (j - (i + offset)), 0 on the diagonal and more negative
 * the further back the key. Keys after the query get a positive value: ALiBi is meant for causal
 * attention, whose mask removes them. A constant (no gradient).
 */
export function alibiBias(H: number, Tq: number, Tk: number, offset = 0): Tensor {
  const slopes = alibiSlopes(H);
  const out = new Float32Array(H * Tq * Tk);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < Tq; i++)
      for (let j = 0; j < Tk; j++) out[(h * Tq + i) * Tk + j] = slopes[h] * (j - (i + offset));
  return new Tensor(out, [H, Tq, Tk]);
}

/**
 * A bias that depends only on the distance j - i, laid out for the decoding kernel
 * (DecodeAttentionArgs.bias): per head a vector over distances -(maxLength - 1)..maxLength - 1,
 * so the query at position i reads key j at biasOffset(i) + h * headStride + j. One vector per
 * head serves every step of a decode up to maxLength positions.
 */
export interface DistanceBias {
  bias: Float32Array;
  headStride: number;
  /** The DecodeAttentionArgs.biasOffset of a query at position i (< maxLength). */
  offsetOf(i: number): number;
}

export function distanceBias(
  H: number,
  maxLength: number,
  valueAt: (h: number, distance: number) => number,
): DistanceBias {
  const headStride = 2 * maxLength - 1;
  const bias = new Float32Array(H * headStride);
  for (let h = 0; h < H; h++)
    for (let x = 0; x < headStride; x++) bias[h * headStride + x] = valueAt(h, x - (maxLength - 1));
  return {
    bias,
    headStride,
    offsetOf: (i: number) => {
      if (!Number.isInteger(i) || i < 0 || i >= maxLength) {
        throw new MaskwiseError(`query position ${i} is outside 0..${maxLength - 1}`, {
          code: "E_ARG",
          where: "distanceBias",
          hint: "build the bias for the longest sequence the decode can reach",
        });
      }
      return maxLength - 1 - i;
    },
  };
}

/** T5's bias for the decoding kernel, from its table [numBuckets, H] (row-major). */
export function t5DistanceBias(
  table: Float32Array,
  H: number,
  maxLength: number,
  o: T5BucketOptions,
): DistanceBias {
  checkBuckets(o);
  if (table.length < o.numBuckets * H) {
    throw new MaskwiseError(
      `T5 bias table of ${table.length} values is not [${o.numBuckets}, ${H}]`,
      {
        code: "E_SHAPE",
        where: "relative_attention_bias",
      },
    );
  }
  return distanceBias(H, maxLength, (h, d) => table[t5RelativePositionBucket(d, o) * H + h]);
}

/** ALiBi's bias for the decoding kernel. */
export function alibiDistanceBias(H: number, maxLength: number): DistanceBias {
  const slopes = alibiSlopes(H);
  return distanceBias(H, maxLength, (h, d) => slopes[h] * d);
}
