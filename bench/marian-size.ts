// A Marian-size model (opus-mt's shapes: d_model 512, 6 + 6 layers, 8 heads, FFN 2048, swish,
// vocabulary 58,101, random weights) in maskwise and in transformers' MarianMTModel with the same
// weights: maskwise writes the model once in transformers' layout (config.json,
// model.safetensors) and each side loads that directory (maskwise through its marian family,
// transformers through MarianMTModel.from_pretrained). Two measures:
//
//   decode      batch 1, a 32-token random source, greedy, exactly --new-tokens new tokens on the
//               KV cache (maskwise: eos ignored; transformers: generate with min_new_tokens =
//               max_new_tokens), tokens/s
//   train-step  one fine-tuning step on a fixed batch (--batch rows of 32 source and 32 target
//               tokens, labels shifted behind the decoder start <pad>): forward, backward, AdamW
//               (lr 5e-5, no weight decay), dropout as the config says (0.1), seconds per step
//
// The two run in separate processes, interleaved round by round (maskwise first in odd rounds,
// transformers first in even ones), so a busy machine slows both alike; each process loads the
// model, checks its evaluation loss on the batch (the same weights give the same loss), warms up
// once and times --reps runs of each measure. A round's figure is the median of its runs; the
// result is the median over rounds. One JSON line per measure and side, then a markdown table.
//
//   npm run build:native
//   node --import tsx bench/marian-size.ts [--rounds 5] [--reps 3] [--new-tokens 32] [--batch 8]
//     [--threads N] [--dir DIR] [--python ~/.cache/hf-oracle-venv/bin/python]
//
// The Python side needs transformers 5.18 and torch 2.13 (bench/pytorch/marian_size.py).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { greedy } from "../src/decode/greedy.js";
import type { EncoderDecoderModel } from "../src/models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../src/models/incremental.js";
import { buildModel, resolveModelConfig } from "../src/models/registry.js";
import { initBackend } from "../src/node/backend.js";
import { loadEncoderDecoder, saveModel } from "../src/node/model-dir.js";
import { AdamW } from "../src/optim/adamw.js";
import { backward, noGrad } from "../src/tensor/autograd.js";
import { getBackend } from "../src/tensor/dispatch.js";
import { Tensor } from "../src/tensor/tensor.js";
import { Rng } from "../src/util/rng.js";
import { runWorker, scriptFlags, sideCommands, timed } from "./two-sides.js";

const me = "bench/marian-size.ts";
const { flag, int } = scriptFlags(me);

/** opus-mt-de-en's config.json keys, as transformers writes them (random weights here). */
export const MARIAN_SIZE = {
  architectures: ["MarianMTModel"],
  model_type: "marian",
  vocab_size: 58101,
  decoder_vocab_size: 58101,
  d_model: 512,
  encoder_layers: 6,
  decoder_layers: 6,
  encoder_attention_heads: 8,
  decoder_attention_heads: 8,
  encoder_ffn_dim: 2048,
  decoder_ffn_dim: 2048,
  activation_function: "swish",
  max_position_embeddings: 512,
  scale_embedding: true,
  share_encoder_decoder_embeddings: true,
  tie_word_embeddings: true,
  dropout: 0.1,
  attention_dropout: 0.0,
  activation_dropout: 0.0,
  init_std: 0.02,
  pad_token_id: 58100,
  eos_token_id: 0,
  decoder_start_token_id: 58100,
  forced_eos_token_id: 0,
  is_encoder_decoder: true,
};

const SOURCE_LEN = 32;
const TARGET_LEN = 32;

/** What both sides read: the decoding source and the training batch, as token ids. */
export interface Inputs {
  source: number[];
  batch: { input_ids: number[][]; decoder_input_ids: number[][]; labels: number[][] };
  new_tokens: number;
}

/** Random ids in [1, V - 1): never eos (0) or pad (V - 1). */
export function makeInputs(rows: number, newTokens: number): Inputs {
  const rng = new Rng(7);
  const V = MARIAN_SIZE.vocab_size;
  const ids = (n: number) => Array.from({ length: n }, () => 1 + rng.int(V - 2));
  const withEos = (n: number) => [...ids(n - 1), MARIAN_SIZE.eos_token_id];
  const labels = Array.from({ length: rows }, () => withEos(TARGET_LEN));
  return {
    source: withEos(SOURCE_LEN),
    batch: {
      input_ids: Array.from({ length: rows }, () => withEos(SOURCE_LEN)),
      labels,
      // transformers' shift_tokens_right: the decoder start, then the labels but the last.
      decoder_input_ids: labels.map((l) => [MARIAN_SIZE.decoder_start_token_id, ...l.slice(0, -1)]),
    },
    new_tokens: newTokens,
  };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const tensor2d = (rows: number[][]) =>
  new Tensor(Int32Array.from(rows.flat()), [rows.length, rows[0].length]);

/** The maskwise side, in this process: {eval_loss, decode_s: [...], train_step_s: [...], ids}. */
function maskwiseWorker(dir: string, reps: number): void {
  initBackend();
  const inputs: Inputs = JSON.parse(readFileSync(join(dir, "inputs.json"), "utf8"));
  const model = loadEncoderDecoder(dir) as EncoderDecoderModel;
  const b = inputs.batch;
  const batch = {
    input_ids: tensor2d(b.input_ids),
    attention_mask: tensor2d(b.input_ids.map((r) => r.map(() => 1))),
    decoder_input_ids: tensor2d(b.decoder_input_ids),
    decoder_attention_mask: tensor2d(b.decoder_input_ids.map((r) => r.map(() => 1))),
    labels: tensor2d(b.labels),
  };
  model.eval();
  const evalLoss = noGrad(() => model.forward(batch).loss?.f32[0] ?? Number.NaN);

  const src = new Tensor(Int32Array.from(inputs.source), [1, inputs.source.length]);
  const srcMask = new Tensor(new Int32Array(inputs.source.length).fill(1), [
    1,
    inputs.source.length,
  ]);
  const cfg = model.config;
  let ids: number[] = [];
  const decode = () => {
    ids = noGrad(
      () =>
        greedy(new Seq2SeqIncremental(model, src, srcMask), {
          startToken: cfg.decoder_start_token_id,
          eosToken: -1,
          maxLength: inputs.new_tokens,
        })[0].tokens,
    );
  };
  const decodeS = timed(decode, reps);

  model.train();
  const opt = new AdamW(model.parameters(), {
    lr: 5e-5,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
  });
  const step = () => {
    opt.zeroGrad({ reuse: true });
    const { loss } = model.forward(batch, { unpad: true });
    if (loss) backward(loss, undefined, { freeIntermediates: true });
    opt.update();
  };
  const stepS = timed(step, reps);
  console.log(
    JSON.stringify({
      side: "maskwise",
      threads: getBackend().threads,
      backend: getBackend().name,
      eval_loss: evalLoss,
      decode_s: decodeS,
      train_step_s: stepS,
      ids,
    }),
  );
}

interface WorkerResult {
  side: string;
  threads: number;
  eval_loss: number;
  decode_s: number[];
  train_step_s: number[];
  ids: number[];
}

function main(): void {
  const dir = flag("dir", join(tmpdir(), "maskwise-marian-size"));
  const reps = int("reps", 3);
  if (process.argv.includes("--worker")) {
    maskwiseWorker(dir, reps);
    return;
  }
  const rounds = int("rounds", 5);
  const newTokens = int("new-tokens", 32);
  const rows = int("batch", 8);
  const threads = int("threads", availableParallelism());
  const python = flag("python", join(homedir(), ".cache", "hf-oracle-venv", "bin", "python"));
  // The model once, in transformers' layout; the inputs each time (they follow the flags).
  if (!existsSync(join(dir, "model.safetensors"))) {
    mkdirSync(dir, { recursive: true });
    console.error(`bench/marian-size.ts: writing the model to ${dir}`);
    const config = resolveModelConfig(MARIAN_SIZE, "marian-size config");
    saveModel(dir, buildModel(config, 1));
  }
  writeFileSync(join(dir, "inputs.json"), JSON.stringify(makeInputs(rows, newTokens)));
  const cmd = sideCommands(
    join(import.meta.dirname, "marian-size.ts"),
    join(import.meta.dirname, "pytorch", "marian_size.py"),
    python,
    dir,
    reps,
    threads,
  );
  const perRound: Record<string, { decode: number[]; step: number[] }> = {
    maskwise: { decode: [], step: [] },
    transformers: { decode: [], step: [] },
  };
  const checks: { eval_loss: Record<string, number>; same_ids: boolean[] } = {
    eval_loss: {},
    same_ids: [],
  };
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ["maskwise", "transformers"] : ["transformers", "maskwise"];
    const got: Record<string, WorkerResult> = {};
    for (const side of order) {
      console.error(`bench/marian-size.ts: round ${r + 1} of ${rounds}, ${side}`);
      got[side] = runWorker<WorkerResult>(
        me,
        side === "maskwise" ? cmd.maskwise : cmd.transformers,
        cmd.env,
        side,
      );
      perRound[side].decode.push(median(got[side].decode_s));
      perRound[side].step.push(median(got[side].train_step_s));
      checks.eval_loss[side] = got[side].eval_loss;
    }
    // transformers forces eos as the last token (forced_eos_token_id 0, as opus-mt's config
    // says); the tokens before it are the same greedy choices on the same weights.
    const m = got.maskwise.ids;
    const t = got.transformers.ids;
    checks.same_ids.push(m.length === t.length && m.slice(0, -1).every((x, i) => x === t[i]));
  }
  const lossGap = Math.abs(checks.eval_loss.maskwise - checks.eval_loss.transformers);
  interface Line {
    side: string;
    measure: string;
    median_s: number;
    tok_s?: number;
    target_tok_s?: number;
    [key: string]: unknown;
  }
  const lines: Line[] = [];
  for (const side of ["maskwise", "transformers"]) {
    const d = median(perRound[side].decode);
    const s = median(perRound[side].step);
    const common = { bench: "marian-size", side, threads, rounds, reps };
    lines.push({
      ...common,
      measure: "decode",
      new_tokens: newTokens,
      median_s: d,
      tok_s: newTokens / d,
      rounds_s: perRound[side].decode,
    });
    lines.push({
      ...common,
      measure: "train-step",
      batch: [rows, SOURCE_LEN, TARGET_LEN],
      median_s: s,
      target_tok_s: (rows * TARGET_LEN) / s,
      rounds_s: perRound[side].step,
    });
  }
  for (const l of lines) console.log(JSON.stringify(l));
  console.log(
    JSON.stringify({
      bench: "marian-size",
      measure: "checks",
      eval_loss: checks.eval_loss,
      eval_loss_gap: lossGap,
      same_greedy_ids_but_last: checks.same_ids,
    }),
  );
  const fig = (side: string, measure: string) =>
    lines.find((l) => l.side === side && l.measure === measure) as Line;
  const dm = fig("maskwise", "decode");
  const dt = fig("transformers", "decode");
  const sm = fig("maskwise", "train-step");
  const st = fig("transformers", "train-step");
  console.log("");
  console.log(
    `| Marian-size (d_model 512, 6+6, V 58,101), ${threads} threads, ${rounds} rounds | maskwise | transformers 5.18 / torch 2.13 | maskwise / transformers |`,
  );
  console.log("|---|---|---|---|");
  console.log(
    `| greedy decoding, batch 1, ${newTokens} new tokens | ${(dm.tok_s as number).toFixed(1)} tok/s | ${(dt.tok_s as number).toFixed(1)} tok/s | ${((dm.tok_s as number) / (dt.tok_s as number)).toFixed(2)}x |`,
  );
  console.log(
    `| fine-tuning step, ${rows} x ${SOURCE_LEN} + ${TARGET_LEN} tokens | ${sm.median_s.toFixed(3)} s | ${st.median_s.toFixed(3)} s | ${(st.median_s / sm.median_s).toFixed(2)}x |`,
  );
  if (!(lossGap < 1e-3)) {
    console.error(
      `bench/marian-size.ts: the two sides' evaluation losses differ by ${lossGap}: not the same model`,
    );
    process.exit(1);
  }
}

// Run as a script (not when a test imports the model's definition).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
