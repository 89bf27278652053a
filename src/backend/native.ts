// The native backend: the Backend seam on the C++ addon (native/). The addon validates every
// argument and works in place on the caller's typed arrays; this class passes each kernel's
// argument object field by field in the one order declared below (FIELD_ORDERS; the addon reads
// the fields by name) and turns the addon's index errors into the same MaskwiseError the
// reference throws. No `node:` imports: the addon object is handed in by src/node/native-addon.ts.
import type {
  AdamwArgs,
  AttentionArgs,
  Backend,
  BinaryArgs,
  CacheWriteArgs,
  CrossEntropyArgs,
  CrossEntropyBackwardArgs,
  DecodeAttentionArgs,
  DecodeLogSoftmaxArgs,
  DecodeTopKGroupsArgs,
  DropoutMaskArgs,
  F32,
  GatherArgs,
  GemmArgs,
  GemmBf16Args,
  GemmBf16WeightArgs,
  GemmInt8Args,
  HeldWeight,
  LayerNormArgs,
  LayerNormBackwardArgs,
  PermuteArgs,
  ReduceArgs,
  ReduceMaxBackwardArgs,
  ScatterAddArgs,
  SoftmaxArgs,
  SoftmaxBackwardArgs,
  SwigluArgs,
  SwigluBackwardArgs,
  UnaryArgs,
  UnaryBackwardArgs,
} from "../tensor/backend.js";
import { MaskwiseError } from "../util/errors.js";

/** A weight packed by the addon (native/gemm.h PackedB), opaque here. */
declare const packedWeight: unique symbol;
export type PackedWeight = { readonly [packedWeight]: true };

/** The argument interface of each field-order group: a kernel of the same name, or the pair
 * attentionForward and attentionBackward ("attention"). */
interface GroupArgs {
  gemm: GemmArgs;
  unary: UnaryArgs;
  unaryBackward: UnaryBackwardArgs;
  swiglu: SwigluArgs;
  swigluBackward: SwigluBackwardArgs;
  binary: BinaryArgs;
  reduce: ReduceArgs;
  reduceMaxBackward: ReduceMaxBackwardArgs;
  permute: PermuteArgs;
  softmax: SoftmaxArgs;
  softmaxBackward: SoftmaxBackwardArgs;
  layerNorm: LayerNormArgs;
  layerNormBackward: LayerNormBackwardArgs;
  crossEntropy: CrossEntropyArgs;
  crossEntropyBackward: CrossEntropyBackwardArgs;
  gather: GatherArgs;
  scatterAdd: ScatterAddArgs;
  adamw: AdamwArgs;
  dropoutMask: DropoutMaskArgs;
  attention: AttentionArgs;
  decodeAttention: DecodeAttentionArgs;
  gemmBf16: GemmBf16Args;
  gemmBf16Weight: GemmBf16WeightArgs;
  gemmInt8: GemmInt8Args;
  decodeLogSoftmax: DecodeLogSoftmaxArgs;
  decodeTopKGroups: DecodeTopKGroupsArgs;
  cacheWrite: CacheWriteArgs;
}
/** A field-order group. */
export type FieldGroup = keyof GroupArgs;
/** The argument interface of a group. */
export type FieldArgs<G extends FieldGroup> = GroupArgs[G];

/**
 * The order in which each kernel receives the fields of its argument interface: the binding's
 * one declaration. The addon is given these orders once (NativeAddon.fieldOrder) and reads
 * every field by its name (native/args.h; native/fields.h lists the names it accepts), and
 * NativeAddon's kernel signatures are derived from them. The fields travel as positions
 * because positions are the cheapest arguments to read in C++ (GEMM and the small kernels run
 * thousands of times per decoding or training step: reading object properties in C++ cost a
 * decoding step about 4 us per attention call). Each entry must name every field of its
 * interface (checked below by the type system; once each, by tests/backend/seam-names.test.ts).
 */
export const FIELD_ORDERS = {
  gemm: [
    "batch",
    "m",
    "n",
    "k",
    "transA",
    "transB",
    "alpha",
    "beta",
    "a",
    "aOffset",
    "lda",
    "strideA",
    "b",
    "bOffset",
    "ldb",
    "strideB",
    "c",
    "cOffset",
    "ldc",
    "strideC",
    "bf16",
    "bias",
    "relu",
    "rowSums",
  ],
  unary: ["op", "x", "out", "n"],
  unaryBackward: ["op", "x", "y", "dy", "dx", "n", "accumulate"],
  swiglu: ["gate", "up", "out", "n"],
  swigluBackward: ["gate", "up", "dy", "dgate", "dup", "n", "accumulateGate", "accumulateUp"],
  binary: ["op", "a", "aStrides", "b", "bStrides", "out", "shape"],
  reduce: ["op", "x", "out", "outer", "dim", "inner"],
  reduceMaxBackward: ["x", "y", "dy", "dx", "outer", "dim", "inner"],
  permute: ["x", "out", "shape", "perm"],
  softmax: ["x", "out", "rows", "cols", "log"],
  softmaxBackward: ["y", "dy", "dx", "rows", "cols", "log", "accumulate"],
  layerNorm: ["x", "gamma", "beta", "out", "mean", "rstd", "rows", "cols", "eps", "rms"],
  layerNormBackward: [
    "x",
    "gamma",
    "mean",
    "rstd",
    "dy",
    "dx",
    "dgamma",
    "dbeta",
    "rows",
    "cols",
    "accumulate",
    "rms",
  ],
  crossEntropy: ["logits", "targets", "loss", "lse", "rows", "V", "ignoreIndex", "smoothing"],
  crossEntropyBackward: [
    "logits",
    "targets",
    "lse",
    "dloss",
    "dlogits",
    "rows",
    "V",
    "ignoreIndex",
    "smoothing",
    "accumulate",
    "vocabOffset",
    "vocab",
  ],
  gather: ["table", "ids", "out", "rows", "cols", "numRows", "zeroMissing"],
  scatterAdd: ["dout", "ids", "dtable", "rows", "cols", "numRows"],
  adamw: ["p", "g", "m", "v", "n", "lr", "beta1", "beta2", "eps", "weightDecay", "step"],
  dropoutMask: ["out", "n", "seed", "threshold", "keep"],
  attention: [
    "B",
    "H",
    "Tq",
    "Tk",
    "Dh",
    "q",
    "k",
    "v",
    "attend",
    "maskBatch",
    "blocks",
    "blockQ",
    "blockK",
    "scale",
    "skipBlocks",
    "dropout",
    "seed",
    "bias",
    "biasBatch",
    "qSlots",
    "kSlots",
    "kvHeads",
  ],
  decodeAttention: [
    "R",
    "H",
    "Dh",
    "q",
    "k",
    "v",
    "P",
    "capacity",
    "length",
    "rows",
    "keep",
    "keepStride",
    "slots",
    "slotStride",
    "scale",
    "out",
    "bias",
    "biasOffset",
    "biasHeadStride",
    "kvHeads",
  ],
  gemmBf16: ["m", "n", "k", "a", "w", "c"],
  gemmBf16Weight: ["m", "n", "k", "a", "w", "transW", "c", "beta", "bf16"],
  gemmInt8: ["m", "n", "k", "a", "w", "scales", "sums", "c", "packed", "beta", "bias", "relu"],
  decodeLogSoftmax: ["x", "rows", "cols"],
  decodeTopKGroups: ["lp", "V", "rows", "base", "offsets", "M", "hyp", "token", "score", "counts"],
  cacheWrite: [
    "B",
    "T",
    "H",
    "Dh",
    "k",
    "kOffset",
    "v",
    "vOffset",
    "srcStride",
    "kCache",
    "vCache",
    "capacity",
    "t0",
  ],
} as const satisfies { [G in FieldGroup]: readonly (keyof GroupArgs[G])[] };

/** The fields of each group that its order leaves out (none: `complete` fails to compile). */
type Unordered = {
  [G in FieldGroup]: Exclude<keyof GroupArgs[G], (typeof FIELD_ORDERS)[G][number]>;
}[FieldGroup];
const complete: [Unordered] extends [never] ? true : { unordered: Unordered } = true;
void complete;

/** The types of fields `N` of interface `A`, in order. */
type Positional<A, N extends readonly unknown[]> = {
  -readonly [I in keyof N]: N[I] extends keyof A ? A[N[I]] : never;
};
/** The types of a group's fields in its order: the addon's positional arguments. */
type Fields<G extends FieldGroup> = Positional<GroupArgs[G], (typeof FIELD_ORDERS)[G]>;

/** The kernels that take one group's fields and nothing else, as the addon exports them. */
type KernelFunctions = {
  [G in Exclude<FieldGroup, "attention" | "gemm">]: (
    ...args: Fields<G>
  ) => G extends "gemmInt8" ? string : void;
};

/** NativeAddon.gemmKernels(): what `maskwise info` reports of the GEMM. */
export interface GemmKernels {
  float32: { isa: string; mr: number; nr: number; kc: number; mc: number; nc: number };
  bfloat16: { isa: string; mr: number; nr: number } | null;
  /** A test build whose AVX-512 paths run emulated over AVX2 (native/simd.h). */
  emulatedAvx512: boolean;
}

/** The addon's functions (native/addon.cc); every argument is validated there. */
export interface NativeAddon extends KernelFunctions {
  /** The GemmArgs fields, then optionally a weight packWeight packed (used when it is b's). */
  gemm(...args: [...Fields<"gemm">, packed?: PackedWeight]): void;
  /** Two products' GemmArgs fields, each followed by its packed weight or undefined. */
  gemmPair(
    ...args: [
      ...Fields<"gemm">,
      PackedWeight | undefined,
      ...Fields<"gemm">,
      PackedWeight | undefined,
    ]
  ): void;
  /** W [n, k] packed for the GEMM kernel in use (freed when the handle is collected). */
  packWeight(w: F32, n: number, k: number): PackedWeight;
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
      accumulate: boolean,
    ]
  ): void;
  /** Total compute threads, the calling thread included (1..1024). */
  setThreads(n: number): void;
  threads(): number;
  /** The GEMM micro-kernel in use: "avx512", "avx2" or "portable". */
  gemmIsa(): string;
  /** The best micro-kernel this CPU runs. */
  cpuIsa(): string;
  /**
   * The products' kernels as chosen now: float32's micro-tile (mr x nr) and cache blocking, and
   * the bfloat16 kernel (null where bfloat16 inputs take the float32 kernel).
   */
  gemmKernels(): GemmKernels;
  /** Selects a micro-kernel no better than cpuIsa() (tests and benchmarks). */
  setGemmIsa(isa: string): void;
  /**
   * Lets gemmBf16 and gemm with GemmArgs.bf16 use the CPU's bfloat16 dot-product instruction
   * (AVX512_BF16, the default) or the float32 kernels (tests and benchmarks); returns whether
   * they will use the instruction.
   */
  setGemmBf16Dot(on: boolean): boolean;
  /**
   * Lets the bfloat16 GEMM run on AMX tiles (opt-in: MASKWISE_AMX=1 sets it at load) where the
   * CPU has AMX-BF16 and Linux grants it; returns whether it will.
   */
  setGemmAmx(on: boolean): boolean;
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
  /** The field names each group accepts (native/fields.h): what fieldOrder must be given. */
  fieldNames(): Record<string, string[]>;
}

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

/**
 * Each method passes its argument object's fields in FIELD_ORDERS's order, spelled out as
 * property reads: spreading a list built from the names (or from a function that returns the
 * fields) cost a tiny GEMM about 45 ns more per call, where plain reads in an inlined call cost
 * nothing (bench/binding-calls.ts). The types of the positions come from FIELD_ORDERS
 * (NativeAddon), so a field of another type in a position does not compile, and
 * tests/backend/seam-names.test.ts checks every method against the order.
 */
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

  /** Weights held packed (holdPacked), by array. */
  private readonly packed = new Map<F32, PackedWeight>();

  holdPacked(weights: readonly HeldWeight[]): () => void {
    const mine: F32[] = [];
    for (const { w, n, k } of weights) {
      if (this.packed.has(w) || n * k === 0) continue;
      this.packed.set(w, this.k.packWeight(w, n, k));
      mine.push(w);
    }
    return () => {
      for (const w of mine) this.packed.delete(w);
    };
  }

  gemm(a: GemmArgs): void {
    this.k.gemm(...this.gemmFields(a));
  }

  gemmPair(first: GemmArgs, second: GemmArgs): void {
    this.k.gemmPair(...this.gemmFields(first), ...this.gemmFields(second));
  }

  /** A product's fields in FIELD_ORDERS.gemm's order, then the weight held packed for it. */
  private gemmFields(a: GemmArgs): [...Fields<"gemm">, PackedWeight | undefined] {
    // The addon checks that a held weight is this product's B, packed for the kernel in use.
    const packed = a.transB && a.bOffset === 0 ? this.packed.get(a.b) : undefined;
    return [
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
      a.bias ?? null,
      a.relu ?? false,
      a.rowSums ?? null,
      packed,
    ];
  }

  unary(a: UnaryArgs): void {
    this.k.unary(a.op, a.x, a.out, a.n);
  }

  unaryBackward(a: UnaryBackwardArgs): void {
    this.k.unaryBackward(a.op, a.x, a.y, a.dy, a.dx, a.n, a.accumulate);
  }

  swiglu(a: SwigluArgs): void {
    this.k.swiglu(a.gate, a.up, a.out, a.n);
  }

  swigluBackward(a: SwigluBackwardArgs): void {
    this.k.swigluBackward(
      a.gate,
      a.up,
      a.dy,
      a.dgate,
      a.dup,
      a.n,
      a.accumulateGate,
      a.accumulateUp,
    );
  }

  binary(a: BinaryArgs): void {
    this.k.binary(a.op, a.a, a.aStrides, a.b, a.bStrides, a.out, a.shape);
  }

  reduce(a: ReduceArgs): void {
    this.k.reduce(a.op, a.x, a.out, a.outer, a.dim, a.inner);
  }

  reduceMaxBackward(a: ReduceMaxBackwardArgs): void {
    this.k.reduceMaxBackward(a.x, a.y, a.dy, a.dx, a.outer, a.dim, a.inner);
  }

  permute(a: PermuteArgs): void {
    this.k.permute(a.x, a.out, a.shape, a.perm);
  }

  softmax(a: SoftmaxArgs): void {
    this.k.softmax(a.x, a.out, a.rows, a.cols, a.log);
  }

  softmaxBackward(a: SoftmaxBackwardArgs): void {
    this.k.softmaxBackward(a.y, a.dy, a.dx, a.rows, a.cols, a.log, a.accumulate);
  }

  layerNorm(a: LayerNormArgs): void {
    this.k.layerNorm(
      a.x,
      a.gamma,
      a.beta,
      a.out,
      a.mean,
      a.rstd,
      a.rows,
      a.cols,
      a.eps,
      a.rms ?? false,
    );
  }

  layerNormBackward(a: LayerNormBackwardArgs): void {
    this.k.layerNormBackward(
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
      a.rms ?? false,
    );
  }

  crossEntropy(a: CrossEntropyArgs): void {
    try {
      this.k.crossEntropy(
        a.logits,
        a.targets,
        a.loss,
        a.lse,
        a.rows,
        a.V,
        a.ignoreIndex,
        a.smoothing,
      );
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
      this.k.crossEntropyBackward(
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
        a.vocabOffset,
        a.vocab,
      );
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
      this.k.gather(a.table, a.ids, a.out, a.rows, a.cols, a.numRows, a.zeroMissing ?? false);
    } catch (e) {
      throw indexError(e, "gather", "check the token ids against the vocabulary size");
    }
  }

  scatterAdd(a: ScatterAddArgs): void {
    try {
      this.k.scatterAdd(a.dout, a.ids, a.dtable, a.rows, a.cols, a.numRows);
    } catch (e) {
      throw indexError(e, "scatterAdd", "check the token ids against the vocabulary size");
    }
  }

  adamw(a: AdamwArgs): void {
    this.k.adamw(a.p, a.g, a.m, a.v, a.n, a.lr, a.beta1, a.beta2, a.eps, a.weightDecay, a.step);
  }

  dropoutMask(a: DropoutMaskArgs): void {
    this.k.dropoutMask(a.out, a.n, a.seed, a.threshold, a.keep);
  }

  attentionForward(args: AttentionArgs, out: F32, lse: F32): void {
    this.k.attentionForward(
      args.B,
      args.H,
      args.Tq,
      args.Tk,
      args.Dh,
      args.q,
      args.k,
      args.v,
      args.attend,
      args.maskBatch,
      args.blocks,
      args.blockQ,
      args.blockK,
      args.scale,
      args.skipBlocks,
      args.dropout,
      args.seed,
      args.bias,
      args.biasBatch,
      args.qSlots ?? null,
      args.kSlots ?? null,
      args.kvHeads,
      out,
      lse,
    );
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
    accumulate = true,
  ): void {
    this.k.attentionBackward(
      args.B,
      args.H,
      args.Tq,
      args.Tk,
      args.Dh,
      args.q,
      args.k,
      args.v,
      args.attend,
      args.maskBatch,
      args.blocks,
      args.blockQ,
      args.blockK,
      args.scale,
      args.skipBlocks,
      args.dropout,
      args.seed,
      args.bias,
      args.biasBatch,
      args.qSlots ?? null,
      args.kSlots ?? null,
      args.kvHeads,
      out,
      lse,
      dout,
      dq,
      dk,
      dv,
      dbias,
      accumulate,
    );
  }

  decodeAttention(a: DecodeAttentionArgs): void {
    this.k.decodeAttention(
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
    );
  }

  gemmBf16(a: GemmBf16Args): void {
    this.k.gemmBf16(a.m, a.n, a.k, a.a, a.w, a.c);
  }

  gemmBf16Weight(a: GemmBf16WeightArgs): void {
    this.k.gemmBf16Weight(a.m, a.n, a.k, a.a, a.w, a.transW, a.c, a.beta, a.bf16);
  }

  gemmInt8(a: GemmInt8Args): string {
    return this.k.gemmInt8(
      a.m,
      a.n,
      a.k,
      a.a,
      a.w,
      a.scales,
      a.sums,
      a.c,
      a.packed ?? null,
      a.beta ?? 1,
      a.bias ?? null,
      a.relu ?? false,
    );
  }

  decodeLogSoftmax(a: DecodeLogSoftmaxArgs): void {
    this.k.decodeLogSoftmax(a.x, a.rows, a.cols);
  }

  decodeTopKGroups(a: DecodeTopKGroupsArgs): void {
    this.k.decodeTopKGroups(
      a.lp,
      a.V,
      a.rows,
      a.base,
      a.offsets,
      a.M,
      a.hyp,
      a.token,
      a.score,
      a.counts,
    );
  }

  cacheWrite(a: CacheWriteArgs): void {
    this.k.cacheWrite(
      a.B,
      a.T,
      a.H,
      a.Dh,
      a.k,
      a.kOffset,
      a.v,
      a.vOffset,
      a.srcStride,
      a.kCache,
      a.vCache,
      a.capacity,
      a.t0,
    );
  }
}
