// `maskwise bench train-step`: the reference training step of ../shared/bench/train-step.json
// (PyTorch runs the same file): a pre-norm 3+3 encoder-decoder, d_model 256, batch 32 x 32 with
// row b holding 32 - 2 * (b % 8) real tokens, Adam at lr 1e-4; 2 warm-up steps, then the median
// of 10 steps of forward + backward + update.
import { existsSync, readFileSync } from "node:fs";
import { resolveConfig } from "../../models/config.js";
import { EncoderDecoderModel } from "../../models/encoder-decoder.js";
import { AdamW } from "../../optim/adamw.js";
import { backward } from "../../tensor/autograd.js";
import { getBackend } from "../../tensor/dispatch.js";
import { withMatmulPrecision } from "../../tensor/precision.js";
import { Tensor } from "../../tensor/tensor.js";
import { MaskwiseError } from "../../util/errors.js";
import { Rng } from "../../util/rng.js";
import { type Command, parseFlags } from "../command.js";
import { progress, progressDone, timeMedian } from "../timing.js";

/** The benchmark's model as maskwise config keys (tests check it against the shared file). */
export const TRAIN_STEP_MODEL = {
  vocab_size: 8000,
  d_model: 256,
  encoder_attention_heads: 4,
  decoder_attention_heads: 4,
  encoder_ffn_dim: 1024,
  decoder_ffn_dim: 1024,
  encoder_layers: 3,
  decoder_layers: 3,
  normalize_before: true,
  activation_function: "relu",
  position_embedding: "sinusoidal",
  scale_embedding: true,
  tie_word_embeddings: false,
  share_embeddings: false,
  dropout: 0,
  layer_norm_eps: 1e-5,
  init_std: 0.02,
  pad_token_id: 0,
};

const HELP = `Usage: maskwise bench train-step [--json] [--config FILE] [--padded] [--bf16]

Times one training step (forward + backward + Adam update) of the reference benchmark: a pre-norm
3+3 encoder-decoder (d_model 256, 4 heads, FFN 1024, vocab 8000) on a 32 x 32 batch where row b
has 32 - 2*(b % 8) real tokens. 2 warm-up steps, then the median of 10. --config reads the shared
benchmark file (../shared/bench/train-step.json) and checks it matches. --padded computes every
position, padding included, as evaluation does (training computes the real ones only: the loss
and gradients are the same). --bf16 multiplies in bfloat16 (mixed precision: the products round
their operands to bfloat16, sums, weights, gradients and Adam stay float32; on CPUs with
AVX512_BF16). The last line with --json:
{"bench":"train-step","median_step_s":…,"tokens_per_s":…} (tokens = all 32 x 32 target positions).`;

export interface StepBatch {
  input_ids: Tensor;
  attention_mask: Tensor;
  decoder_input_ids: Tensor;
  decoder_attention_mask: Tensor;
  labels: Tensor;
}

/** The benchmark batch: uniform random ids in [1, V), right padding with 0, labels -100 on padding. */
export function trainStepBatch(rng: Rng, B = 32, S = 32, T = 32, V = 8000): StepBatch {
  const make = (len: number) => {
    const ids = new Int32Array(B * len);
    const mask = new Int32Array(B * len);
    for (let b = 0; b < B; b++) {
      const real = len - 2 * (b % 8);
      for (let t = 0; t < real; t++) {
        ids[b * len + t] = 1 + rng.int(V - 1);
        mask[b * len + t] = 1;
      }
    }
    return [new Tensor(ids, [B, len]), new Tensor(mask, [B, len])];
  };
  const [input_ids, attention_mask] = make(S);
  const [decoder_input_ids, decoder_attention_mask] = make(T);
  const [labelIds, labelMask] = make(T);
  const labels = new Int32Array(B * T);
  for (let i = 0; i < labels.length; i++) labels[i] = labelMask.i32[i] ? labelIds.i32[i] : -100;
  return {
    input_ids,
    attention_mask,
    decoder_input_ids,
    decoder_attention_mask,
    labels: new Tensor(labels, [B, T]),
  };
}

/**
 * The benchmark's model (seed 1), batch and Adam, and a function that runs one step of forward,
 * backward and update on them: what `bench train-step` times, and bench/train-step-kernels.ts
 * times kernel by kernel. `unpad`: compute the real positions only (training's layout).
 */
export function benchTrainStep(unpad = true): () => void {
  const model = new EncoderDecoderModel(resolveConfig(TRAIN_STEP_MODEL), 1);
  model.train();
  const batch = trainStepBatch(new Rng(2));
  const opt = new AdamW(model.parameters(), {
    lr: 1e-4,
    beta1: 0.9,
    beta2: 0.999,
    eps: 1e-8,
    weightDecay: 0,
  });
  return () => {
    opt.zeroGrad({ reuse: true });
    const { loss } = model.forward(batch, { unpad });
    if (loss) backward(loss, undefined, { freeIntermediates: true });
    opt.update();
  };
}

export const command: Command = {
  path: ["bench", "train-step"],
  summary: "benchmark one training step of the reference model",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("bench train-step", argv, {
      json: { type: "boolean" },
      config: { type: "string" },
      padded: { type: "boolean" },
      bf16: { type: "boolean" },
    });
    if (values.config) {
      if (!existsSync(values.config)) {
        throw new MaskwiseError("benchmark config not found", {
          code: "E_FILE",
          where: values.config,
        });
      }
      const shared = JSON.parse(readFileSync(values.config, "utf8"));
      if (
        shared.model?.d_model !== TRAIN_STEP_MODEL.d_model ||
        shared.model?.vocab_size !== TRAIN_STEP_MODEL.vocab_size ||
        shared.batch?.batch_size !== 32
      ) {
        throw new MaskwiseError(
          "the benchmark file describes another configuration than this build implements",
          { code: "E_CONFIG", where: values.config },
        );
      }
    }
    const trainStep = benchTrainStep(!values.padded);
    let n = 0;
    const step = () => {
      progress(`bench train-step: step ${++n} of 12`);
      trainStep();
    };
    const precision = values.bf16 ? "bfloat16" : "float32";
    const { median, all } = withMatmulPrecision(precision, () => timeMedian(step, 2, 10));
    progressDone();
    const tokens = 32 * 32;
    const result = {
      bench: "train-step",
      backend: getBackend().name,
      threads: getBackend().threads,
      positions: values.padded ? "all" : "real",
      matmul_precision: precision,
      median_step_s: median,
      tokens_per_s: tokens / median,
      steps_s: all,
    };
    if (!values.json) {
      console.log(
        `train step (forward + backward + Adam), ${result.backend} backend, ${result.threads} threads, ${precision} products`,
      );
      console.log(
        `  median ${(median * 1000).toFixed(1)} ms per step, ${result.tokens_per_s.toFixed(0)} target tokens/s`,
      );
    }
    console.log(JSON.stringify(result));
    return 0;
  },
};
