// Two builds of the addon against each other on the float32 GEMM, in one process: both files are
// loaded side by side (each keeps its own symbols and thread pool), and each round times one run
// of every shape on each, the order alternating by round, so that a slow stretch of a shared
// machine falls on both alike. Prints, per shape, each build's median GFLOP/s and the median and
// quartiles of the per-round ratio B / A (above 1: B is faster).
//
//   cp build/Release/maskwise_native.node /tmp/a.node     # before a change
//   npm run build:native                                   # after it
//   node --import tsx bench/gemm-ab.ts --a /tmp/a.node --b build/Release/maskwise_native.node \
//     [--rounds 20] [--threads 2] [--shapes 512x512x512,1024x1024x1024,1024x256x1024] [--trans-a]
//     [--trans-b]
//
// A shape is MxKxN (C[M, N] = op(A)[M, K] op(B)[K, N]); --trans-a reads A stored [K, M], as a
// weight gradient reads the output gradient; --trans-b reads B stored [N, K], as a weight in the
// forward pass is.
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { type NativeAddon, NativeBackend } from "../src/backend/native.js";
import type { GemmArgs } from "../src/tensor/backend.js";
import { Rng } from "../src/util/rng.js";
import { scriptArgs } from "./script-args.js";

const ME = "bench/gemm-ab.ts";
const args = scriptArgs(
  ME,
  ["--a", "--b", "--rounds", "--threads", "--shapes"],
  ["--trans-a", "--trans-b"],
);
const files = ["--a", "--b"].map((flag) => {
  const path = args.value(flag) ?? args.fail(`${flag} is missing`, flag, "name an addon file");
  return resolve(path);
});
const rounds = args.positiveInt("--rounds", 20);
const threads = args.positiveInt("--threads", 2);
const transA = args.has("--trans-a");
const transB = args.has("--trans-b");
const shapes = (args.value("--shapes") ?? "512x512x512,1024x1024x1024,1024x256x1024")
  .split(",")
  .map((s) => {
    const dims = s.split("x").map(Number);
    if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0))
      args.fail(`shape ${s} is not MxKxN`, "--shapes", "write e.g. 512x512x512");
    return dims as [number, number, number];
  });

const require = createRequire(import.meta.url);
const backends = files.map((file) => {
  const addon = require(file) as NativeAddon;
  addon.setThreads(threads);
  return new NativeBackend(addon);
});

const rng = new Rng(1);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.uniform() - 0.5);
const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];
const quartile = (v: number[], q: number) =>
  [...v].sort((x, y) => x - y)[Math.floor(q * (v.length - 1))];

console.log(`A ${files[0]}\nB ${files[1]}\n${threads} thread(s), ${rounds} rounds`);
for (const [m, k, n] of shapes) {
  const g: GemmArgs = {
    batch: 1,
    m,
    n,
    k,
    transA,
    transB,
    alpha: 1,
    beta: 0,
    a: rand(m * k),
    aOffset: 0,
    lda: transA ? m : k,
    strideA: 0,
    b: rand(k * n),
    bOffset: 0,
    ldb: transB ? k : n,
    strideB: 0,
    c: new Float32Array(m * n),
    cOffset: 0,
    ldc: n,
    strideC: 0,
  };
  const flops = 2 * m * n * k;
  // About 0.1 s a run at 90 GFLOP/s per thread.
  const reps = Math.max(1, Math.round((0.1 * 90e9 * threads) / flops));
  const gflops = (be: NativeBackend) => {
    be.gemm(g); // the other build and shape left other data in the caches
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) be.gemm(g);
    return (flops * reps) / ((performance.now() - t0) / 1000) / 1e9;
  };
  const rates: number[][] = [[], []];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const first = r % 2;
    const got = [0, 0];
    got[first] = gflops(backends[first]);
    got[1 - first] = gflops(backends[1 - first]);
    rates[0].push(got[0]);
    rates[1].push(got[1]);
    ratios.push(got[1] / got[0]);
  }
  const f = (x: number, d: number) => x.toFixed(d);
  console.log(
    `${m}x${k}x${n}${transA ? " (A transposed)" : ""}${transB ? " (B transposed)" : ""}: A ${f(median(rates[0]), 1)}, B ${f(median(rates[1]), 1)} GFLOP/s; B / A ${f(median(ratios), 3)} (quartiles ${f(quartile(ratios, 0.25), 3)}-${f(quartile(ratios, 0.75), 3)})`,
  );
}
