// bench/compare.ts's report on canned inputs: figures read from each bench's JSON line, medians
// over rounds, ratios maskwise / peer, the best-precision row and the markdown table. Nothing is
// timed and no Python runs here.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type CompareResult,
  decodeFigures,
  describeCpu,
  describePeer,
  type Figures,
  formatFigure,
  marianFigures,
  markdownTable,
  matmulFigures,
  median,
  summarise,
  trainStepFigures,
} from "../../bench/compare-report.js";

function canned(measures: Record<string, (Figures | null)[]>, rounds: number): CompareResult {
  return {
    bench: "compare",
    started: "2026-12-06T00:00:00.000Z",
    finished: "2026-12-06T00:05:00.000Z",
    rounds,
    quick: false,
    machine: {
      cpu_model: "Test CPU 9000",
      flags: {
        avx2: true,
        avx512f: true,
        avx512_bf16: true,
        avx512_vnni: true,
        amx_tile: false,
        amx_bf16: false,
        amx_int8: false,
      },
      cpus: 2,
      node: "20.20.2",
      commit: "0123456789abcdef",
      load_before: [0.05, 0.1, 0.2],
    },
    peer: {
      python: "/venv/bin/python",
      source: "wheelhouse",
      env: {},
      torch: {
        version: "2.13.0+cpu",
        python: "/venv/bin/python",
        threads: 2,
        blas: "mkl",
        mkl: true,
        mkldnn: true,
        mkldnn_version: "3.12.0",
        cpu_capability: "AVX512",
        sdpa: true,
        mha_uses_sdpa: true,
        env: {},
      },
    },
    peer_missing: null,
    measures: Object.fromEntries(
      Object.entries(measures).map(([name, r]) => [
        name,
        { command: [name], rounds: r, errors: [] },
      ]),
    ),
  };
}

test("figures come from each bench's JSON line", () => {
  const mw = {
    bench: "matmul",
    peak_gflops: 450,
    results: [
      { m: 128, k: 128, n: 128, gflops: 300, ratio: 0.67 },
      { m: 512, k: 512, n: 512, gflops: 400, ratio: 0.89 },
      { m: 1024, k: 1024, n: 1024, gflops: 380, ratio: 0.84 },
      { m: 1024, k: 256, n: 1024, gflops: 390, ratio: 0.87 },
    ],
  };
  // 128^3 is not one of the table's sizes; the peak is kept for the JSON file.
  assert.deepEqual(matmulFigures(mw), {
    "512": 400,
    "1024": 380,
    "1024x256x1024": 390,
    peak: 450,
  });
  const py = { bench: "matmul-pytorch", results: [{ m: 512, k: 512, n: 512, gflops: 410.5 }] };
  assert.deepEqual(matmulFigures(py), { "512": 410.5 });
  assert.deepEqual(trainStepFigures({ median_step_s: 0.25, tokens_per_s: 4096 }), {
    tokens_per_s: 4096,
  });
  assert.deepEqual(decodeFigures({ greedy_tok_s: 1400, beam5_tok_s: "fast" }), {
    greedy_tok_s: 1400,
    beam5_tok_s: null,
  });
  const marian = marianFigures([
    { bench: "marian-size", side: "maskwise", measure: "decode", tok_s: 80 },
    { bench: "marian-size", side: "transformers", measure: "decode", tok_s: 40 },
    { bench: "marian-size", side: "maskwise", measure: "train-step", target_tok_s: 600 },
    { bench: "marian-size", side: "transformers", measure: "train-step", target_tok_s: 500 },
    { bench: "marian-size", measure: "checks", eval_loss_gap: 1e-6 },
  ]);
  assert.deepEqual(marian, {
    maskwise_decode_tok_s: 80,
    transformers_decode_tok_s: 40,
    maskwise_step_tok_s: 600,
    transformers_step_tok_s: 500,
  });
});

test("medians, ratios on the medians and the per-round range", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
  const result = canned(
    {
      "maskwise decode": [
        { greedy_tok_s: 1000, beam5_tok_s: 600 },
        { greedy_tok_s: 1400, beam5_tok_s: null },
        { greedy_tok_s: 1200, beam5_tok_s: 700 },
      ],
      "pytorch decode": [
        { greedy_tok_s: 500, beam5_tok_s: 300 },
        null, // a failed run: that round has no peer figure
        { greedy_tok_s: 800, beam5_tok_s: 350 },
      ],
    },
    3,
  );
  const rows = summarise(result);
  // Only rows with a figure on either side are kept.
  assert.deepEqual(
    rows.map((r) => r.label),
    ["decode greedy float32", "decode beam 5 float32"],
  );
  const [greedy, beam] = rows;
  assert.equal(greedy.maskwise, 1200);
  assert.equal(greedy.peer, 650);
  assert.equal(greedy.ratio, 1200 / 650);
  // Rounds 1 and 3 have both sides: 1000/500 and 1200/800.
  assert.deepEqual(greedy.round_ratios, [1.5, 2]);
  assert.equal(beam.maskwise, 650);
  assert.equal(beam.peer, 325);
  assert.equal(beam.ratio, 2);
});

test("the best-precision row takes each side's fastest precision round by round", () => {
  const result = canned(
    {
      "maskwise train-step": [{ tokens_per_s: 4000 }, { tokens_per_s: 4200 }],
      "maskwise train-step --bf16": [{ tokens_per_s: 5000 }, { tokens_per_s: 3900 }],
      "pytorch train-step": [{ tokens_per_s: 3000 }, { tokens_per_s: 3100 }],
      "pytorch train-step --bf16": [null, null], // autocast failed: float32 is its best
    },
    2,
  );
  const best = summarise(result).find((r) => r.label === "train step, best precision of each");
  assert.ok(best);
  assert.equal(best.maskwise, (5000 + 4200) / 2);
  assert.equal(best.peer, (3000 + 3100) / 2);
  assert.deepEqual(best.round_ratios, [4200 / 3100, 5000 / 3000]);
  const bf16 = summarise(result).find((r) => r.label.startsWith("train step bfloat16"));
  assert.ok(bf16);
  assert.equal(bf16.peer, null);
  assert.equal(bf16.ratio, null);
});

test("the markdown table says where, with which torch, and formats the figures", () => {
  const result = canned(
    {
      "maskwise matmul": [{ "512": 395.4, "1024": 371.2, "1024x256x1024": 402 }],
      "pytorch matmul": [{ "512": 410, "1024": 380, "1024x256x1024": 401 }],
    },
    1,
  );
  const md = markdownTable(result);
  const lines = md.trimEnd().split("\n");
  assert.match(lines[0], /^Test CPU 9000; avx2, avx512f, avx512_bf16, avx512_vnni; no amx_tile/);
  assert.match(
    lines[0],
    /PyTorch 2\.13\.0\+cpu \(wheelhouse: MKL, oneDNN 3\.12\.0, AVX512, 2 threads, SDPA\)/,
  );
  assert.match(lines[0], /1 interleaved round, medians\.$/);
  assert.match(lines[0], /maskwise 0123456/);
  assert.doesNotMatch(lines[0], /maskwise kernels/);
  result.machine.kernels = {
    gemm: "avx512 12x32",
    bfloat16: "avx512-bf16 12x32",
    int8: "avx512-vnni",
  };
  assert.match(
    markdownTable(result).split("\n")[0],
    /^Test CPU 9000; avx2, avx512f, avx512_bf16, avx512_vnni; no amx_tile, amx_bf16, amx_int8; maskwise kernels: gemm avx512 12x32, bfloat16 avx512-bf16 12x32, int8 avx512-vnni; 2 CPUs/,
  );
  assert.equal(lines[2], "| measure | unit | maskwise | peer | maskwise / peer | per round |");
  assert.equal(lines.length, 4 + 3);
  assert.equal(
    lines[4],
    "| float32 GEMM 512^3 (torch.mm) | GFLOP/s | 395 | 410 | 0.96x | 0.96-0.96x |",
  );
  assert.equal(
    lines[6],
    "| float32 GEMM M1024·K256·N1024 (torch.mm) | GFLOP/s | 402 | 401 | 1.00x | 1.00-1.00x |",
  );
  assert.equal(formatFigure(1399.6), "1,400");
  assert.equal(formatFigure(42.123), "42.1");
  assert.equal(formatFigure(null), "-");
});

test("a run without a peer says why, and a quick run says it is no figure", () => {
  const result = canned({ "maskwise decode": [{ greedy_tok_s: 900, beam5_tok_s: 500 }] }, 1);
  result.peer = null;
  result.peer_missing = "/usr/bin/python3: No module named 'torch'";
  result.quick = true;
  const md = markdownTable(result);
  assert.match(md, /no PyTorch peer \(\/usr\/bin\/python3: No module named 'torch'\)/);
  assert.match(md, /--quick: fewer runs, a smoke test, not figures/);
  assert.match(md, /\| decode greedy float32 \| tok\/s \| 900 \| - \| - \| - \|/);
  assert.doesNotMatch(md, /Runs without a figure/);
  result.measures["marian-size"] = {
    command: ["marian-size"],
    rounds: [null],
    errors: ["round 1: bench/marian-size.ts is absent"],
  };
  const withFailure = markdownTable(result);
  assert.match(
    withFailure,
    /Runs without a figure:\n\n- marian-size, round 1: bench\/marian-size\.ts is absent\n$/,
  );
  // A measure with no figure in any round adds no row.
  assert.doesNotMatch(withFailure, /Marian-size greedy/);
  assert.equal(
    describeCpu({ ...result.machine, flags: {} }),
    "Test CPU 9000; none of the recorded flags",
  );
});

test("Debian's generic build names the BLAS it loaded, with OpenBLAS's threads", () => {
  const result = canned({}, 1);
  result.peer = {
    python: "/usr/bin/python3",
    source: "debian",
    env: { OPENBLAS_NUM_THREADS: "2" },
    torch: {
      version: "1.13.0a0",
      python: "/usr/bin/python3",
      threads: 1,
      blas: "generic",
      blas_library: [
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
        "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so",
      ],
      mkl: false,
      mkldnn: true,
      mkldnn_version: "2.6.3",
      cpu_capability: null,
      sdpa: false,
      mha_uses_sdpa: false,
      env: { OPENBLAS_NUM_THREADS: "2" },
    },
  };
  assert.equal(
    describePeer(result),
    "PyTorch 1.13.0a0 (debian: generic (libopenblasp-r0.3.21.so), oneDNN 2.6.3, 1 thread, OpenBLAS 2 threads)",
  );
  // The reference BLAS (no optimised library among those loaded) is said as such.
  if (result.peer.torch)
    result.peer.torch.blas_library = ["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"];
  assert.match(describePeer(result), /generic \(reference BLAS\)/);
});
