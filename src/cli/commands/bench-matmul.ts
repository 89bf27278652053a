// `maskwise bench matmul`: GEMM GFLOP/s of the native backend at 128, 256, 512, 1024 and
// M1024·K256·N1024, each as a ratio to an FMA peak probe measured in the same run with the same
// ISA on every thread (so the ratio says how close GEMM gets to what these cores deliver now).
import { NativeBackend } from "../../backend/native.js";
import { loadNativeAddon } from "../../node/native-addon.js";
import type { GemmArgs } from "../../tensor/backend.js";
import { MaskwiseError } from "../../util/errors.js";
import { Rng } from "../../util/rng.js";
import { type Command, numberFlag, parseFlags } from "../command.js";
import { progress, progressDone } from "../timing.js";

const HELP = `Usage: maskwise bench matmul [--json] [--runs N] [--isa avx512|avx2|portable] [--bf16]

Times C = A @ B (float32, row-major, no transposes, beta = 0) on the native backend for square
128, 256, 512 and 1024 and for M1024·K256·N1024, and an FMA peak probe (independent FMA chains
on registers, same ISA, all threads at once) measured in the same run. Each size is warmed up,
then timed --runs times (default 11), each run repeating the product for about 0.04 s; the best
run counts. The runs go in rounds, one probe and then one run of every size, so that a
disturbance lasting a second or so costs each size one run, not all of them. The peak is the
best of 0.04 s probes before, between and after the rounds (3 x --runs of them). Best-of because
on a shared machine the best run is the one least disturbed by other work; GEMM runs and probes
have the same length so that both see the same clock and the same chance of interruption.
MASKWISE_THREADS sets the threads.
--bf16 times the products of mixed-precision training instead (operands rounded to bfloat16,
sums in float32; on CPUs with AVX512_BF16) against a peak probe of VDPBF16PS chains, and adds
"precision":"bfloat16" to the line; where the CPU lacks the instruction it says so and stops.
The last line with --json:
{"bench":"matmul","peak_gflops":…,"results":[{"m":…,"k":…,"n":…,"gflops":…,"ratio":…},…],
 "min_ratio_512_up":…,"isa":…,"threads":…}
min_ratio_512_up is the smallest ratio among 512, 1024 and M1024·K256·N1024.
A GEMM cannot run faster than the cores' FMA peak: when a product measures above 1.5 times
the probe, other work disturbed the probe (or the products), the ratios mean nothing, and instead
of them the line says so: every "ratio" and "min_ratio_512_up" is null and "busy" explains (the
GFLOP/s are still what was measured). Run it again on an idle machine.`;

const SIZES: [number, number, number][] = [
  [128, 128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [1024, 256, 1024],
];

// The length of one timed GEMM run and of one peak probe: the same for both, so that the ratio
// compares like with like (clock, interruptions by other work).
const RUN_S = 0.04;
/** A product this many times the probe's peak says the machine was busy, not that GEMM is fast. */
const BUSY_RATIO = 1.5;

const round = (x: number, digits: number) => Number(x.toFixed(digits));

export interface Rated {
  results: { m: number; k: number; n: number; gflops: number; ratio: number | null }[];
  /** Why there are no ratios (a product faster than the peak can be), or null. */
  busy: string | null;
}

/**
 * Each size's ratio to `peak` (the figures as printed, so gflops / peak_gflops gives it back),
 * or, when one is above BUSY_RATIO, no ratios and the reason: the probe and the products did not
 * see the same machine.
 */
export function rated(
  rows: { m: number; k: number; n: number; gflops: number }[],
  peak: number,
): Rated {
  const results = rows.map((r) => ({ ...r, ratio: round(r.gflops / peak, 3) as number | null }));
  const fastest = results.reduce((a, r) => ((r.ratio ?? 0) > (a.ratio ?? 0) ? r : a));
  if (!((fastest.ratio ?? 0) > BUSY_RATIO)) return { results, busy: null };
  return {
    results: results.map((r) => ({ ...r, ratio: null })),
    busy: `the machine is busy: ${fastest.m}x${fastest.k}x${fastest.n} ran at ${fastest.gflops} GFLOP/s, ${fastest.ratio}x the ${peak} GFLOP/s the peak probe measured`,
  };
}

export const command: Command = {
  path: ["bench", "matmul"],
  summary: "benchmark the native GEMM against the cores' measured FMA peak",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("bench matmul", argv, {
      json: { type: "boolean" },
      runs: { type: "string" },
      isa: { type: "string" },
      bf16: { type: "boolean" },
    });
    const runs = numberFlag("bench matmul", "runs", values.runs, 11, { min: 1, integer: true });
    const loaded = loadNativeAddon();
    if ("error" in loaded) {
      throw new MaskwiseError(loaded.error, {
        code: "E_NATIVE",
        where: "maskwise bench matmul",
        hint: "build the native backend with 'npm run build:native'",
        kind: "failure",
      });
    }
    const addon = loaded.addon;
    if (values.isa !== undefined) {
      try {
        addon.setGemmIsa(values.isa);
      } catch (e) {
        throw new MaskwiseError((e as Error).message, {
          code: "E_ARG",
          where: `maskwise bench matmul --isa ${values.isa}`,
          hint: `this CPU runs ${addon.cpuIsa()} at best`,
        });
      }
    }
    const backend = new NativeBackend(addon);
    const bf16 = values.bf16 === true;
    if (bf16 && !addon.setGemmBf16Dot(true)) {
      throw new MaskwiseError("this CPU has no bfloat16 dot product (AVX512_BF16)", {
        code: "E_ARG",
        where: "maskwise bench matmul --bf16",
        hint: "without it the products of --bf16 stay float32: time them without --bf16",
      });
    }

    // The peak is the best probe of the run, and each size's figure its best timed run. Probes
    // and sizes take turns, a round at a time (a probe, then one timed run of every size), so
    // that a disturbance on a shared machine lasting a second or so (other work on one of the
    // cores) costs one run of each size instead of every run of one.
    progress("bench matmul: FMA peak probe");
    let peak = 0;
    const probe = (n: number) => {
      for (let r = 0; r < n; r++) peak = Math.max(peak, addon.peakGflops(RUN_S, bf16));
    };
    probe(runs);

    const rng = new Rng(1);
    const rand = (len: number) => Float32Array.from({ length: len }, () => rng.uniform() - 0.5);
    const cases = SIZES.map(([m, k, n]) => {
      const args: GemmArgs = {
        batch: 1,
        m,
        n,
        k,
        transA: false,
        transB: false,
        alpha: 1,
        beta: 0,
        a: rand(m * k),
        aOffset: 0,
        lda: k,
        strideA: 0,
        b: rand(k * n),
        bOffset: 0,
        ldb: n,
        strideB: 0,
        c: new Float32Array(m * n),
        cOffset: 0,
        ldc: n,
        strideC: 0,
        bf16,
      };
      const flops = 2 * m * n * k;
      // Repetitions per timed run: enough for RUN_S seconds at the measured peak.
      const reps = Math.max(1, Math.ceil((RUN_S * peak * 1e9) / flops));
      for (let i = 0; i < reps; i++) backend.gemm(args); // warm-up
      return { m, k, n, args, flops, reps, best: Number.POSITIVE_INFINITY };
    });
    for (let r = 0; r < runs; r++) {
      progress(`bench matmul: round ${r + 1} of ${runs}`);
      probe(1);
      for (const c of cases) {
        backend.gemm(c.args); // the previous size left other data in the caches
        const t0 = performance.now();
        for (let i = 0; i < c.reps; i++) backend.gemm(c.args);
        c.best = Math.min(c.best, (performance.now() - t0) / 1000 / c.reps);
      }
    }
    probe(runs);
    progressDone();
    const peakShown = round(peak, 1);
    const { results, busy } = rated(
      cases.map(({ m, k, n, flops, best }) => ({ m, k, n, gflops: round(flops / best / 1e9, 1) })),
      peakShown,
    );
    const big = results.filter((r) => r.m >= 512);
    const summary = {
      bench: "matmul",
      peak_gflops: peakShown,
      results,
      min_ratio_512_up: busy ? null : Math.min(...big.map((r) => r.ratio ?? 0)),
      isa: addon.gemmIsa(),
      threads: addon.threads(),
      ...(bf16 ? { precision: "bfloat16" } : {}),
      ...(busy ? { busy } : {}),
    };
    if (busy)
      process.stderr.write(
        `maskwise: bench matmul: ${busy}; no ratios: run it again when the machine is idle\n`,
      );
    if (values.json) {
      console.log(JSON.stringify(summary));
    } else {
      const lines = [
        `native GEMM, ${summary.isa}${bf16 ? ", bfloat16 operands" : ""}, ${summary.threads} threads, best of ${runs} runs`,
        `${bf16 ? "VDPBF16PS" : "FMA"} peak: ${summary.peak_gflops} GFLOP/s`,
        "",
        `${"m".padStart(6)}${"k".padStart(6)}${"n".padStart(6)}${"GFLOP/s".padStart(10)}${"ratio".padStart(8)}`,
        ...results.map(
          (r) =>
            `${String(r.m).padStart(6)}${String(r.k).padStart(6)}${String(r.n).padStart(6)}` +
            `${r.gflops.toFixed(1).padStart(10)}${(r.ratio === null ? "busy" : r.ratio.toFixed(3)).padStart(8)}`,
        ),
        "",
        busy ?? `min ratio at 512 and up: ${summary.min_ratio_512_up}`,
      ];
      console.log(lines.join("\n"));
    }
    return 0;
  },
};
