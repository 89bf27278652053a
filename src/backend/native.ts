// The native backend: the Backend seam on the C++ addon (native/). The addon validates every
// argument and works in place on the caller's typed arrays; this class spreads GemmArgs into
// positional arguments (GEMM runs hundreds of times a step, and positions are cheaper to read in
// C++ than object properties), passes the attention kernels' argument objects field by field in
// the one order declared below (the addon reads them by name), and turns the addon's index
// errors into the same MaskwiseError the reference throws. No `node:` imports:
// the addon object is handed in by src/node/native-addon.ts.
import type {
  AttentionArgs,
  Backend,
  BinaryOp,
  DecodeAttentionArgs,
  F32,
  GemmArgs,
  I32,
  ReduceOp,
  UnaryOp,
} from "../tensor/backend.js";
import { MaskwiseError } from "../util/errors.js";

/** The addon's functions (native/addon.cc); every argument is validated there. */
export interface NativeAddon {
  gemm(
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    alpha: number,
    beta: number,
    a: F32,
    aOffset: number,
    lda: number,
    strideA: number,
    b: F32,
    bOffset: number,
    ldb: number,
    strideB: number,
    c: F32,
    cOffset: number,
    ldc: number,
    strideC: number,
    bf16: boolean,
  ): void;
  unary(op: UnaryOp, x: F32, out: F32, n: number): void;
  unaryBackward(op: UnaryOp, x: F32, y: F32, dy: F32, dx: F32, n: number, acc: boolean): void;
  binary(
    op: BinaryOp,
    a: F32,
    aStrides: readonly number[],
    b: F32,
    bStrides: readonly number[],
    out: F32,
    shape: readonly number[],
  ): void;
  reduce(op: string, x: F32, out: F32, outer: number, dim: number, inner: number): void;
  reduceMaxBackward(
    x: F32,
    y: F32,
    dy: F32,
    dx: F32,
    outer: number,
    dim: number,
    inner: number,
  ): void;
  permute(x: F32 | I32, out: F32 | I32, shape: readonly number[], perm: readonly number[]): void;
  softmax(x: F32, out: F32, rows: number, cols: number, log: boolean): void;
  softmaxBackward(
    y: F32,
    dy: F32,
    dx: F32,
    rows: number,
    cols: number,
    log: boolean,
    acc: boolean,
  ): void;
  layerNorm(
    x: F32,
    gamma: F32,
    beta: F32,
    out: F32,
    mean: F32,
    rstd: F32,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  layerNormBackward(
    x: F32,
    gamma: F32,
    mean: F32,
    rstd: F32,
    dy: F32,
    dx: F32,
    dgamma: F32,
    dbeta: F32,
    rows: number,
    cols: number,
    acc: boolean,
  ): void;
  crossEntropy(
    logits: F32,
    targets: I32,
    loss: F32,
    lse: F32,
    rows: number,
    V: number,
    ignoreIndex: number,
    smoothing: number,
  ): void;
  crossEntropyBackward(
    logits: F32,
    targets: I32,
    lse: F32,
    dloss: F32,
    dlogits: F32,
    rows: number,
    V: number,
    ignoreIndex: number,
    smoothing: number,
    acc: boolean,
  ): void;
  gather(table: F32, ids: I32, out: F32, rows: number, cols: number, numRows: number): void;
  scatterAdd(dout: F32, ids: I32, dtable: F32, rows: number, cols: number, numRows: number): void;
  adamw(
    p: F32,
    g: F32,
    m: F32,
    v: F32,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void;
  dropoutMask(out: F32, n: number, seed: number, threshold: number, keep: number): void;
  /** Total compute threads, the calling thread included (1..1024). */
  setThreads(n: number): void;
  threads(): number;
  /** The GEMM micro-kernel in use: "avx512", "avx2" or "portable". */
  gemmIsa(): string;
  /** The best micro-kernel this CPU runs. */
  cpuIsa(): string;
  /** Selects a micro-kernel no better than cpuIsa() (tests and benchmarks). */
  setGemmIsa(isa: string): void;
  /**
   * Lets gemmBf16 and gemm with GemmArgs.bf16 use the CPU's bfloat16 dot-product instruction
   * (AVX512_BF16, the default) or the float32 kernels (tests and benchmarks); returns whether
   * they will use the instruction.
   */
  setGemmBf16Dot(on: boolean): boolean;
  /**
   * FMA peak of the current ISA on all threads at once, measured for about `seconds`; with
   * `bf16` (where setGemmBf16Dot reports the instruction), the peak of VDPBF16PS chains.
   */
  peakGflops(seconds: number, bf16?: boolean): number;
  /** The element-wise op names the addon knows (native/kernels.h): UNARY_OPS and BINARY_OPS. */
  elementwiseOps(): { unary: string[]; binary: string[] };
  /**
   * The order of an argument interface's fields (ATTENTION_FIELDS, DECODE_ATTENTION_FIELDS),
   * given once: the kernels below receive the fields as positions in that order and read them
   * by name (native/args.h).
   */
  fieldOrder(group: "attention" | "decodeAttention", names: readonly string[]): void;
  /** Fused attention (native/attention.cc): the AttentionArgs fields, then out, lse. */
  attentionForward(...args: [...AttentionFields, out: F32, lse: F32]): void;
  /** The AttentionArgs fields, then out, lse, dout, dq, dk, dv, dbias (or null). */
  attentionBackward(
    ...args: [
      ...AttentionFields,
      out: F32,
      lse: F32,
      dout: F32,
      dq: F32,
      dk: F32,
      dv: F32,
      dbias: F32 | null,
    ]
  ): void;
  /** Attention on a KV cache (native/decode.cc): the DecodeAttentionArgs fields. */
  decodeAttention(...args: DecodeAttentionFields): void;
  /** c [m, n] += a [m, k] w^T, w bfloat16 bits [n, k] (native/gemm_skinny.cc). */
  gemmBf16(m: number, n: number, k: number, a: F32, w: Uint16Array, c: F32): void;
  /** In-place log-softmax of rows (native/decode.cc). */
  decodeLogSoftmax(x: F32, rows: number, cols: number): void;
  /** Beam candidates (native/decode.cc); lpRows = lp.length / V. Returns the count. */
  decodeTopK(
    lp: F32,
    lpRows: number,
    V: number,
    rows: I32,
    base: Float64Array,
    n: number,
    M: number,
    hyp: I32,
    token: I32,
    score: Float64Array,
  ): number;
}

/**
 * The fields of AttentionArgs and DecodeAttentionArgs in the order the addon receives them:
 * positions are the cheapest arguments to read in C++ (a decoding step calls decodeAttention
 * twice per layer; reading object properties there, or reading fields by a list of names here,
 * cost more than its kernel on a short cache). These two functions are the binding's one
 * declaration: the addon learns the names they read, in order (`fieldNames`, given once through
 * NativeAddon.fieldOrder), and reads each field by name (native/args.h).
 */
const attentionFields = (a: AttentionArgs) =>
  [
    a.B,
    a.H,
    a.Tq,
    a.Tk,
    a.Dh,
    a.q,
    a.k,
    a.v,
    a.attend,
    a.maskBatch,
    a.blocks,
    a.blockQ,
    a.blockK,
    a.scale,
    a.skipBlocks,
    a.dropout,
    a.seed,
    a.bias,
    a.biasBatch,
  ] as const;

const decodeAttentionFields = (a: DecodeAttentionArgs) =>
  [
    a.R,
    a.H,
    a.Dh,
    a.q,
    a.k,
    a.v,
    a.P,
    a.capacity,
    a.length,
    a.rows,
    a.keep,
    a.keepStride,
    a.slots,
    a.slotStride,
    a.scale,
    a.out,
    a.bias,
    a.biasOffset,
    a.biasHeadStride,
    a.kvHeads,
  ] as const;

type AttentionFields = ReturnType<typeof attentionFields>;
type DecodeAttentionFields = ReturnType<typeof decodeAttentionFields>;

/** The property names `fields` reads, in order (recorded once on a stand-in object). */
function fieldNames<T extends object>(fields: (a: T) => readonly unknown[]): readonly string[] {
  const names: string[] = [];
  fields(
    new Proxy({} as T, {
      get(_target, key) {
        names.push(String(key));
        return undefined;
      },
    }),
  );
  return names;
}

/** The names of AttentionArgs's fields in the order the addon receives them. */
export const ATTENTION_FIELDS = fieldNames(attentionFields);
/** The names of DecodeAttentionArgs's fields in the order the addon receives them. */
export const DECODE_ATTENTION_FIELDS = fieldNames(decodeAttentionFields);

// An addon error with code E_INDEX (an id or target out of range) becomes the MaskwiseError the
// reference backend throws; anything else (a programming error) passes through unchanged.
function indexError(e: unknown, where: string, hint: string): unknown {
  if (e instanceof Error && (e as Error & { code?: string }).code === "E_INDEX") {
    return new MaskwiseError(e.message.replace(/^native \w+: /, ""), {
      code: "E_INDEX",
      where,
      hint,
    });
  }
  return e;
}

export class NativeBackend implements Backend {
  readonly name = "native" as const;
  private readonly k: NativeAddon;

  constructor(addon: NativeAddon) {
    this.k = addon;
    addon.fieldOrder("attention", ATTENTION_FIELDS);
    addon.fieldOrder("decodeAttention", DECODE_ATTENTION_FIELDS);
  }

  get threads(): number {
    return this.k.threads();
  }

  gemm(g: GemmArgs): void {
    this.k.gemm(
      g.batch,
      g.m,
      g.n,
      g.k,
      g.transA,
      g.transB,
      g.alpha,
      g.beta,
      g.a,
      g.aOffset,
      g.lda,
      g.strideA,
      g.b,
      g.bOffset,
      g.ldb,
      g.strideB,
      g.c,
      g.cOffset,
      g.ldc,
      g.strideC,
      g.bf16 ?? false,
    );
  }

  unary(op: UnaryOp, x: F32, out: F32, n: number): void {
    this.k.unary(op, x, out, n);
  }

  unaryBackward(
    op: UnaryOp,
    x: F32,
    y: F32,
    dy: F32,
    dx: F32,
    n: number,
    accumulate: boolean,
  ): void {
    this.k.unaryBackward(op, x, y, dy, dx, n, accumulate);
  }

  binary(
    op: BinaryOp,
    a: F32,
    aStrides: readonly number[],
    b: F32,
    bStrides: readonly number[],
    out: F32,
    shape: readonly number[],
  ): void {
    this.k.binary(op, a, aStrides, b, bStrides, out, shape);
  }

  reduce(op: ReduceOp, x: F32, out: F32, outer: number, dim: number, inner: number): void {
    this.k.reduce(op, x, out, outer, dim, inner);
  }

  reduceMaxBackward(
    x: F32,
    y: F32,
    dy: F32,
    dx: F32,
    outer: number,
    dim: number,
    inner: number,
  ): void {
    this.k.reduceMaxBackward(x, y, dy, dx, outer, dim, inner);
  }

  permute(x: F32 | I32, out: F32 | I32, shape: readonly number[], perm: readonly number[]): void {
    this.k.permute(x, out, shape, perm);
  }

  softmax(x: F32, out: F32, rows: number, cols: number, log: boolean): void {
    this.k.softmax(x, out, rows, cols, log);
  }

  softmaxBackward(
    y: F32,
    dy: F32,
    dx: F32,
    rows: number,
    cols: number,
    log: boolean,
    accumulate: boolean,
  ): void {
    this.k.softmaxBackward(y, dy, dx, rows, cols, log, accumulate);
  }

  layerNorm(
    x: F32,
    gamma: F32,
    beta: F32,
    out: F32,
    mean: F32,
    rstd: F32,
    rows: number,
    cols: number,
    eps: number,
  ): void {
    this.k.layerNorm(x, gamma, beta, out, mean, rstd, rows, cols, eps);
  }

  layerNormBackward(
    x: F32,
    gamma: F32,
    mean: F32,
    rstd: F32,
    dy: F32,
    dx: F32,
    dgamma: F32,
    dbeta: F32,
    rows: number,
    cols: number,
    accumulate: boolean,
  ): void {
    this.k.layerNormBackward(x, gamma, mean, rstd, dy, dx, dgamma, dbeta, rows, cols, accumulate);
  }

  crossEntropy(
    logits: F32,
    targets: I32,
    loss: F32,
    lse: F32,
    rows: number,
    V: number,
    ignoreIndex: number,
    smoothing: number,
  ): void {
    try {
      this.k.crossEntropy(logits, targets, loss, lse, rows, V, ignoreIndex, smoothing);
    } catch (e) {
      throw indexError(
        e,
        "crossEntropy",
        `use ${ignoreIndex} for positions that have nothing to predict`,
      );
    }
  }

  crossEntropyBackward(
    logits: F32,
    targets: I32,
    lse: F32,
    dloss: F32,
    dlogits: F32,
    rows: number,
    V: number,
    ignoreIndex: number,
    smoothing: number,
    accumulate: boolean,
  ): void {
    try {
      this.k.crossEntropyBackward(
        logits,
        targets,
        lse,
        dloss,
        dlogits,
        rows,
        V,
        ignoreIndex,
        smoothing,
        accumulate,
      );
    } catch (e) {
      throw indexError(
        e,
        "crossEntropyBackward",
        `use ${ignoreIndex} for positions that have nothing to predict`,
      );
    }
  }

  gather(table: F32, ids: I32, out: F32, rows: number, cols: number, numRows: number): void {
    try {
      this.k.gather(table, ids, out, rows, cols, numRows);
    } catch (e) {
      throw indexError(e, "gather", "check the token ids against the vocabulary size");
    }
  }

  scatterAdd(dout: F32, ids: I32, dtable: F32, rows: number, cols: number, numRows: number): void {
    try {
      this.k.scatterAdd(dout, ids, dtable, rows, cols, numRows);
    } catch (e) {
      throw indexError(e, "scatterAdd", "check the token ids against the vocabulary size");
    }
  }

  adamw(
    p: F32,
    g: F32,
    m: F32,
    v: F32,
    n: number,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
  ): void {
    this.k.adamw(p, g, m, v, n, lr, beta1, beta2, eps, weightDecay, step);
  }

  dropoutMask(out: F32, n: number, seed: number, threshold: number, keep: number): void {
    this.k.dropoutMask(out, n, seed, threshold, keep);
  }

  attentionForward(args: AttentionArgs, out: F32, lse: F32): void {
    this.k.attentionForward(...attentionFields(args), out, lse);
  }

  attentionBackward(
    args: AttentionArgs,
    out: F32,
    lse: F32,
    dout: F32,
    dq: F32,
    dk: F32,
    dv: F32,
    dbias: F32 | null = null,
  ): void {
    this.k.attentionBackward(...attentionFields(args), out, lse, dout, dq, dk, dv, dbias);
  }

  decodeAttention(args: DecodeAttentionArgs): void {
    this.k.decodeAttention(...decodeAttentionFields(args));
  }

  gemmBf16(m: number, n: number, k: number, a: F32, w: Uint16Array, c: F32): void {
    this.k.gemmBf16(m, n, k, a, w, c);
  }

  decodeLogSoftmax(x: F32, rows: number, cols: number): void {
    this.k.decodeLogSoftmax(x, rows, cols);
  }

  decodeTopK(
    lp: F32,
    V: number,
    rows: I32,
    base: Float64Array,
    M: number,
    hyp: I32,
    token: I32,
    score: Float64Array,
  ): number {
    const lpRows = V > 0 ? Math.floor(lp.length / V) : 0;
    return this.k.decodeTopK(lp, lpRows, V, rows, base, rows.length, M, hyp, token, score);
  }
}
