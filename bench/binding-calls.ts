// What crossing into the addon costs per call, apart from the kernel: GEMM, a few small kernels,
// attentionForward and decodeAttention on sizes so small that their kernels do almost nothing,
// in CPU time per call (steadier than wall time on a shared machine), median of 5 rounds of
// 200,000 calls. Each call builds its argument object as the library's call sites do (an object
// literal per call). A decoding step calls GEMM and the small kernels thousands of times and
// decodeAttention twice per layer, so this is the overhead a step pays per call.
// Run: npm run build:native && node --import tsx bench/binding-calls.ts [--json]
import { nativeBackend } from "../src/node/backend.js";
import type { AttentionArgs, DecodeAttentionArgs } from "../src/tensor/backend.js";

const native = nativeBackend();
if (typeof native === "string") {
  console.error(`bench/binding-calls.ts needs the native backend: ${native}`);
  process.exit(1);
}
const f = (n: number) => new Float32Array(n).fill(0.5);
const attention: AttentionArgs = {
  B: 1,
  H: 1,
  Tq: 1,
  Tk: 4,
  Dh: 8,
  q: f(8),
  k: f(32),
  v: f(32),
  attend: new Uint8Array(4).fill(1),
  maskBatch: 1,
  blocks: new Uint8Array(1).fill(1),
  blockQ: 32,
  blockK: 32,
  scale: 0.3,
  skipBlocks: true,
  dropout: 0,
  seed: 0,
};
const out = f(8);
const lse = f(1);
const decode: DecodeAttentionArgs = {
  R: 1,
  H: 4,
  Dh: 16,
  q: f(64),
  k: f(4 * 8 * 16),
  v: f(4 * 8 * 16),
  P: 1,
  capacity: 8,
  length: 6,
  rows: Int32Array.of(0),
  keep: null,
  keepStride: 0,
  slots: null,
  slotStride: 0,
  scale: 0.25,
  out: f(64),
};
// Operands of the small kernels: 4 x 4 matrices, rows of 8.
const a = f(16);
const b = f(16);
const c = f(16);
const x = f(8);
const y = f(8);
const gamma = f(8);
const beta = f(8);
const mean = f(1);
const rstd = f(1);
const targets = Int32Array.of(3);
const ids = Int32Array.of(1);
const table = f(16);
const m = f(8);
const v = f(8);

const calls: Record<string, () => void> = {
  gemm_4x4x4_ns: () =>
    native.gemm({
      batch: 1,
      m: 4,
      n: 4,
      k: 4,
      transA: false,
      transB: true,
      alpha: 1,
      beta: 0,
      a,
      aOffset: 0,
      lda: 4,
      strideA: 0,
      b,
      bOffset: 0,
      ldb: 4,
      strideB: 0,
      c,
      cOffset: 0,
      ldc: 4,
      strideC: 0,
    }),
  unary_ns: () => native.unary({ op: "relu", x, out: y, n: 8 }),
  layer_norm_ns: () =>
    native.layerNorm({ x, gamma, beta, out: y, mean, rstd, rows: 1, cols: 8, eps: 1e-5 }),
  softmax_ns: () => native.softmax({ x, out: y, rows: 1, cols: 8, log: false }),
  cross_entropy_ns: () =>
    native.crossEntropy({
      logits: x,
      targets,
      loss: mean,
      lse: rstd,
      rows: 1,
      V: 8,
      ignoreIndex: -100,
      smoothing: 0,
    }),
  gather_ns: () => native.gather({ table, ids, out: y, rows: 1, cols: 8, numRows: 2 }),
  adamw_ns: () =>
    native.adamw({
      p: y,
      g: x,
      m,
      v,
      n: 8,
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      step: 1,
    }),
  attention_forward_ns: () => native.attentionForward(attention, out, lse),
  decode_attention_ns: () => native.decodeAttention(decode),
};

const N = 200_000;
/** CPU nanoseconds per call of fn, after a warm-up. */
const cpuNs = (fn: () => void) => {
  for (let i = 0; i < 20_000; i++) fn();
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / N;
};
const rounds: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((k) => [k, []]));
for (let r = 0; r < 5; r++)
  for (const [name, fn] of Object.entries(calls)) rounds[name].push(cpuNs(fn));
const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
const result: Record<string, string | number> = { bench: "binding-calls" };
for (const [name, xs] of Object.entries(rounds)) result[name] = Math.round(median(xs));
if (process.argv.includes("--json")) console.log(JSON.stringify(result));
else for (const [key, value] of Object.entries(result)) console.log(`${key}: ${value}`);
