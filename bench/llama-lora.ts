// A Llama config of 100.1M parameters (bench/llama-lora-report.ts: hidden 768, 12 layers, 12
// query and 4 key/value heads, SwiGLU 2048, vocabulary 32,000, tied head; random weights) with a
// LoRA adapter (r 8, alpha 16, q_proj and v_proj), in maskwise and in transformers' LlamaForCausalLM
// with PEFT on the same weights: maskwise writes the model once in transformers' layout
// (config.json, model.safetensors) and the fresh adapter in PEFT's (adapter/adapter_config.json,
// adapter/adapter_model.safetensors); maskwise loads both with loadDecoderOnly and loadAdapter,
// transformers with LlamaForCausalLM.from_pretrained and PeftModel.from_pretrained(is_trainable),
// so both hold the same base and the same A and B. Two measures, each in float32 and with
// bfloat16 products (maskwise: --precision bfloat16, its matrix products on operands rounded to
// bfloat16; transformers: torch.autocast("cpu", dtype=torch.bfloat16)):
//
//   train-step  one LoRA step on a fixed batch (--batch rows of --seq tokens, labels the ids):
//               forward, loss, backward, AdamW (lr 1e-4, no weight decay) on the adapter alone
//   decode      batch 1, a fixed --prompt-token prompt, greedy, exactly --new-tokens new tokens
//               on the KV cache (eos allowed only after that many: transformers' min_new_tokens);
//               the peer's also on a bfloat16 copy of its model (model.to(torch.bfloat16), the
//               weights cast once as maskwise's bfloat16 copies are, where autocast casts them
//               again for every token), a second row against maskwise's bfloat16
//
// Each side runs in its own process, interleaved round by round (maskwise first in odd rounds,
// transformers first in even ones), so a busy stretch of the machine falls on both; a process
// loads the model, checks the float32 loss of the batch before and after one step and the float32
// greedy ids (printed as checks: the two sides must agree, or the run fails), warms each measure
// up once and times --reps runs. A round's figure is the median of its runs, the result the median
// over rounds. Prints one JSON line per side, measure and precision, a checks line and a summary
// line (ratios maskwise / transformers on tokens/s, the CPU), then the markdown table.
//
//   npm run build:native
//   node --import tsx bench/llama-lora.ts [--rounds 5] [--reps 2] [--batch 4] [--seq 256]
//     [--prompt 32] [--new-tokens 64] [--threads N] [--dir DIR] [--out PREFIX] [--force] [--quick]
//     [--precision float32|bfloat16]
//     [--python ~/.cache/hf-oracle-venv/bin/python]
//
// --precision times that precision alone on both sides (both unless given: on a CPU without
// bfloat16 instructions the peer's autocast step takes minutes). --quick: one round of one timed run, 2 x 64 tokens, 8 new tokens, on a 4.4M-parameter model of
// the same shape (its own directory): a smoke test of the whole chain, not figures. --out writes
// PREFIX.jsonl (the lines) and PREFIX.md (the table) besides, rewritten after every round (an
// existing pair is kept unless --force); each side's medians go to stderr as soon as it finishes. The Python side needs transformers
// 5.18, PEFT and torch 2.13 (bench/pytorch/llama_lora.py).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { greedy } from "../src/decode/greedy.js";
import { DecoderOnlyIncremental, decodingBf16Weights } from "../src/models/incremental.js";
import { attachAdapter, newAdapterConfig } from "../src/models/peft.js";
import { buildModel, resolveModelConfig } from "../src/models/registry.js";
import { loadAdapter, saveAdapter } from "../src/node/adapter.js";
import { initBackend } from "../src/node/backend.js";
import { loadDecoderOnly, saveModel } from "../src/node/model-dir.js";
import { AdamW } from "../src/optim/adamw.js";
import { backward, noGrad } from "../src/tensor/autograd.js";
import { getBackend } from "../src/tensor/dispatch.js";
import { withMatmulPrecision } from "../src/tensor/precision.js";
import { Tensor } from "../src/tensor/tensor.js";

type MatmulPrecision = "float32" | "bfloat16";

import {
  compareSides,
  type Inputs,
  key,
  LLAMA_100M,
  LLAMA_QUICK,
  type LlamaJson,
  LORA,
  llamaParameters,
  loraParameters,
  makeInputs,
  markdownTable,
  measureLines,
  median,
  ROWS,
  type Rounds,
  type RunInfo,
  ratio,
  rowName,
  type Side,
  shiftedLabels,
  type WorkerResult,
} from "./llama-lora-report.js";
import { runWorker, scriptFlags, sideCommands, timed } from "./two-sides.js";

const me = "bench/llama-lora.ts";
const { has, flag, int } = scriptFlags(me);

const tensor2d = (rows: number[][]) =>
  new Tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);

/** The maskwise side, in this process: prints a WorkerResult line. */
function maskwiseWorker(dir: string, reps: number, precisions: readonly MatmulPrecision[]): void {
  initBackend();
  const inputs: Inputs = JSON.parse(readFileSync(join(dir, "inputs.json"), "utf8"));
  const model = loadDecoderOnly(dir);
  loadAdapter(model, join(dir, "adapter"));
  const cfg = model.config;
  const batch = {
    input_ids: tensor2d(inputs.input_ids),
    attention_mask: tensor2d(inputs.input_ids.map((r) => r.map(() => 1))),
    labels: tensor2d(shiftedLabels(inputs.input_ids)),
  };
  const lm = model as unknown as {
    forward(b: typeof batch, o?: { unpad?: boolean }): { loss: Tensor | null };
    train(): void;
    eval(): void;
  };
  lm.eval();
  const evalLoss = noGrad(() => lm.forward(batch).loss?.f32[0] ?? Number.NaN);

  // Decoding: the prompt through the layers' tensor path (the caller's precision), then the
  // steps, on bfloat16 copies of the weights under bfloat16.
  const P = inputs.prompt.length;
  const prompt = new Tensor(Int32Array.from(inputs.prompt), [1, P]);
  const promptMask = new Tensor(new Int32Array(P).fill(1), [1, P]);
  const N = inputs.new_tokens;
  const bf16 = decodingBf16Weights(model);
  const decode = (precision: "float32" | "bfloat16") =>
    withMatmulPrecision(precision, () =>
      noGrad(
        () =>
          greedy(
            new DecoderOnlyIncremental(
              model,
              prompt,
              promptMask,
              precision === "bfloat16" ? { weights: bf16 } : {},
            ),
            {
              startToken: cfg.bos_token_id,
              eosToken: cfg.eos_token_id,
              maxLength: N,
              minLength: N,
            },
          )[0],
      ),
    );
  const checked = decode("float32");
  const seconds: Record<string, number[]> = {};
  for (const p of precisions) seconds[key("decode", p)] = timed(() => decode(p), reps);

  // Training: the adapter's parameters alone (loadAdapter froze the base).
  lm.train();
  const params = model.parameters().filter((p) => p.requiresGrad);
  const opt = new AdamW(params, {
    lr: inputs.lr,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
  });
  let last = Number.NaN;
  const step = (precision: "float32" | "bfloat16") => {
    opt.zeroGrad({ reuse: true });
    withMatmulPrecision(precision, () => {
      const { loss } = lm.forward(batch, { unpad: true });
      if (!loss) throw new Error("the training batch gave no loss");
      last = loss.item();
      backward(loss, undefined, { freeIntermediates: true });
    });
    opt.update();
  };
  // The check: the first step's loss is evalLoss; the second's follows one AdamW update.
  step("float32");
  step("float32");
  const lossAfterStep = last;
  for (const p of precisions) seconds[key("train-step", p)] = timed(() => step(p), reps);
  const result: WorkerResult = {
    side: "maskwise",
    threads: getBackend().threads,
    versions: { node: process.versions.node, backend: getBackend().name },
    eval_loss: evalLoss,
    loss_after_step: lossAfterStep,
    ids: checked.tokens,
    log_prob: checked.logProb,
    seconds,
  };
  console.log(JSON.stringify(result));
}

/** lscpu's model name (os.cpus() where lscpu is missing). */
function cpuModel(): string {
  const r = spawnSync("lscpu", [], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  const line = (r.stdout ?? "").split("\n").find((l) => /^Model name:/.test(l));
  return line ? line.replace(/^Model name:\s*/, "").trim() : (cpus()[0]?.model ?? "unknown CPU");
}

/** Writes the model (random weights) and a fresh adapter into `dir`, once. */
function writeModel(dir: string, json: LlamaJson): void {
  if (existsSync(join(dir, "model.safetensors")) && existsSync(join(dir, "adapter"))) return;
  mkdirSync(join(dir, "adapter"), { recursive: true });
  console.error(`${me}: writing the model and its adapter to ${dir}`);
  const config = resolveModelConfig(structuredClone(json), `${me} config`);
  const model = buildModel(config, 1);
  saveModel(dir, model);
  const adapter = newAdapterConfig(model, { ...LORA, base: dir });
  attachAdapter(model, adapter, 2);
  saveAdapter(join(dir, "adapter"), model, dir);
}

function main(): void {
  const quick = has("quick");
  const json = quick ? LLAMA_QUICK : LLAMA_100M;
  const dir = flag(
    "dir",
    join(tmpdir(), quick ? "maskwise-llama-lora-quick" : "maskwise-llama-lora-100m"),
  );
  const reps = int("reps", quick ? 1 : 2);
  const precision = flag("precision", "");
  if (precision !== "" && precision !== "float32" && precision !== "bfloat16") {
    console.error(
      `${me}: --precision must be float32 or bfloat16 (both unless given): got '${precision}'`,
    );
    process.exit(2);
  }
  const precisions: MatmulPrecision[] = precision === "" ? ["float32", "bfloat16"] : [precision];
  if (has("worker")) {
    maskwiseWorker(dir, reps, precisions);
    return;
  }
  const rounds = int("rounds", quick ? 1 : 5);
  const rows = int("batch", quick ? 2 : 4);
  const seq = int("seq", quick ? 64 : 256);
  const promptLen = int("prompt", quick ? 16 : 32);
  const newTokens = int("new-tokens", quick ? 8 : 64);
  const threads = int("threads", availableParallelism());
  const python = flag("python", join(homedir(), ".cache", "hf-oracle-venv", "bin", "python"));
  const out = flag("out", "");
  for (const p of out ? [`${out}.jsonl`, `${out}.md`] : []) {
    if (existsSync(p) && !has("force")) {
      console.error(`${me}: ${p} exists: choose another --out or pass --force`);
      process.exit(2);
    }
  }
  if (!existsSync(python)) {
    console.error(
      `${me}: no Python for the transformers side (${python}): pass --python with transformers 5.18, PEFT and torch 2.13`,
    );
    process.exit(2);
  }
  writeModel(dir, json);
  writeFileSync(
    join(dir, "inputs.json"),
    JSON.stringify(makeInputs(json, { batch: rows, seq, prompt: promptLen, newTokens })),
  );
  const cmd = sideCommands(
    join(import.meta.dirname, "llama-lora.ts"),
    join(import.meta.dirname, "pytorch", "llama_lora.py"),
    python,
    dir,
    reps,
    threads,
  );
  if (precision !== "") {
    cmd.maskwise.push("--precision", precision);
    cmd.transformers.push("--precision", precision);
  }
  const perRound: Rounds = { maskwise: {}, transformers: {} };
  let report: ReturnType<typeof summarize> | undefined;
  for (let r = 0; r < rounds; r++) {
    const order: Side[] = r % 2 === 0 ? ["maskwise", "transformers"] : ["transformers", "maskwise"];
    const got: Partial<Record<Side, WorkerResult>> = {};
    for (const side of order) {
      console.error(`${me}: round ${r + 1} of ${rounds}, ${side}`);
      const w = runWorker<WorkerResult>(
        me,
        side === "maskwise" ? cmd.maskwise : cmd.transformers,
        cmd.env,
        side,
      );
      got[side] = w;
      const medians: string[] = [];
      for (const [k, xs] of Object.entries(w.seconds)) {
        const series = perRound[side][k] ?? [];
        series.push(median(xs));
        perRound[side][k] = series;
        medians.push(`${k} ${median(xs).toFixed(3)} s`);
      }
      // Each side takes minutes a round on a small CPU: its figures as soon as it has them.
      console.error(`${me}: round ${r + 1}, ${side}: ${medians.join(", ")}`);
    }
    report = summarize(
      { quick, json, rows, seq, promptLen, newTokens, rounds: r + 1, reps, threads },
      perRound,
      got as Record<Side, WorkerResult>,
    );
    // Rewritten after every round, so that an interrupted run keeps the rounds it finished.
    if (out) {
      writeFileSync(`${out}.jsonl`, `${report.text.join("\n")}\n`);
      writeFileSync(`${out}.md`, report.table);
    }
  }
  if (!report) return;
  console.log(report.text.join("\n"));
  console.log("");
  console.log(report.table);
  if (!report.checks.ok) {
    console.error(
      `${me}: the two sides do not compute the same thing (${JSON.stringify(report.checks)}): the figures compare different computations`,
    );
    process.exit(1);
  }
}

/** The lines, checks and table of the rounds so far (the checks from the latest round). */
function summarize(
  run: {
    quick: boolean;
    json: LlamaJson;
    rows: number;
    seq: number;
    promptLen: number;
    newTokens: number;
    rounds: number;
    reps: number;
    threads: number;
  },
  perRound: Rounds,
  last: Record<Side, WorkerResult>,
): { text: string[]; table: string; checks: ReturnType<typeof compareSides> } {
  const checks = compareSides(last.maskwise, last.transformers);
  const info: RunInfo = {
    model: run.quick ? "Llama config (quick)" : "Llama config",
    parameters: llamaParameters(run.json),
    lora_parameters: loraParameters(run.json),
    batch: [run.rows, run.seq],
    prompt: run.promptLen,
    new_tokens: run.newTokens,
    rounds: run.rounds,
    reps: run.reps,
    threads: run.threads,
    quick: run.quick,
    cpu_model: cpuModel(),
    versions: { ...(last.transformers.versions ?? {}), node: process.versions.node },
  };
  const lines = measureLines(info, perRound);
  const summary = {
    bench: "llama-lora",
    measure: "summary",
    ...info,
    ratios: Object.fromEntries(ROWS.map((row) => [rowName(row), ratio(lines, row)])),
  };
  const text = [
    ...lines.map((l) => JSON.stringify(l)),
    JSON.stringify({ bench: "llama-lora", measure: "checks", ...checks }),
    JSON.stringify(summary),
  ];
  return { text, table: markdownTable(info, lines), checks };
}

// Run as a script (not when a test imports it).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
