// What crossing into the addon costs per call, apart from the kernel: attentionForward and
// decodeAttention on sizes so small that their kernels do almost nothing, in CPU time per call
// (steadier than wall time on a shared machine), median of 5 rounds of 200,000 calls. A decoding
// step calls decodeAttention twice per layer, so this is the overhead a step pays per layer.
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
const N = 200_000;
/** CPU nanoseconds per call of fn, after a warm-up. */
const cpuNs = (fn: () => void) => {
  for (let i = 0; i < 20_000; i++) fn();
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const t = process.cpuUsage(t0);
  return ((t.user + t.system) * 1000) / N;
};
const rounds: [number, number][] = [];
for (let r = 0; r < 5; r++) {
  rounds.push([
    cpuNs(() => native.attentionForward(attention, out, lse)),
    cpuNs(() => native.decodeAttention(decode)),
  ]);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const result = {
  bench: "binding-calls",
  attention_forward_ns: median(rounds.map((r) => r[0])),
  decode_attention_ns: median(rounds.map((r) => r[1])),
};
if (process.argv.includes("--json")) console.log(JSON.stringify(result));
else for (const [key, value] of Object.entries(result)) console.log(`${key}: ${value}`);
