// `--precision auto|float32|bfloat16` of train, pretrain, quickstart, translate, generate and chat, read
// in one place. float32 multiplies in float32; bfloat16 rounds the operands of the matrix
// products to bfloat16 and sums in float32 (src/tensor/precision.ts; for decoding, bfloat16
// copies of the decoder's weights, src/nn/bf16-weights.ts); `--bf16` is the older spelling of
// `--precision bfloat16`. auto times one product both ways, once per process (a few
// milliseconds), and takes bfloat16 only where it is clearly faster: on a CPU with AVX512_BF16
// it usually is, elsewhere the native backend computes the bfloat16 products in float32 and the
// reference backend rounds in TypeScript, so auto keeps float32 there without timing anything.
// translate, generate and chat also take int8 (decodingPrecisionFromFlags: int8 copies of the
// decoding weights, src/nn/int8-weights.ts), which auto never picks; training refuses it.
import { getBackend } from "../tensor/dispatch.js";
import type { MatmulPrecision } from "../tensor/precision.js";
import { MaskwiseError } from "../util/errors.js";
import { loadNativeAddon } from "./native-addon.js";

export type PrecisionChoice = "auto" | MatmulPrecision;
/** A decoding command's precision: int8 copies of the decoding weights join the two above. */
export type DecodingPrecision = MatmulPrecision | "int8";

/** The flags, for node:util parseArgs. */
export const PRECISION_FLAGS = {
  precision: { type: "string" },
  bf16: { type: "boolean" },
} as const;

/** The help lines of the flags, in the layout of runFlagsHelp (src/node/train-run.ts). */
export const PRECISION_HELP = `  --precision P          float32, bfloat16 (matrix products on operands rounded to bfloat16,
                         sums in float32; faster on CPUs with AVX512_BF16) or auto (times both
                         on this CPU once, a few milliseconds, and takes the faster; one line on
                         stderr says which); --bf16 is --precision bfloat16`;

/** What the probe measured: GFLOP/s of one product in each precision, or why it did not. */
export interface PrecisionProbe {
  float32Gflops: number | null;
  bfloat16Gflops: number | null;
  /** Why nothing was timed (the backend, the CPU); absent when both figures are there. */
  note?: string;
}

/** bfloat16 must beat float32 by this factor: the rounding costs accuracy, noise is not a gain. */
export const AUTO_MARGIN = 1.1;

// The probe's product: C [M, N] = A [M, K] B [K, N], a training step's shape (rows of tokens
// times a weight), large enough for the packed kernels and small enough to take a millisecond.
const M = 256;
const K = 256;
const N = 256;
const RUNS = 3;

/** Times the product in float32 and in bfloat16 on the active backend (best of RUNS each). */
export function measurePrecisions(): PrecisionProbe {
  const be = getBackend();
  if (be.name !== "native") {
    return {
      float32Gflops: null,
      bfloat16Gflops: null,
      note: `the ${be.name} backend rounds to bfloat16 in TypeScript`,
    };
  }
  const loaded = loadNativeAddon();
  // Switching the instruction on is the default state; the answer says whether this CPU has it.
  if (!("addon" in loaded) || !loaded.addon.setGemmBf16Dot(true)) {
    return {
      float32Gflops: null,
      bfloat16Gflops: null,
      note: "this CPU has no bfloat16 dot product (AVX512_BF16)",
    };
  }
  // The kernels' speed does not depend on the values (normal, finite ones): constants fill fast.
  const a = new Float32Array(M * K).fill(0.5);
  const b = new Float32Array(K * N).fill(0.25);
  const c = new Float32Array(M * N);
  const run = (bf16: boolean) => {
    const t0 = performance.now();
    be.gemm({
      batch: 1,
      m: M,
      n: N,
      k: K,
      transA: false,
      transB: false,
      alpha: 1,
      beta: 0,
      a,
      aOffset: 0,
      lda: K,
      strideA: 0,
      b,
      bOffset: 0,
      ldb: N,
      strideB: 0,
      c,
      cOffset: 0,
      ldc: N,
      strideC: 0,
      bf16,
    });
    return performance.now() - t0;
  };
  // One warm-up each (threads woken, code paged in), then the two interleaved so that a burst
  // of other load on the machine hits both alike; the best run of each is its speed.
  run(false);
  run(true);
  let f32 = Number.POSITIVE_INFINITY;
  let bf = Number.POSITIVE_INFINITY;
  for (let r = 0; r < RUNS; r++) {
    f32 = Math.min(f32, run(false));
    bf = Math.min(bf, run(true));
  }
  const gflops = (ms: number) => (2 * M * N * K) / (Math.max(ms, 1e-6) * 1e6);
  return { float32Gflops: gflops(f32), bfloat16Gflops: gflops(bf) };
}

let measured: PrecisionProbe | null = null;

/** The probe, measured on first use and kept for the rest of the process. */
export function precisionProbe(): PrecisionProbe {
  measured ??= measurePrecisions();
  return measured;
}

/** auto's choice for a probe: bfloat16 when its products are at least AUTO_MARGIN faster. */
export function autoPrecision(p: PrecisionProbe): MatmulPrecision {
  return p.float32Gflops !== null &&
    p.bfloat16Gflops !== null &&
    p.bfloat16Gflops >= AUTO_MARGIN * p.float32Gflops
    ? "bfloat16"
    : "float32";
}

/** One line for people: what the probe saw and what auto took. */
export function describeAuto(p: PrecisionProbe): string {
  const choice = autoPrecision(p);
  if (p.float32Gflops === null || p.bfloat16Gflops === null) {
    return `precision auto: ${choice} (${p.note ?? "not measured"})`;
  }
  return `precision auto: ${choice} (a ${M}x${K}x${N} product: bfloat16 ${p.bfloat16Gflops.toFixed(1)} GFLOP/s, float32 ${p.float32Gflops.toFixed(1)} GFLOP/s on this CPU)`;
}

/**
 * The precision the flags ask for, unresolved: undefined when neither --precision nor --bf16
 * was given (the command's default, or a resumed run's own, applies). A bad value, or --bf16
 * with another precision, is a one-line error (exit 2).
 */
export function precisionFlag(
  command: string,
  v: { precision?: unknown; bf16?: unknown },
): PrecisionChoice | undefined {
  const given = v.precision as string | undefined;
  if (given === "int8") {
    throw new MaskwiseError(`--precision int8 is for decoding, not ${command}`, {
      code: "E_ARG",
      where: `maskwise ${command} --precision`,
      hint: "train in float32 or bfloat16; translate and generate take --precision int8",
    });
  }
  if (given !== undefined && given !== "auto" && given !== "float32" && given !== "bfloat16") {
    throw new MaskwiseError(`--precision must be auto, float32 or bfloat16, got '${given}'`, {
      code: "E_ARG",
      where: `maskwise ${command} --precision`,
      hint: "auto takes the faster on this CPU; --bf16 is --precision bfloat16",
    });
  }
  if (v.bf16 === true) {
    if (given !== undefined && given !== "bfloat16") {
      throw new MaskwiseError(`--bf16 is --precision bfloat16, not ${given}`, {
        code: "E_ARG",
        where: `maskwise ${command} --bf16 --precision ${given}`,
        hint: "give one of them",
      });
    }
    return "bfloat16";
  }
  return given as PrecisionChoice | undefined;
}

/**
 * A choice made concrete: auto runs the probe (once per process) and says what it took with
 * `say` (default: one line on stderr).
 */
export function resolvePrecision(
  choice: PrecisionChoice,
  options: {
    probe?: () => PrecisionProbe;
    say?: (line: string) => void;
  } = {},
): MatmulPrecision {
  if (choice !== "auto") return choice;
  const p = (options.probe ?? precisionProbe)();
  const say = options.say ?? ((line: string) => process.stderr.write(`maskwise: ${line}\n`));
  say(describeAuto(p));
  return autoPrecision(p);
}

/** The flags' precision, resolved; `fallback` when neither flag was given. */
export function precisionFromFlags(
  command: string,
  v: { precision?: unknown; bf16?: unknown },
  fallback: MatmulPrecision = "float32",
  options: Parameters<typeof resolvePrecision>[1] = {},
): MatmulPrecision {
  const choice = precisionFlag(command, v);
  return choice === undefined ? fallback : resolvePrecision(choice, options);
}

/** The decoding commands' help lines for --precision int8 (translate, generate). */
export const INT8_HELP = `--precision int8 multiplies by int8 copies of the weights (per output row, scale
max |w| / 127) with each input row quantized to 8 bits per step over its own range; the integer
products are summed exactly and scaled back to float32 (a quarter of float32's weight bytes; with
AVX512_VNNI one instruction per 64 multiply-adds, 'maskwise info' says; outputs may differ from
float32's in places). auto never picks it.`;

/**
 * A decoding command's precision from its flags: int8 (never auto's choice), or what
 * precisionFromFlags makes of them; float32 when neither flag was given.
 */
export function decodingPrecisionFromFlags(
  command: string,
  v: { precision?: unknown; bf16?: unknown },
  options: Parameters<typeof resolvePrecision>[1] = {},
): DecodingPrecision {
  const given = v.precision;
  if (given !== undefined && !["auto", "float32", "bfloat16", "int8"].includes(given as string)) {
    throw new MaskwiseError(
      `--precision must be auto, float32, bfloat16 or int8, got '${given as string}'`,
      {
        code: "E_ARG",
        where: `maskwise ${command} --precision`,
        hint: "auto takes the faster of float32 and bfloat16 on this CPU; --bf16 is --precision bfloat16",
      },
    );
  }
  if (given !== "int8") return precisionFromFlags(command, v, "float32", options);
  if (v.bf16 === true) {
    throw new MaskwiseError("--bf16 is --precision bfloat16, not int8", {
      code: "E_ARG",
      where: `maskwise ${command} --bf16 --precision int8`,
      hint: "give one of them",
    });
  }
  return "int8";
}
