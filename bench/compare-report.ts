// The report of bench/compare.ts, apart from running anything: what each measure's JSON line
// contributes (its figures), the medians over rounds, the ratios maskwise / peer, and the
// markdown table that docs/benchmarks.md carries. Pure functions on plain objects, so that the
// table can be tested on canned inputs without timing anything.

import { describeFlags } from "../src/node/cpu.js";

/** Named figures of one run of one measure, all rates (GFLOP/s, tokens/s): higher is faster. */
export type Figures = Record<string, number | null>;

/** What the PyTorch peer reported about itself (bench/pytorch/torch_info.py). */
export interface TorchInfo {
  version: string;
  python: string;
  threads: number;
  interop_threads?: number;
  blas: string | null;
  /** The BLAS libraries mapped at run time, for builds that load one (Debian's "generic"). */
  blas_library?: string[] | null;
  mkl: boolean;
  mkldnn: boolean;
  mkldnn_version: string | null;
  openmp?: boolean;
  cpu_capability: string | null;
  sdpa: boolean;
  mha_uses_sdpa: boolean | null;
  env: Record<string, string>;
}

export interface Machine {
  cpu_model: string;
  /** The flags that decide which kernels can run, present or not. */
  flags: Record<string, boolean>;
  cpus: number;
  node: string;
  commit: string | null;
  load_before: number[];
  load_after?: number[];
  /** The kernels maskwise chose on this CPU (`maskwise info`); absent where info failed. */
  kernels?: { gemm: string; bfloat16: string; int8: string };
}

export interface Measure {
  /** The command line, as run (for the report's method). */
  command: string[];
  /** One entry per round: the figures, or null where the run failed (see errors). */
  rounds: (Figures | null)[];
  errors: string[];
  /** For a peer: which torch ran it, as its last line said (threads and environment included). */
  torch?: TorchInfo;
}

export interface CompareResult {
  bench: "compare";
  started: string;
  finished: string | null;
  rounds: number;
  quick: boolean;
  machine: Machine;
  /** The PyTorch that ran the peers ("wheelhouse": the 2.x venv; "debian": python3-torch). */
  peer: {
    python: string;
    source: string;
    torch: TorchInfo | null;
    env: Record<string, string>;
  } | null;
  /** Why there is no peer, when there is none. */
  peer_missing: string | null;
  /** Keyed by measure name (MEASURE_NAMES), in the order they ran in round 1. */
  measures: Record<string, Measure>;
  /** The order the measures ran in, round by round. */
  orders?: string[][];
}

/** GEMM sizes of the table, as "M" (square) or "MxKxN", as both sides' JSON give m, k, n. */
export const GEMM_SIZES = ["512", "1024", "1024x256x1024"] as const;

const sizeKey = (m: number, k: number, n: number) =>
  m === k && k === n ? String(m) : `${m}x${k}x${n}`;

type Json = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** Figures of a `maskwise bench matmul --json` line or a bench/pytorch/matmul.py line. */
export function matmulFigures(line: Json): Figures {
  const out: Figures = {};
  for (const r of (line.results as Json[] | undefined) ?? []) {
    const key = sizeKey(r.m as number, r.k as number, r.n as number);
    if ((GEMM_SIZES as readonly string[]).includes(key)) out[key] = num(r.gflops);
  }
  if ("peak_gflops" in line) out.peak = num(line.peak_gflops);
  return out;
}

/** Figures of a train-step line (maskwise's or the peer's): target tokens per second. */
export function trainStepFigures(line: Json): Figures {
  return { tokens_per_s: num(line.tokens_per_s) };
}

/** Figures of a decode line (maskwise's or the peer's): tokens per second. */
export function decodeFigures(line: Json): Figures {
  return { greedy_tok_s: num(line.greedy_tok_s), beam5_tok_s: num(line.beam5_tok_s) };
}

/**
 * Figures of one bench/marian-size.ts run (its JSON lines, one per side and measure): greedy
 * tokens/s and fine-tuning target tokens/s of each side.
 */
export function marianFigures(lines: Json[]): Figures {
  const out: Figures = {};
  for (const l of lines) {
    if (l.bench !== "marian-size") continue;
    if (l.measure === "decode") out[`${l.side}_decode_tok_s`] = num(l.tok_s);
    if (l.measure === "train-step") out[`${l.side}_step_tok_s`] = num(l.target_tok_s);
  }
  return out;
}

/** The median (mean of the middle two for an even count); null for no values. */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** A figure of a measure, round by round (null where the run failed or lacks it). */
function perRound(result: CompareResult, measure: string, key: string): (number | null)[] {
  const m = result.measures[measure];
  if (!m) return [];
  return m.rounds.map((r) => (r ? (r[key] ?? null) : null));
}

const present = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);

/** One side of a row: a figure of one measure, or the best of several (the best precision). */
export interface Source {
  measure: string;
  key: string;
}

export interface RowSpec {
  label: string;
  unit: string;
  maskwise: Source[];
  peer: Source[];
}

/**
 * The rows of the table: the issue's bounds, in its order. A side given as several sources takes,
 * in each round, the fastest of them ("best precision" rows).
 */
export const ROWS: RowSpec[] = [
  ...GEMM_SIZES.map((s) => ({
    label: `float32 GEMM ${s === "1024x256x1024" ? "M1024·K256·N1024" : `${s}^3`} (torch.mm)`,
    unit: "GFLOP/s",
    maskwise: [{ measure: "maskwise matmul", key: s }],
    peer: [{ measure: "pytorch matmul", key: s }],
  })),
  ...GEMM_SIZES.map((s) => ({
    label: `bfloat16 GEMM ${s === "1024x256x1024" ? "M1024·K256·N1024" : `${s}^3`} (torch.mm)`,
    unit: "GFLOP/s",
    maskwise: [{ measure: "maskwise matmul --bf16", key: s }],
    peer: [{ measure: "pytorch matmul bfloat16", key: s }],
  })),
  {
    label: "train step float32",
    unit: "target tok/s",
    maskwise: [{ measure: "maskwise train-step", key: "tokens_per_s" }],
    peer: [{ measure: "pytorch train-step", key: "tokens_per_s" }],
  },
  {
    label: "train step bfloat16 (`--bf16` / autocast)",
    unit: "target tok/s",
    maskwise: [{ measure: "maskwise train-step --bf16", key: "tokens_per_s" }],
    peer: [{ measure: "pytorch train-step --bf16", key: "tokens_per_s" }],
  },
  {
    label: "train step, best precision of each",
    unit: "target tok/s",
    maskwise: [
      { measure: "maskwise train-step", key: "tokens_per_s" },
      { measure: "maskwise train-step --bf16", key: "tokens_per_s" },
    ],
    peer: [
      { measure: "pytorch train-step", key: "tokens_per_s" },
      { measure: "pytorch train-step --bf16", key: "tokens_per_s" },
    ],
  },
  ...(["greedy", "beam5"] as const).flatMap((how) => [
    {
      label: `decode ${how === "greedy" ? "greedy" : "beam 5"} float32`,
      unit: "tok/s",
      maskwise: [{ measure: "maskwise decode", key: `${how}_tok_s` }],
      peer: [{ measure: "pytorch decode", key: `${how}_tok_s` }],
    },
    {
      label: `decode ${how === "greedy" ? "greedy" : "beam 5"} bfloat16 (\`--bf16\` / autocast)`,
      unit: "tok/s",
      maskwise: [{ measure: "maskwise decode --bf16", key: `${how}_tok_s` }],
      peer: [{ measure: "pytorch decode --bf16", key: `${how}_tok_s` }],
    },
  ]),
  {
    label: "Marian-size greedy decode, batch 1 (peer: transformers)",
    unit: "tok/s",
    maskwise: [{ measure: "marian-size", key: "maskwise_decode_tok_s" }],
    peer: [{ measure: "marian-size", key: "transformers_decode_tok_s" }],
  },
  {
    label: "Marian-size fine-tuning step (peer: transformers)",
    unit: "target tok/s",
    maskwise: [{ measure: "marian-size", key: "maskwise_step_tok_s" }],
    peer: [{ measure: "marian-size", key: "transformers_step_tok_s" }],
  },
];

export interface Row {
  label: string;
  unit: string;
  /** Medians over rounds; null where no round gave the figure. */
  maskwise: number | null;
  peer: number | null;
  /** maskwise / peer on the medians (> 1: maskwise is faster). */
  ratio: number | null;
  /** The smallest and largest ratio within one round (both sides of the same round). */
  round_ratios: [number, number] | null;
}

/** A side's figure per round: one source's, or the fastest of those present in that round. */
function side(result: CompareResult, sources: Source[]): (number | null)[] {
  const series = sources.map((s) => perRound(result, s.measure, s.key));
  return Array.from({ length: result.rounds }, (_, r) => {
    const got = present(series.map((xs) => xs[r] ?? null));
    // A precision the CPU cannot run (no AVX512_BF16) leaves the others to choose from.
    return got.length > 0 ? Math.max(...got) : null;
  });
}

/** The rows whose measures ran (at least one side has a figure). */
export function summarise(result: CompareResult): Row[] {
  const rows: Row[] = [];
  for (const spec of ROWS) {
    const mw = side(result, spec.maskwise);
    const peer = side(result, spec.peer);
    const m = median(present(mw));
    const p = median(present(peer));
    if (m === null && p === null) continue;
    const perRoundRatios = present(
      mw.map((x, r) => (x !== null && peer[r] !== null ? x / (peer[r] as number) : null)),
    );
    rows.push({
      label: spec.label,
      unit: spec.unit,
      maskwise: m,
      peer: p,
      ratio: m !== null && p !== null && p > 0 ? m / p : null,
      round_ratios:
        perRoundRatios.length > 0
          ? [Math.min(...perRoundRatios), Math.max(...perRoundRatios)]
          : null,
    });
  }
  return rows;
}

/** 1,234 for figures of 100 and up, three significant digits below. */
export function formatFigure(x: number | null): string {
  if (x === null) return "-";
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString("en-US");
  return x.toPrecision(3);
}

const formatRatio = (x: number | null) => (x === null ? "-" : `${x.toFixed(2)}x`);

/** "PyTorch 2.13.0+cpu (MKL, oneDNN 3.12.0, AVX512, 2 threads, SDPA)" or the reason for none. */
export function describePeer(result: CompareResult): string {
  const t = result.peer?.torch;
  if (!result.peer || !t) return `no PyTorch peer (${result.peer_missing ?? "not run"})`;
  // Debian's build says "generic" and loads whichever libblas.so.3 is installed: name it.
  const lib = t.blas_library
    ?.map((p) => p.split("/").pop() as string)
    .find((n) => /openblas|blis|atlas|mkl/i.test(n));
  const blas = t.blas === "mkl" ? "MKL" : t.blas === "open" ? "OpenBLAS" : t.blas;
  const parts = [
    blas ? `${blas}${lib ? ` (${lib})` : t.blas_library ? " (reference BLAS)" : ""}` : null,
    t.mkldnn ? `oneDNN${t.mkldnn_version ? ` ${t.mkldnn_version}` : ""}` : null,
    t.cpu_capability,
    `${t.threads} thread${t.threads === 1 ? "" : "s"}`,
    t.env.OPENBLAS_NUM_THREADS ? `OpenBLAS ${t.env.OPENBLAS_NUM_THREADS} threads` : null,
    t.mha_uses_sdpa ? "SDPA" : null,
  ].filter((p) => p !== null);
  return `PyTorch ${t.version} (${result.peer.source}: ${parts.join(", ")})`;
}

/** "AMD EPYC; avx512f, avx512_bf16, avx512_vnni; no amx_bf16" */
export function describeCpu(machine: Machine): string {
  const k = machine.kernels;
  const kernels = k
    ? `; maskwise kernels: gemm ${k.gemm}, bfloat16 ${k.bfloat16}, int8 ${k.int8}`
    : "";
  return `${machine.cpu_model}; ${describeFlags(machine.flags)}${kernels}`;
}

/** The markdown table, with a line above it that says where and how it was measured. */
export function markdownTable(result: CompareResult): string {
  const rows = summarise(result);
  const load = result.machine.load_before.map((x) => x.toFixed(1)).join(" / ");
  const lines = [
    `${describeCpu(result.machine)}; ${result.machine.cpus} CPUs, load average ${load} before; ` +
      `Node ${result.machine.node}${result.machine.commit ? `, maskwise ${result.machine.commit.slice(0, 7)}` : ""}; ` +
      `peer: ${describePeer(result)}; ${result.rounds} interleaved round${result.rounds === 1 ? "" : "s"}` +
      `${result.quick ? " (--quick: fewer runs, a smoke test, not figures)" : ""}, medians.`,
    "",
    "| measure | unit | maskwise | peer | maskwise / peer | per round |",
    "|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const range = r.round_ratios
      ? `${r.round_ratios[0].toFixed(2)}-${r.round_ratios[1].toFixed(2)}x`
      : "-";
    lines.push(
      `| ${r.label} | ${r.unit} | ${formatFigure(r.maskwise)} | ${formatFigure(r.peer)} | ${formatRatio(r.ratio)} | ${range} |`,
    );
  }
  // Runs that gave no figure, so that a missing row or a thin median is explained.
  const failed = Object.entries(result.measures).flatMap(([name, m]) =>
    m.errors.map((e) => `- ${name}, ${e}`),
  );
  if (failed.length > 0) lines.push("", "Runs without a figure:", "", ...failed);
  return `${lines.join("\n")}\n`;
}
