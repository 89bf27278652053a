// The native backend: the Backend seam on the C++ addon (native/). The addon validates every
// argument and works in place on the caller's typed arrays; this class passes each kernel's
// argument object field by field in the one order declared below (FIELDS; the addon reads the
// fields by name) and turns the addon's index errors into the same MaskwiseError the reference
// throws. No `node:` imports: the addon object is handed in by src/node/native-addon.ts.
import type {
  AdamwArgs,
  AttentionArgs,
  Backend,
  BinaryArgs,
  CrossEntropyArgs,
  CrossEntropyBackwardArgs,
  DecodeAttentionArgs,
  DecodeLogSoftmaxArgs,
  DecodeTopKArgs,
  DropoutMaskArgs,
  F32,
  GatherArgs,
  GemmArgs,
  GemmBf16Args,
  LayerNormArgs,
  LayerNormBackwardArgs,
  PermuteArgs,
  ReduceArgs,
  ReduceMaxBackwardArgs,
  ScatterAddArgs,
  SoftmaxArgs,
  SoftmaxBackwardArgs,
  UnaryArgs,
  UnaryBackwardArgs,
} from "../tensor/backend.js";
import { MaskwiseError } from "../util/errors.js";

/**
 * Each kernel's arguments in the order the addon receives them, one function per field-order
 * group (a kernel of the same name, or the attention pair): plain property reads in a fixed
 * order, since positions are the cheapest arguments to read in C++ (GEMM and the small kernels
 * run thousands of times per decoding or training step; reading object properties in C++, or
 * reading fields here by a loop over a list of names, cost more than a small kernel). This
 * table is the binding's one declaration: NativeAddon's kernel signatures are derived from it,
 * the addon learns the names each function reads, in order (`FIELD_ORDERS`, given once
 * through NativeAddon.fieldOrder), and reads every field by that name (native/args.h). Each
 * function reads every field of its interface in src/tensor/backend.ts, which
 * tests/backend/seam-names.test.ts checks.
 */
const FIELDS = {
  gemm: (a: GemmArgs) =>
    [
      a.batch,
      a.m,
      a.n,
      a.k,
      a.transA,
      a.transB,
      a.alpha,
      a.beta,
      a.a,
      a.aOffset,
      a.lda,
      a.strideA,
      a.b,
      a.bOffset,
      a.ldb,
      a.strideB,
      a.c,
      a.cOffset,
      a.ldc,
      a.strideC,
      a.bf16 ?? false,
    ] as const,
  unary: (a: UnaryArgs) => [a.op, a.x, a.out, a.n] as const,
  unaryBackward: (a: UnaryBackwardArgs) => [a.op, a.x, a.y, a.dy, a.dx, a.n, a.accumulate] as const,
  binary: (a: BinaryArgs) => [a.op, a.a, a.aStrides, a.b, a.bStrides, a.out, a.shape] as const,
  reduce: (a: ReduceArgs) => [a.op, a.x, a.out, a.outer, a.dim, a.inner] as const,
  reduceMaxBackward: (a: ReduceMaxBackwardArgs) =>
    [a.x, a.y, a.dy, a.dx, a.outer, a.dim, a.inner] as const,
  permute: (a: PermuteArgs) => [a.x, a.out, a.shape, a.perm] as const,
  softmax: (a: SoftmaxArgs) => [a.x, a.out, a.rows, a.cols, a.log] as const,
  softmaxBackward: (a: SoftmaxBackwardArgs) =>
    [a.y, a.dy, a.dx, a.rows, a.cols, a.log, a.accumulate] as const,
  layerNorm: (a: LayerNormArgs) =>
    [a.x, a.gamma, a.beta, a.out, a.mean, a.rstd, a.rows, a.cols, a.eps] as const,
  layerNormBackward: (a: LayerNormBackwardArgs) =>
    [
      a.x,
      a.gamma,
      a.mean,
      a.rstd,
      a.dy,
      a.dx,
      a.dgamma,
      a.dbeta,
      a.rows,
      a.cols,
      a.accumulate,
    ] as const,
  crossEntropy: (a: CrossEntropyArgs) =>
    [a.logits, a.targets, a.loss, a.lse, a.rows, a.V, a.ignoreIndex, a.smoothing] as const,
  crossEntropyBackward: (a: CrossEntropyBackwardArgs) =>
    [
      a.logits,
      a.targets,
      a.lse,
      a.dloss,
      a.dlogits,
      a.rows,
      a.V,
      a.ignoreIndex,
      a.smoothing,
      a.accumulate,
    ] as const,
  gather: (a: GatherArgs) => [a.table, a.ids, a.out, a.rows, a.cols, a.numRows] as const,
  scatterAdd: (a: ScatterAddArgs) => [a.dout, a.ids, a.dtable, a.rows, a.cols, a.numRows] as const,
  adamw: (a: AdamwArgs) =>
    [a.p, a.g, a.m, a.v, a.n, a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.step] as const,
  dropoutMask: (a: DropoutMaskArgs) => [a.out, a.n, a.seed, a.threshold, a.keep] as const,
  // attentionForward and attentionBackward: these fields, then their outputs.
  attention: (a: AttentionArgs) =>
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
    ] as const,
  decodeAttention: (a: DecodeAttentionArgs) =>
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
    ] as const,
  gemmBf16: (a: GemmBf16Args) => [a.m, a.n, a.k, a.a, a.w, a.c] as const,
  decodeLogSoftmax: (a: DecodeLogSoftmaxArgs) => [a.x, a.rows, a.cols] as const,
  decodeTopK: (a: DecodeTopKArgs) =>
    [a.lp, a.V, a.rows, a.base, a.M, a.hyp, a.token, a.score] as const,
};

/** A field-order group of FIELDS. */
export type FieldGroup = keyof typeof FIELDS;
/** The argument interface of a group (AttentionArgs for "attention"). */
export type FieldArgs<G extends FieldGroup> = Parameters<(typeof FIELDS)[G]>[0];
type Fields<G extends FieldGroup> = ReturnType<(typeof FIELDS)[G]>;

/** The kernels that take one group's fields and nothing else, as the addon exports them. */
type KernelFunctions = {
  [G in Exclude<FieldGroup, "attention">]: (
    ...args: Fields<G>
  ) => G extends "decodeTopK" ? number : void;
};

/** The addon's functions (native/addon.cc); every argument is validated there. */
export interface NativeAddon extends KernelFunctions {
  /** Fused attention (native/attention.cc): the AttentionArgs fields, then out, lse. */
  attentionForward(...args: [...Fields<"attention">, out: F32, lse: F32]): void;
  /** The AttentionArgs fields, then out, lse, dout, dq, dk, dv, dbias (or null). */
  attentionBackward(
    ...args: [
      ...Fields<"attention">,
      out: F32,
      lse: F32,
      dout: F32,
      dq: F32,
      dk: F32,
      dv: F32,
      dbias: F32 | null,
    ]
  ): void;
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
   * The order of a group's fields (FIELD_ORDERS), given once: the kernels receive the fields
   * as positions in that order and read them by name (native/args.h).
   */
  fieldOrder(group: FieldGroup, names: readonly string[]): void;
  /**
   * The field names each group's binding reads (native/*_binding.cc, addon.cc): what the
   * orders given through fieldOrder must name.
   */
  fieldNames(): Record<string, string[]>;
}

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

/** Each group's field names in the order the addon receives them. */
export const FIELD_ORDERS = Object.fromEntries(
  Object.entries(FIELDS).map(([group, fields]) => [
    group,
    fieldNames(fields as (a: object) => readonly unknown[]),
  ]),
) as Record<FieldGroup, readonly string[]>;
/** The names of AttentionArgs's fields in the order the addon receives them. */
export const ATTENTION_FIELDS = FIELD_ORDERS.attention;
/** The names of DecodeAttentionArgs's fields in the order the addon receives them. */
export const DECODE_ATTENTION_FIELDS = FIELD_ORDERS.decodeAttention;

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
    for (const [group, names] of Object.entries(FIELD_ORDERS))
      addon.fieldOrder(group as FieldGroup, names);
  }

  get threads(): number {
    return this.k.threads();
  }

  gemm(a: GemmArgs): void {
    this.k.gemm(...FIELDS.gemm(a));
  }

  unary(a: UnaryArgs): void {
    this.k.unary(...FIELDS.unary(a));
  }

  unaryBackward(a: UnaryBackwardArgs): void {
    this.k.unaryBackward(...FIELDS.unaryBackward(a));
  }

  binary(a: BinaryArgs): void {
    this.k.binary(...FIELDS.binary(a));
  }

  reduce(a: ReduceArgs): void {
    this.k.reduce(...FIELDS.reduce(a));
  }

  reduceMaxBackward(a: ReduceMaxBackwardArgs): void {
    this.k.reduceMaxBackward(...FIELDS.reduceMaxBackward(a));
  }

  permute(a: PermuteArgs): void {
    this.k.permute(...FIELDS.permute(a));
  }

  softmax(a: SoftmaxArgs): void {
    this.k.softmax(...FIELDS.softmax(a));
  }

  softmaxBackward(a: SoftmaxBackwardArgs): void {
    this.k.softmaxBackward(...FIELDS.softmaxBackward(a));
  }

  layerNorm(a: LayerNormArgs): void {
    this.k.layerNorm(...FIELDS.layerNorm(a));
  }

  layerNormBackward(a: LayerNormBackwardArgs): void {
    this.k.layerNormBackward(...FIELDS.layerNormBackward(a));
  }

  crossEntropy(a: CrossEntropyArgs): void {
    try {
      this.k.crossEntropy(...FIELDS.crossEntropy(a));
    } catch (e) {
      throw indexError(
        e,
        "crossEntropy",
        `use ${a.ignoreIndex} for positions that have nothing to predict`,
      );
    }
  }

  crossEntropyBackward(a: CrossEntropyBackwardArgs): void {
    try {
      this.k.crossEntropyBackward(...FIELDS.crossEntropyBackward(a));
    } catch (e) {
      throw indexError(
        e,
        "crossEntropyBackward",
        `use ${a.ignoreIndex} for positions that have nothing to predict`,
      );
    }
  }

  gather(a: GatherArgs): void {
    try {
      this.k.gather(...FIELDS.gather(a));
    } catch (e) {
      throw indexError(e, "gather", "check the token ids against the vocabulary size");
    }
  }

  scatterAdd(a: ScatterAddArgs): void {
    try {
      this.k.scatterAdd(...FIELDS.scatterAdd(a));
    } catch (e) {
      throw indexError(e, "scatterAdd", "check the token ids against the vocabulary size");
    }
  }

  adamw(a: AdamwArgs): void {
    this.k.adamw(...FIELDS.adamw(a));
  }

  dropoutMask(a: DropoutMaskArgs): void {
    this.k.dropoutMask(...FIELDS.dropoutMask(a));
  }

  attentionForward(args: AttentionArgs, out: F32, lse: F32): void {
    this.k.attentionForward(...FIELDS.attention(args), out, lse);
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
    this.k.attentionBackward(...FIELDS.attention(args), out, lse, dout, dq, dk, dv, dbias);
  }

  decodeAttention(a: DecodeAttentionArgs): void {
    this.k.decodeAttention(...FIELDS.decodeAttention(a));
  }

  gemmBf16(a: GemmBf16Args): void {
    this.k.gemmBf16(...FIELDS.gemmBf16(a));
  }

  decodeLogSoftmax(a: DecodeLogSoftmaxArgs): void {
    this.k.decodeLogSoftmax(...FIELDS.decodeLogSoftmax(a));
  }

  decodeTopK(a: DecodeTopKArgs): number {
    return this.k.decodeTopK(...FIELDS.decodeTopK(a));
  }
}
