// Fused attention forward + backward with and without a learned position bias, on the workload
// of `maskwise bench attention` (B=8 H=4 T=256 Dh=64, causal AND key padding with lengths spread
// from T/2 to T): does block skipping keep its gain when a bias [H, T, T] (shared by the batch,
// its gradient computed) is added? The four variants run interleaved, round after round, so a
// busy machine slows them alike; the medians are printed.
// Run: npm run build:native && node --import tsx bench/attention-bias.ts [--runs N] [--json]
import { attention } from "../src/attention/fused.js";
import { and, causal, keyPadding } from "../src/attention/masks.js";
import { nativeBackend } from "../src/node/backend.js";
import { backward } from "../src/tensor/autograd.js";
import { setBackend } from "../src/tensor/dispatch.js";
import { parameter, randn } from "../src/tensor/tensor.js";
import { Rng } from "../src/util/rng.js";

const native = nativeBackend();
if (typeof native === "string") {
  console.error(`bench/attention-bias.ts needs the native backend: ${native}`);
  process.exit(1);
}
setBackend(native);
const at = process.argv.indexOf("--runs");
const runs = at >= 0 ? Number(process.argv[at + 1]) : 7;
const [B, H, T, Dh] = [8, 4, 256, 64];
const rng = new Rng(1);
const lengths = Array.from({ length: B }, (_, b) => Math.round(T / 2 + (b * (T / 2)) / (B - 1)));
const mask = and(causal(), keyPadding(lengths));
const q = parameter(randn([B, H, T, Dh], rng));
const k = parameter(randn([B, H, T, Dh], rng));
const v = parameter(randn([B, H, T, Dh], rng));
const bias = parameter(randn([H, T, T], rng));
const dout = randn([B, H, T, Dh], rng);

const variants = {
  skip: { skipBlocks: true },
  noskip: { skipBlocks: false },
  bias_skip: { skipBlocks: true, bias },
  bias_noskip: { skipBlocks: false, bias },
} as const;
type Name = keyof typeof variants;
const times: Record<Name, number[]> = { skip: [], noskip: [], bias_skip: [], bias_noskip: [] };
const names = Object.keys(variants) as Name[];
for (let round = -2; round < runs; round++) {
  for (const name of names) {
    q.grad = k.grad = v.grad = bias.grad = null;
    const t0 = performance.now();
    backward(attention(q, k, v, mask, variants[name]), dout);
    if (round >= 0) times[name].push((performance.now() - t0) / 1000);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const m = Object.fromEntries(names.map((n) => [`${n}_s`, median(times[n])])) as Record<
  string,
  number
>;
const result = {
  bench: "attention-bias",
  threads: native.threads,
  B,
  H,
  T,
  Dh,
  runs,
  ...m,
  skip_speedup: m.noskip_s / m.skip_s,
  bias_skip_speedup: m.bias_noskip_s / m.bias_skip_s,
};
if (process.argv.includes("--json")) console.log(JSON.stringify(result));
else for (const [key, value] of Object.entries(result)) console.log(`${key}: ${value}`);
