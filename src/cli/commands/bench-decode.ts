// `maskwise bench decode`: the runs of ../shared/bench/decode.json on the train-step model
// (random weights): batch 1, a 32-token source of random ids, exactly 32 new tokens (eos
// ignored), greedy and beam 5 with length penalty 1; one warm-up run, then the median of 5
// (--runs changes the count, for profiles: bench/decode-profile.mjs reads them). --bf16 decodes
// on bfloat16 copies of the decoder's weights (src/nn/bf16-weights.ts), --int8 on int8 ones
// (src/nn/int8-weights.ts).
import { beamSearch } from "../../decode/beam.js";
import { greedy } from "../../decode/greedy.js";
import { resolveConfig } from "../../models/config.js";
import { EncoderDecoderModel } from "../../models/encoder-decoder.js";
import { decodingWeights, Seq2SeqIncremental } from "../../models/incremental.js";
import { int8Kernel } from "../../nn/int8-weights.js";
import { getBackend } from "../../tensor/dispatch.js";
import { Tensor } from "../../tensor/tensor.js";
import { MaskwiseError } from "../../util/errors.js";
import { Rng } from "../../util/rng.js";
import { type Command, numberFlag, parseFlags } from "../command.js";
import { progress, progressDone, timeMedian } from "../timing.js";
import { TRAIN_STEP_MODEL } from "./bench-train-step.js";

const HELP = `Usage: maskwise bench decode [--json] [--runs N] [--bf16 | --int8]

Decodes a 32-token random source with the train-step model (random weights): exactly 32 new
tokens (eos ignored), greedy and beam 5 (length penalty 1), on the KV cache. One warm-up run, then
the median of N (default 5, as ../shared/bench/decode.json says; more for a CPU profile). --bf16:
the decoder's Linear layers and output projection multiply bfloat16 copies of their weights by
their inputs rounded to bfloat16, summing in float32 (half the bytes per token; "weights" in the
result says which). --int8: int8 copies of the weights, each step's inputs quantized per row
(src/nn/int8-weights.ts; "int8_kernel" says which kernel ran). The last line with --json:
{"bench":"decode","greedy_tok_s":…,"beam5_tok_s":…}.`;

export const command: Command = {
  path: ["bench", "decode"],
  summary: "benchmark greedy and beam-5 decoding on the KV cache",
  help: HELP,
  async run(argv) {
    const { values } = parseFlags("bench decode", argv, {
      json: { type: "boolean" },
      runs: { type: "string" },
      bf16: { type: "boolean" },
      int8: { type: "boolean" },
    });
    if (values.bf16 && values.int8) {
      throw new MaskwiseError("--bf16 and --int8 both choose the weights' precision", {
        code: "E_ARG",
        where: "maskwise bench decode --int8",
        hint: "give one of them",
      });
    }
    const runs = numberFlag("bench decode", "runs", values.runs, 5, { min: 1, integer: true });
    const cfg = resolveConfig(TRAIN_STEP_MODEL);
    const model = new EncoderDecoderModel(cfg, 1).eval();
    const rng = new Rng(3);
    const src = new Tensor(
      Int32Array.from({ length: 32 }, () => 1 + rng.int(cfg.vocab_size - 1)),
      [1, 32],
    );
    const srcMask = new Tensor(new Int32Array(32).fill(1), [1, 32]);
    const newTokens = 32;
    const precision = values.int8 ? "int8" : values.bf16 ? "bfloat16" : "float32";
    const weights = decodingWeights(model, precision);
    const start = () => new Seq2SeqIncremental(model, src, srcMask, { weights });
    const opts = { startToken: cfg.decoder_start_token_id, eosToken: -1, maxLength: newTokens };
    let produced = 0;
    progress("bench decode: greedy");
    const g = timeMedian(
      () => {
        produced = greedy(start(), opts)[0].tokens.length;
      },
      1,
      runs,
    );
    const greedyTokens = produced;
    progress("bench decode: beam 5");
    const b = timeMedian(
      () => {
        produced = beamSearch(start(), {
          ...opts,
          beamSize: 5,
          lengthPenalty: 1,
        })[0][0].tokens.length;
      },
      1,
      runs,
    );
    progressDone();
    const result = {
      bench: "decode",
      backend: getBackend().name,
      threads: getBackend().threads,
      weights: precision,
      ...(precision === "int8" ? { int8_kernel: int8Kernel() } : {}),
      runs,
      new_tokens: newTokens,
      greedy_tokens: greedyTokens,
      beam5_tokens: produced,
      greedy_s: g.median,
      beam5_s: b.median,
      greedy_tok_s: newTokens / g.median,
      beam5_tok_s: newTokens / b.median,
      greedy_runs_s: g.all,
      beam5_runs_s: b.all,
    };
    if (!values.json) {
      console.log(
        `decode ${newTokens} tokens, ${result.backend} backend, ${result.threads} threads, ${result.weights} weights`,
      );
      console.log(`  greedy  ${result.greedy_tok_s.toFixed(0)} tokens/s`);
      console.log(`  beam 5  ${result.beam5_tok_s.toFixed(0)} tokens/s`);
    }
    console.log(JSON.stringify(result));
    return 0;
  },
};
