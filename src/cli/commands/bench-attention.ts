// `maskwise bench attention`: fused attention forward + backward at B=8 H=4 T=256 Dh=64 under a
// causal mask with key padding (lengths spread evenly from T/2 to T), timed three ways in one run:
//   skip:   the fused kernel with block skipping (the default);
//   noskip: the same kernel testing every element (block skipping off);
//   plain:  scores materialised as [B, H, T, T], masked, softmax, times V, from tensor primitives.

import { attention } from "../../attention/fused.js";
import { and, causal, keyPadding } from "../../attention/masks.js";
import { backward } from "../../tensor/autograd.js";
import { getBackend } from "../../tensor/dispatch.js";
import { mul } from "../../tensor/ops/elementwise.js";
import { matmul } from "../../tensor/ops/matmul.js";
import { fillWhereNot } from "../../tensor/ops/select.js";
import { softmax } from "../../tensor/ops/softmax.js";
import { parameter, randn, Tensor } from "../../tensor/tensor.js";
import { Rng } from "../../util/rng.js";
import { type Command, numberFlag, parseFlags } from "../command.js";
import { progress, progressDone } from "../timing.js";

const HELP = `Usage: maskwise bench attention [--json] [--runs N] [--t T]

Times fused attention forward + backward, B=8 H=4 T=256 Dh=64, causal AND key padding with
lengths spread from T/2 to T: with block skipping, without it, and as a plain materialised
softmax, in --runs interleaved rounds (default 5) after two warm-ups each, each variant's timing
in a round spanning about 60 ms of calls: medians per call, and the skip
speedup as the median of the rounds' ratios. The last line with --json:
{"bench":"attention","skip_speedup":…,"plain_speedup":…,"skip_s":…,"noskip_s":…,"plain_s":…,…}`;

export const command: Command = {
  path: ["bench", "attention"],
  summary: "benchmark fused mask-aware attention (forward + backward)",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("bench attention", argv, {
      json: { type: "boolean" },
      runs: { type: "string" },
      t: { type: "string" },
    });
    const runs = numberFlag("bench attention", "runs", values.runs, 5, { min: 1, integer: true });
    const T = numberFlag("bench attention", "t", values.t, 256, { min: 2, integer: true });
    const B = 8;
    const H = 4;
    const Dh = 64;
    const rng = new Rng(1);
    const lengths = Array.from({ length: B }, (_, b) =>
      Math.round(T / 2 + (b * (T / 2)) / (B - 1)),
    );
    const mask = and(causal(), keyPadding(lengths));
    const q = parameter(randn([B, H, T, Dh], rng));
    const k = parameter(randn([B, H, T, Dh], rng));
    const v = parameter(randn([B, H, T, Dh], rng));
    const dout = randn([B, H, T, Dh], rng);
    const step = (f: () => Tensor) => () => {
      q.grad = k.grad = v.grad = null;
      backward(f(), dout);
    };
    const grid = mask.attendGrid(B, T, T);
    const keep = new Tensor(Int32Array.from(grid), [B, 1, T, T]);
    const plain = () =>
      matmul(
        softmax(fillWhereNot(mul(matmul(q, k, { transB: true }), 1 / Math.sqrt(Dh)), keep, -1e30)),
        v,
      );
    // The three are timed in interleaved rounds (each once a round, after two warm-ups of each),
    // so that a machine whose speed drifts during the run slows all three alike and the ratios
    // hold; the skip speedup is the median of each round's ratio. A call of the fused kernel
    // takes some 15 ms, short enough for a scheduler's tick to swing one timing by a third, so
    // each variant's timing in a round covers as many calls as make about 60 ms (per call below).
    const variants = [
      step(() => attention(q, k, v, mask, { skipBlocks: true })),
      step(() => attention(q, k, v, mask, { skipBlocks: false })),
      step(plain),
    ];
    const calls = variants.map((f) => {
      f();
      const t0 = performance.now();
      f();
      return Math.max(1, Math.ceil(60 / Math.max(performance.now() - t0, 1e-3)));
    });
    const times: number[][] = [[], [], []];
    for (let r = 0; r < runs; r++) {
      progress(`bench attention: round ${r + 1}/${runs}`);
      variants.forEach((f, i) => {
        const t0 = performance.now();
        for (let c = 0; c < calls[i]; c++) f();
        times[i].push((performance.now() - t0) / 1000 / calls[i]);
      });
    }
    const [skip, noskip, plainS] = times.map(median);
    const ratios = times[0].map((s, r) => times[1][r] / s);
    progressDone();
    const result = {
      bench: "attention",
      backend: getBackend().name,
      threads: getBackend().threads,
      B,
      H,
      T,
      Dh,
      lengths,
      skip_s: skip,
      noskip_s: noskip,
      plain_s: plainS,
      skip_speedup: median(ratios),
      skip_speedup_rounds: ratios,
      calls_per_round: calls,
      plain_speedup: plainS / skip,
    };
    if (!values.json) {
      console.log(
        `fused attention fwd+bwd, B=${B} H=${H} T=${T} Dh=${Dh}, causal & padding, ${result.backend} backend`,
      );
      console.log(`  with block skipping     ${(skip * 1000).toFixed(1)} ms`);
      console.log(
        `  without block skipping  ${(noskip * 1000).toFixed(1)} ms  (skip speedup ${result.skip_speedup.toFixed(2)}x)`,
      );
      console.log(
        `  materialised softmax    ${(plainS * 1000).toFixed(1)} ms  (fused speedup ${result.plain_speedup.toFixed(2)}x)`,
      );
    }
    console.log(JSON.stringify(result));
    return 0;
  },
};

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
