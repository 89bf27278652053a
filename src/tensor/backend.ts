// The seam between the tensor/autograd layer and the code that does the arithmetic.
//
// A Backend works on flat typed arrays in row-major order and knows nothing about tensors, shapes
// objects or gradients: every kernel takes its sizes explicitly. Two implementations exist:
//   - `reference` (src/backend/reference.ts): plain TypeScript, the specification;
//   - `native` (src/backend/native.ts + native/): a C++ addon that must agree with the reference
//     within float32 tolerance on every kernel, and must never crash on bad arguments.
// Outputs are always written in place into arrays the caller allocated (no copies across the
// boundary). Unless a kernel says "accumulates", it overwrites its output.

export type F32 = Float32Array;
export type I32 = Int32Array;

/**
 * Element-wise functions of one argument. gelu is the exact form x * Phi(x) (erf); gelu_new is
 * its tanh approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), which T5 v1.1 and
 * GPT-2 were trained with (transformers' "gelu_new"); silu is x * sigmoid(x) (transformers'
 * "swish" and "silu": Marian, Llama). The native addon looks each up by this name
 * (native/kernels.h lists the same names).
 */
export const UNARY_OPS = [
  "neg",
  "exp",
  "log",
  "sqrt",
  "rsqrt",
  "tanh",
  "erf",
  "relu",
  "gelu",
  "sigmoid",
  "abs",
  "gelu_new",
  "silu",
] as const;
export type UnaryOp = (typeof UNARY_OPS)[number];

/** Element-wise functions of two arguments, with broadcasting by strides. */
export const BINARY_OPS = ["add", "sub", "mul", "div", "max", "min"] as const;
export type BinaryOp = (typeof BINARY_OPS)[number];

export type ReduceOp = "sum" | "max";

/**
 * Batched GEMM: for each b in [0, batch):
 *   C_b = alpha * op(A_b) @ op(B_b) + beta * C_b
 * where op(A_b) is m x k and op(B_b) is k x n.
 * A_b starts at a[aOffset + b * strideA]; element (i, p) of op(A_b) is at
 *   transA ? i + p * lda : i * lda + p.
 * B_b likewise with ldb: element (p, j) of op(B_b) is at transB ? p + j * ldb : p * ldb + j.
 * C_b starts at c[cOffset + b * strideC]; element (i, j) is at i * ldc + j.
 * A batch stride of 0 reuses one matrix for every b (a weight shared across the batch).
 * beta = 0 means C is not read (so it may hold garbage, even NaN).
 *
 * With `bf16`, the elements of op(A) and op(B) are rounded to bfloat16 (to nearest, ties to even;
 * src/tensor/bf16.ts) before they are multiplied: each product is then exact in float32 and the
 * sums stay float32 (mixed precision; src/tensor/precision.ts). The reference always rounds; a
 * fast backend rounds where it has a faster bfloat16 product (native: AVX512_BF16, on the packed
 * path) and computes in float32 elsewhere, which is never less accurate.
 *
 * An epilogue then runs on each element of C_b: with `bias` (n elements),
 * C_b[i, j] = C_b[i, j] + bias[j]; with `relu`, C_b[i, j] = max(C_b[i, j], 0). The float32
 * operations are those of a separate add and ReLU over C; a fast backend applies them while
 * a block of C is still in cache (a Linear's bias and activation, src/tensor/ops/linear.ts).
 */
/** A weight [n, k] that products read transposed (Backend.holdPacked). */
export interface HeldWeight {
  w: F32;
  n: number;
  k: number;
}

export interface GemmArgs {
  batch: number;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  a: F32;
  aOffset: number;
  lda: number;
  strideA: number;
  b: F32;
  bOffset: number;
  ldb: number;
  strideB: number;
  c: F32;
  cOffset: number;
  ldc: number;
  strideC: number;
  bf16?: boolean;
  /** Added to every row of each C_b after the product: n elements, or null / absent. */
  bias?: F32 | null;
  /** ReLU on C_b after the product (and the bias). */
  relu?: boolean;
  /**
   * With batch 1, also rowSums[i] = sum over p of op(A)[i, p] (m elements, written), in double
   * in p order and rounded once to float32, the bits `reduce` gives for the same sums: the bias
   * gradient of an affine layer (op(A) = g^T in its weight gradient g^T x), which the product
   * takes as it reads A instead of in a pass of its own. op(A) as stored: never rounded to
   * bfloat16. Null / absent: none.
   */
  rowSums?: F32 | null;
}

/**
 * Fused scaled dot-product attention over q [B, H, Tq, Dh], k and v [B, H, Tk, Dh], with the mask
 * as an attend grid [maskBatch, Tq, Tk] (1 = may attend; maskBatch is B, or 1 for a mask shared by
 * the batch) and its block classes [maskBatch, ceil(Tq / blockQ), ceil(Tk / blockK)] (0 = none
 * may attend, 1 = all may, 2 = mixed; see src/attention/masks.ts). The same mask serves every head.
 *
 * With `skipBlocks`, blocks of class 0 are never computed and blocks of class 1 skip the
 * per-element mask test; without it every element is tested (for benchmarks and as a check).
 * A query row with nothing to attend to outputs 0, has lse = -Infinity, and passes 0 gradient.
 *
 * Attention dropout (probability `dropout`) drops p_ij after normalisation and scales the kept
 * ones by 1 / (1 - dropout). Whether (b, h, i, j) is kept is a pure function of `seed` and the
 * element's index, `attentionKeep` below, so forward and backward (and both backends) agree.
 *
 * `bias` [biasBatch, H, Tq, Tk] (biasBatch B, or 1 for a bias shared by the batch) is added to
 * the scaled scores: s_ij = scale * q_i . k_j + bias_ij (T5's relative-position buckets, ALiBi).
 * It never un-masks anything: masked elements stay out and skipped blocks are not read. A bias
 * of -Infinity leaves that element out as the mask would (the block is still computed).
 */
export interface AttentionArgs {
  B: number;
  H: number;
  Tq: number;
  Tk: number;
  Dh: number;
  q: F32;
  k: F32;
  v: F32;
  attend: Uint8Array;
  maskBatch: number;
  blocks: Uint8Array;
  blockQ: number;
  blockK: number;
  scale: number;
  skipBlocks: boolean;
  dropout: number;
  seed: number;
  /** Additive score bias [biasBatch, H, Tq, Tk]; absent or null: none. */
  bias?: F32 | null;
  /** B, or 1 for a bias shared by the batch (default 1). */
  biasBatch?: number;
  /**
   * The row layout (unpadded training, src/attention/unpadded.ts), or absent / null for the
   * head layout above. With qSlots [B * Tq] and kSlots [B * Tk], q is [Nq, H * Dh] and k and v
   * are [Nk, H * Dh]: position t of batch row b is row qSlots[b * Tq + t] of q (kSlots[b * Tk +
   * t] of k and v), head h at columns h * Dh, or has no row (-1). out, dout and dq take q's rows,
   * dk and dv k's; lse stays [B, H, Tq]. The results are the head layout's on the rows laid
   * out by head with zeros where a position has no row (rowsToHeads), taken back at the rows
   * (headsToRows): the same numbers without the two copies.
   */
  qSlots?: I32 | null;
  kSlots?: I32 | null;
  /**
   * Key/value heads of grouped-query attention (row layout only; absent: H, which the head
   * layout needs): k and v are [Nk, kvHeads * Dh], and query head h reads key/value head
   * floor(h / (H / kvHeads)), as if each were repeated H / kvHeads times (transformers'
   * repeat_kv); dk and dv are the repeated heads' gradients summed over each group.
   */
  kvHeads?: number;
}

/**
 * Whether attention dropout keeps element `index` = ((b * H + h) * Tq + i) * Tk + j: a murmur3
 * finaliser of (index * golden ratio + seed) compared with the drop probability, so it needs
 * no stored mask and any backend can reproduce it with 32-bit integer arithmetic.
 */
export function attentionKeep(seed: number, index: number, dropout: number): boolean {
  return dropoutHash(seed, index) / 4294967296 >= dropout;
}

/** The 32-bit hash behind dropout: murmur3's finaliser of (index * golden ratio + seed). */
export function dropoutHash(seed: number, index: number): number {
  let h = (Math.imul(index >>> 0, 0x9e3779b1) + (seed >>> 0)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The integer threshold of drop probability p: dropoutHash(seed, i) < dropThreshold(p) exactly
 * when hash / 2^32 < p, so backends compare integers and agree to the bit.
 */
export function dropThreshold(p: number): number {
  return Math.ceil(p * 4294967296);
}

/**
 * Attention of one new query per row on a KV cache (incremental decoding). Keys and values are
 * stored [P, H, capacity, Dh] (P physical rows) with the first `length` positions filled; query
 * row r reads physical row rows[r] (a map, so rows that share a cache share it without copies).
 * keep [P, keepStride] (1 = may attend; null = every position) is indexed by the physical row.
 * slots [R, slotStride], when given, names the physical row of every position instead:
 * position j of query row r is read from row slots[r * slotStride + j], and keep is indexed by
 * the query row (keep [R, keepStride]: the mask belongs to the hypothesis, as the table does).
 * Beam search's self-attention cache uses it: a hypothesis's positions were written at different
 * steps by different ancestors, and a table of rows per position replaces copying them into one
 * row after every reorder.
 *   out[r, h, :] = sum_j p_j v[rows[r], h, j, :],  p = softmax_j(scale * q[r, h, :] . k[rows[r], h, j, :])
 * over kept j < length; a row with nothing kept outputs 0. q and out are [R, H, Dh].
 * `bias`, when given, adds bias[biasOffset + h * biasHeadStride + j] to score j of head h, for
 * every query row (a position bias is a function of positions, which all rows share). The
 * offset selects the query's row: with a bias [H, T, T] built for T positions, the query at
 * position i reads biasOffset = i * T, biasHeadStride = T * T; a bias that depends only on the
 * distance j - i can be one vector per head (biasOffset = its index of distance -i).
 */
export interface DecodeAttentionArgs {
  R: number;
  H: number;
  Dh: number;
  q: F32;
  k: F32;
  v: F32;
  P: number;
  capacity: number;
  length: number;
  rows: I32;
  keep: Uint8Array | null;
  keepStride: number;
  slots: I32 | null;
  slotStride: number;
  scale: number;
  out: F32;
  /** Additive score bias, read at biasOffset + h * biasHeadStride + j; absent or null: none. */
  bias?: F32 | null;
  biasOffset?: number;
  biasHeadStride?: number;
  /**
   * Heads of the cache, Hkv (grouped-query attention): k and v are [P, Hkv, capacity, Dh] and
   * query head h reads kv head floor(h / (H / Hkv)), as transformers' repeat_kv. H must be a
   * multiple of it. Absent: H.
   */
  kvHeads?: number;
}

// The arguments of the kernels below, one interface per kernel: the Backend methods take them
// and the native addon receives their fields under these names (src/backend/native.ts).

/** out[i] = f(x[i]) for i < n. x and out may be the same array. */
export interface UnaryArgs {
  op: UnaryOp;
  x: F32;
  out: F32;
  n: number;
}

/**
 * dx[i] = dy[i] * f'(x[i]) for i < n, for the op's derivative; y = f(x) is passed too because
 * exp, sqrt, rsqrt, tanh and sigmoid differentiate cheaper through their output. Accumulates
 * into dx when `accumulate` is true.
 */
export interface UnaryBackwardArgs {
  op: UnaryOp;
  x: F32;
  y: F32;
  dy: F32;
  dx: F32;
  n: number;
  accumulate: boolean;
}

/**
 * SwiGLU's gate (Shazeer, "GLU Variants"): out[i] = silu(gate[i]) * up[i] for i < n, with the
 * bits of unary silu followed by binary mul.
 */
export interface SwigluArgs {
  gate: F32;
  up: F32;
  out: F32;
  n: number;
}

/**
 * SwiGLU's gradients, with the bits of mul's backward followed by silu's: dgate[i] = (dy[i] *
 * up[i]) * silu'(gate[i]) and dup[i] = dy[i] * silu(gate[i]), each written or, with its
 * accumulate flag, added; a null one is not computed.
 */
export interface SwigluBackwardArgs {
  gate: F32;
  up: F32;
  dy: F32;
  dgate: F32 | null;
  dup: F32 | null;
  n: number;
  accumulateGate: boolean;
  accumulateUp: boolean;
}

/**
 * out[idx] = a[idx . aStrides] (op) b[idx . bStrides] for every index idx of `shape` (row-major
 * over `shape`, out is contiguous). A stride of 0 broadcasts that axis. Fast paths: equal
 * contiguous shapes, and scalar or row broadcasts.
 */
export interface BinaryArgs {
  op: BinaryOp;
  a: F32;
  aStrides: readonly number[];
  b: F32;
  bStrides: readonly number[];
  out: F32;
  shape: readonly number[];
}

/**
 * Reduces the middle axis of x [outer, dim, inner] into out [outer, inner]. max over an empty
 * axis (dim = 0) gives -Infinity; sum gives 0.
 */
export interface ReduceArgs {
  op: ReduceOp;
  x: F32;
  out: F32;
  outer: number;
  dim: number;
  inner: number;
}

/**
 * The gradient of reduce-max: for each (o, i), dy[o, i] flows to the first j where
 * x[o, j, i] == y[o, i]; accumulates into dx [outer, dim, inner].
 */
export interface ReduceMaxBackwardArgs {
  x: F32;
  y: F32;
  dy: F32;
  dx: F32;
  outer: number;
  dim: number;
  inner: number;
}

/**
 * Copies x (contiguous, `shape`) into out with its axes permuted: out's axis d is x's axis
 * perm[d]. Out is contiguous in the permuted shape; x and out are both F32 or both I32.
 */
export interface PermuteArgs {
  x: F32 | I32;
  out: F32 | I32;
  shape: readonly number[];
  perm: readonly number[];
}

/** Row-wise softmax (log = false) or log-softmax (log = true) of x [rows, cols] into out. */
export interface SoftmaxArgs {
  x: F32;
  out: F32;
  rows: number;
  cols: number;
  log: boolean;
}

/**
 * Gradient of the row-wise softmax given its output y [rows, cols]:
 *   softmax:     dx = y * (dy - sum(dy * y))
 *   log-softmax: dx = dy - exp(y) * sum(dy)
 * Accumulates into dx when `accumulate` is true.
 */
export interface SoftmaxBackwardArgs {
  y: F32;
  dy: F32;
  dx: F32;
  rows: number;
  cols: number;
  log: boolean;
  accumulate: boolean;
}

/**
 * Layer norm over the last axis of x [rows, cols]:
 *   out = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps), var biased.
 * gamma and beta are [cols]; saves mean [rows] and rstd [rows] for the backward pass.
 */
export interface LayerNormArgs {
  x: F32;
  gamma: F32;
  beta: F32;
  out: F32;
  mean: F32;
  rstd: F32;
  rows: number;
  cols: number;
  eps: number;
  /**
   * RMS norm (Zhang & Sennrich) instead: nothing subtracted (mean is written as 0), rstd = 1 /
   * sqrt(mean(x^2) + eps), out = x * rstd * gamma; beta is not read (may be empty).
   */
  rms?: boolean;
}

/**
 * Layer norm backward. Overwrites dx [rows, cols] (or accumulates when `accumulate`); always
 * accumulates into dgamma and dbeta [cols] (parameters collect gradient from every use).
 */
export interface LayerNormBackwardArgs {
  x: F32;
  gamma: F32;
  mean: F32;
  rstd: F32;
  dy: F32;
  dx: F32;
  dgamma: F32;
  dbeta: F32;
  rows: number;
  cols: number;
  accumulate: boolean;
  /** The RMS norm's gradient (LayerNormArgs.rms): dx = rstd * (g - xhat * mean(g * xhat)); dbeta
   * is not written (may be empty). */
  rms?: boolean;
}

/**
 * Cross-entropy of logits [rows, V] against integer targets [rows], with label smoothing
 * epsilon (`smoothing`) spread over all V classes (PyTorch's convention):
 *   loss_r = (1 - eps) * (lse_r - z_r[t_r]) + eps * (lse_r - mean_v z_r[v])
 * Rows whose target equals ignoreIndex get loss 0. Writes loss [rows] and lse [rows]
 * (log-sum-exp, saved for the backward pass). A target outside [0, V) that is not the ignore
 * index is an error.
 */
export interface CrossEntropyArgs {
  logits: F32;
  targets: I32;
  loss: F32;
  lse: F32;
  rows: number;
  V: number;
  ignoreIndex: number;
  smoothing: number;
}

/**
 * dlogits[r, v] = dloss[r] * (softmax(z_r)[v] - (1 - eps) * [v == t_r] - eps / V), and 0 for
 * ignored rows. Overwrites dlogits (or accumulates when `accumulate`).
 *
 * A block of the vocabulary (`vocab` words, `vocabOffset` given): logits [rows, V] are the columns
 * vocabOffset .. vocabOffset + V - 1 of each row, lse is the whole row's, targets are words of
 * the whole vocabulary (in [0, vocab)), and eps spreads over `vocab`: dlogits[r, c] is entry
 * vocabOffset + c of the whole row's gradient. Absent: the block is the whole vocabulary.
 */
export interface CrossEntropyBackwardArgs {
  logits: F32;
  targets: I32;
  lse: F32;
  dloss: F32;
  dlogits: F32;
  rows: number;
  V: number;
  ignoreIndex: number;
  smoothing: number;
  accumulate: boolean;
  /** The first word of the block (default 0). */
  vocabOffset?: number;
  /** Words in the whole vocabulary (default V). */
  vocab?: number;
}

/** out[r, :] = table[ids[r], :] for r < rows; table is [numRows, cols]. Ids out of range: error. */
export interface GatherArgs {
  table: F32;
  ids: I32;
  out: F32;
  rows: number;
  cols: number;
  numRows: number;
  /**
   * An id of -1 marks a row with no source: its row of out is zeros (the padding slots of
   * src/attention/unpadded.ts). Without it every id must be a row of table.
   */
  zeroMissing?: boolean;
}

/** dtable[ids[r], :] += dout[r, :] (the embedding gradient; repeated ids add up). */
export interface ScatterAddArgs {
  dout: F32;
  ids: I32;
  dtable: F32;
  rows: number;
  cols: number;
  numRows: number;
}

/**
 * One AdamW step on n parameters in place (Loshchilov & Hutter: decoupled weight decay), with
 * the step count t = `step` (from 1):
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + lr * wd * p
 */
export interface AdamwArgs {
  p: F32;
  g: F32;
  m: F32;
  v: F32;
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/**
 * A dropout mask: out[i] = dropoutHash(seed, i) < threshold ? 0 : keep for i < n, with
 * threshold = dropThreshold(p) (an integer in [0, 2^32]) and keep = 1 / (1 - p). A pure
 * function of the seed and the index, so no generator state is carried between elements.
 */
export interface DropoutMaskArgs {
  out: F32;
  n: number;
  seed: number;
  threshold: number;
  keep: number;
}

/**
 * c[i, j] += sum_p a[i, p] * w[j, p] for i < m, j < n: a [m, k] float32, w [n, k] as bfloat16
 * bits (src/tensor/bf16.ts), c [m, n]. The Linear layers of a decoding step whose weights are
 * stored as bfloat16; each weight converts exactly to float32, the sums run in float32 (the
 * reference sums in double), in any order.
 */
/**
 * c [m, n] = a [m, k] op(w) + beta * c (beta 0 or 1; c not read when 0) with w held as bfloat16
 * bits: [n, k] used transposed when `transW` (a layer's y = x W^T), else [k, n] (its dx = dy W).
 * The product is the float32 GEMM of `a` with w's exact float32 values (Backend.gemm, with
 * `bf16` as GemmArgs.bf16), without a float32 copy of all of w: a frozen base layer held in
 * bfloat16 (src/nn/layers.ts) trains an adapter through it.
 */
export interface GemmBf16WeightArgs {
  m: number;
  n: number;
  k: number;
  a: F32;
  w: Uint16Array;
  transW: boolean;
  c: F32;
  beta: 0 | 1;
  bf16: boolean;
}

export interface GemmBf16Args {
  m: number;
  n: number;
  k: number;
  a: F32;
  w: Uint16Array;
  c: F32;
}

/**
 * The int8 product of a decoding step's Linear (Backend.gemmInt8): a [m, k] float32, w int8
 * [n, k] with its per-row `scales` [n] and row `sums` [n], c [m, n] accumulated into.
 */
export interface GemmInt8Args {
  m: number;
  n: number;
  k: number;
  a: F32;
  w: Int8Array;
  scales: F32;
  sums: Int32Array;
  c: F32;
  /**
   * The same weights laid out for a kernel, or null: an Int8Array for VPDPBUSD (packInt8Vnni:
   * 16 columns x 4 consecutive k per 64 bytes) or an Int16Array for VPMADDWD (packInt8Pairs: 8
   * columns x 2 consecutive k per 32 bytes). A kernel that reads the given layout may take it
   * for products of many rows; the results are the same either way (integer sums are exact).
   */
  packed?: Int8Array | Int16Array | null;
  /**
   * The epilogue, as GemmArgs': with beta 0, C's old values are not read (each result is the
   * rescaled sum added to +0, as a C of zeros would give); then bias [n] added to every row,
   * then max(0, .) with relu. The same float32 operations as zeroing C, the product, an add of
   * the bias and a ReLU pass. Defaults: beta 1, no bias, no ReLU.
   */
  beta?: 0 | 1;
  bias?: F32 | null;
  relu?: boolean;
}

/**
 * In-place log-softmax of each row of x [rows, cols]: x - (m + log sum_j exp(x_j - m)) with m
 * the row's largest value, the sum in double precision (next-token log-probabilities).
 */
export interface DecodeLogSoftmaxArgs {
  x: F32;
  rows: number;
  cols: number;
}

/**
 * Decoding's choice of continuations over lp [lp.length / V, V], for G groups of hypotheses in
 * one call (beam search's sentences, or greedy's rows each a group of one): group g is
 * hypotheses offsets[g] .. offsets[g + 1] - 1 (offsets [G + 1] rising from 0 to rows.length),
 * and its best M continuations (hypothesis h of the group, token j < V) by summed
 * log-probability base[h] + lp[rows[h] * V + j] (in double), skipping -Infinity (banned) entries,
 * ties to the lower token, then the earlier hypothesis, go best first to hyp, token and score at
 * g * M (hyp counted within the group); their number (at most M) goes to counts[g].
 */
export interface DecodeTopKGroupsArgs {
  lp: F32;
  V: number;
  rows: I32;
  base: Float64Array;
  offsets: I32;
  M: number;
  hyp: I32;
  token: I32;
  score: Float64Array;
  counts: I32;
}

/**
 * The KV-cache append of incremental decoding: T new positions of B rows, laid out token-major
 * as projections produce them (the H heads of a position side by side in one source row), copied
 * into head-major cache storage [P >= B, H, capacity, Dh] at positions t0..t0 + T - 1 of
 * physical rows 0..B-1. For b < B, t < T, h < H, e < Dh:
 *   kCache[((b * H + h) * capacity + t0 + t) * Dh + e] = k[kOffset + (b * T + t) * srcStride + h * Dh + e]
 * and the same from v (at vOffset) into vCache. The source rows may be wider than H * Dh (a
 * fused projection's output [B * T, srcStride] holding queries, keys and values side by side:
 * keys at kOffset, values at vOffset of the same array). v and vCache are both given or both
 * null (keys only). A source must not overlap its destination.
 */
export interface CacheWriteArgs {
  B: number;
  T: number;
  H: number;
  Dh: number;
  k: F32;
  kOffset: number;
  v: F32 | null;
  vOffset: number;
  /** Elements from one source row (b, t) to the next; at least H * Dh. */
  srcStride: number;
  /** [P, H, capacity, Dh], P >= B */
  kCache: F32;
  vCache: F32 | null;
  capacity: number;
  /** The first position written; t0 + T <= capacity. */
  t0: number;
}

export interface Backend {
  readonly name: "reference" | "native";
  /** Threads the backend computes with. */
  readonly threads: number;

  gemm(args: GemmArgs): void;
  /**
   * Two independent products (neither reads an array the other writes), with exactly the
   * results of gemm(first) then gemm(second). The native backend on two threads runs each
   * whole on its own thread (a linear layer's dx and dW: the same work, and each packs its B
   * once instead of once per thread).
   */
  gemmPair(first: GemmArgs, second: GemmArgs): void;

  /**
   * Keeps these weights (each W [n, k] as stored, the B of C = A W^T) ready for `gemm` until the
   * returned function releases them: a product by one of these arrays, transposed, then reads W
   * as packed here instead of packing it per call (per thread). The weights must not change
   * meanwhile (a translation run). The results are the same; the reference backend keeps
   * nothing.
   */
  holdPacked(weights: readonly HeldWeight[]): () => void;
  unary(args: UnaryArgs): void;
  unaryBackward(args: UnaryBackwardArgs): void;
  swiglu(args: SwigluArgs): void;
  swigluBackward(args: SwigluBackwardArgs): void;
  binary(args: BinaryArgs): void;
  reduce(args: ReduceArgs): void;
  reduceMaxBackward(args: ReduceMaxBackwardArgs): void;
  permute(args: PermuteArgs): void;
  softmax(args: SoftmaxArgs): void;
  softmaxBackward(args: SoftmaxBackwardArgs): void;
  layerNorm(args: LayerNormArgs): void;
  layerNormBackward(args: LayerNormBackwardArgs): void;
  crossEntropy(args: CrossEntropyArgs): void;
  crossEntropyBackward(args: CrossEntropyBackwardArgs): void;
  gather(args: GatherArgs): void;
  scatterAdd(args: ScatterAddArgs): void;
  adamw(args: AdamwArgs): void;
  dropoutMask(args: DropoutMaskArgs): void;

  /**
   * Fused attention forward: writes out [B, H, Tq, Dh] and lse [B, H, Tq] (the log-sum-exp of
   * each row's scaled scores, -Infinity for an empty row), saved for the backward pass.
   */
  attentionForward(args: AttentionArgs, out: F32, lse: F32): void;

  /**
   * Fused attention backward (FlashAttention-2's recomputation: p_ij from q, k and the saved lse,
   * D_i = dout_i . out_i). Accumulates into dq, dk and dv, or with `accumulate` false writes
   * them (what they held is not read: fresh gradients need no zero-filling), and, when given,
   * accumulates into dbias (the shape of args.bias): dbias_ij = p_ij (dp_ij - D_i), summed over
   * the batch for a shared bias.
   */
  attentionBackward(
    args: AttentionArgs,
    out: F32,
    lse: F32,
    dout: F32,
    dq: F32,
    dk: F32,
    dv: F32,
    dbias?: F32 | null,
    accumulate?: boolean,
  ): void;

  /** Attention of one query per row on a KV cache (DecodeAttentionArgs). */
  decodeAttention(args: DecodeAttentionArgs): void;
  gemmBf16(args: GemmBf16Args): void;
  gemmBf16Weight(args: GemmBf16WeightArgs): void;
  decodeLogSoftmax(args: DecodeLogSoftmaxArgs): void;
  decodeTopKGroups(args: DecodeTopKGroupsArgs): void;
  /** The KV-cache append (CacheWriteArgs). */
  cacheWrite(args: CacheWriteArgs): void;

  /**
   * c [m, n] += a [m, k] w^T with w int8 [n, k] quantized per row (`scales` [n], `sums` [n] the
   * row sums of w) and each row of a quantized to bytes with its own zero point per call
   * (src/backend/reference-int8.ts is the definition). Returns the kernel that ran ("reference", "avx512-vnni", ...).
   */
  gemmInt8(args: GemmInt8Args): string;
}
