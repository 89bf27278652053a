// Peak memory and speed of LoRA training steps on a Llama-architecture model of about 0.5B
// parameters with random weights, shaped as Qwen2-0.5B (hidden 896, 24 layers, 14 query heads
// on 2 key/value heads, intermediate 4864, vocabulary 151936, tied embeddings): a rank-8 adapter
// on q_proj and v_proj, the frozen base held in bfloat16 (--base-precision float32 to compare),
// batch 1 x 512 tokens, AdamW on the adapter. One warm-up step, then --steps timed ones.
// Run: node --import tsx bench/lora-memory.ts [--json] [--steps N] [--seq T]
//        [--base-precision bfloat16|float32] [--precision float32|bfloat16] [--toy]
// --toy shrinks the model to a few thousand parameters (for tests). The last line with --json:
// {"bench":"lora-step","parameters":…,"base_precision":…,"seq":…,"peak_rss_mb":…,
//  "build_peak_rss_mb":…,"tokens_per_s":…,"median_step_s":…,"losses":[…]}
// peak_rss_mb is process.resourceUsage().maxRSS over the whole run (building the model
// included), in MiB; build_peak_rss_mb the same once the model is built and its base held,
// before the first step. A bfloat16 base is built in bfloat16 from the start (buildHeldBf16, as
// a LoRA run builds and loads its --init-from model), so no float32 copy of it ever exists.
import { parseArgs } from "node:util";
import { llamaConfig } from "../src/models/families/llama/config.js";
import { LlamaForCausalLM } from "../src/models/families/llama/model.js";
import { attachAdapter, newAdapterConfig } from "../src/models/peft.js";
import { heldWeightCount, holdFrozenWeightsBf16 } from "../src/nn/frozen-bf16.js";
import { buildHeldBf16 } from "../src/nn/layers.js";
import { nativeBackend } from "../src/node/backend.js";
import { AdamW } from "../src/optim/adamw.js";
import { backward } from "../src/tensor/autograd.js";
import { setBackend } from "../src/tensor/dispatch.js";
import { type MatmulPrecision, withMatmulPrecision } from "../src/tensor/precision.js";
import { Tensor } from "../src/tensor/tensor.js";
import { Rng } from "../src/util/rng.js";

const { values } = parseArgs({
  options: {
    json: { type: "boolean" },
    toy: { type: "boolean" },
    steps: { type: "string", default: "3" },
    seq: { type: "string" },
    "base-precision": { type: "string", default: "bfloat16" },
    precision: { type: "string", default: "float32" },
  },
});
const fail = (what: string): never => {
  console.error(`bench/lora-memory.ts: ${what}`);
  process.exit(2);
};
const steps = Number(values.steps);
if (!(Number.isInteger(steps) && steps >= 1)) fail(`--steps must be a positive integer`);
const basePrecision = values["base-precision"];
if (basePrecision !== "bfloat16" && basePrecision !== "float32")
  fail("--base-precision must be bfloat16 or float32");
const precision = values.precision as MatmulPrecision;
if (precision !== "bfloat16" && precision !== "float32")
  fail("--precision must be float32 or bfloat16");

// Qwen2-0.5B's shape (its config.json), or a toy one.
const shape = values.toy
  ? { hidden: 32, layers: 2, heads: 4, kv: 2, inter: 64, vocab: 300, seq: 24 }
  : { hidden: 896, layers: 24, heads: 14, kv: 2, inter: 4864, vocab: 151936, seq: 512 };
const T = values.seq === undefined ? shape.seq : Number(values.seq);
if (!(Number.isInteger(T) && T >= 2)) fail("--seq must be an integer of at least 2");

const native = nativeBackend();
if (typeof native !== "string") setBackend(native);
const log = (s: string) => {
  if (!values.json) console.error(s);
};

const config = llamaConfig(
  "qwen2",
  {
    model_type: "qwen2",
    vocab_size: shape.vocab,
    hidden_size: shape.hidden,
    intermediate_size: shape.inter,
    num_hidden_layers: shape.layers,
    num_attention_heads: shape.heads,
    num_key_value_heads: shape.kv,
    max_position_embeddings: 32768,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    bos_token_id: 0,
    eos_token_id: 1,
    pad_token_id: 2,
  },
  "bench/lora-memory.ts",
);
let t0 = performance.now();
const build = () => new LlamaForCausalLM(config, 1);
const model = basePrecision === "bfloat16" ? buildHeldBf16(build) : build();
const parameters = heldWeightCount(model);
log(`built ${parameters} parameters in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const adapter = newAdapterConfig(model, {
  r: 8,
  alpha: 16,
  dropout: 0,
  targets: ["q_proj", "v_proj"],
  base: null,
});
attachAdapter(model, adapter, 1);
if (basePrecision === "bfloat16") {
  const held = holdFrozenWeightsBf16(model);
  log(
    `${held.layers.length} layers and ${held.tables.length} tables held in bfloat16, ${(held.freed / 2 ** 20).toFixed(1)} MiB freed`,
  );
}
// The peak so far: building the model (in float32) and holding its base.
const buildPeak = process.resourceUsage().maxRSS / 1024;
model.train();
const trainable = model.parameters().filter((p) => p.requiresGrad);
const optimizer = new AdamW(trainable, { lr: 1e-4 });

const rng = new Rng(2);
const ids = new Int32Array(T);
const labels = new Int32Array(T);
for (let t = 0; t < T; t++) ids[t] = 3 + rng.int(shape.vocab - 3);
// Position t predicts token t + 1; the last predicts nothing.
for (let t = 0; t < T; t++) labels[t] = t + 1 < T ? ids[t + 1] : -100;
const batch = {
  input_ids: new Tensor(ids, [1, T]),
  attention_mask: new Tensor(new Int32Array(T).fill(1), [1, T]),
  labels: new Tensor(labels, [1, T]),
};

const times: number[] = [];
const losses: number[] = [];
for (let s = 0; s <= steps; s++) {
  t0 = performance.now();
  optimizer.zeroGrad({ reuse: true });
  withMatmulPrecision(precision, () => {
    const { loss } = model.forward(batch);
    if (!loss) throw new Error("no loss");
    losses.push(loss.item());
    backward(loss, undefined, { freeIntermediates: true });
  });
  optimizer.update();
  const dt = (performance.now() - t0) / 1000;
  if (s > 0) times.push(dt);
  log(`step ${s}${s === 0 ? " (warm-up)" : ""}: loss ${losses[s].toFixed(4)}, ${dt.toFixed(2)} s`);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)];
const peak = process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
const result = {
  bench: "lora-step",
  parameters,
  base_precision: basePrecision,
  precision,
  backend: typeof native === "string" ? "reference" : "native",
  seq: T,
  peak_rss_mb: Math.round(peak),
  build_peak_rss_mb: Math.round(buildPeak),
  tokens_per_s: Number((T / median).toFixed(1)),
  median_step_s: Number(median.toFixed(3)),
  losses: losses.map((l) => Number(l.toFixed(5))),
};
if (values.json) console.log(JSON.stringify(result));
else
  console.log(
    `peak RSS ${result.peak_rss_mb} MiB, ${result.tokens_per_s} tokens/s (median step ${result.median_step_s} s)`,
  );
