// `maskwise translate --model DIR`: stdin lines to stdout lines, batched underneath. An empty line
// gives an empty line; an over-long line is cut to the model's maximum source length.

import { fstatSync } from "node:fs";
import { join } from "node:path";
import { maxNewTokens } from "../../decode/generation-config.js";
import type { ModelConfig } from "../../models/config.js";
import { holdLinearWeights } from "../../models/held-weights.js";
import { decodingWeights } from "../../models/incremental.js";
import { familyOf } from "../../models/registry.js";
import { loadAdapter } from "../../node/adapter.js";
import { readGenerationConfig } from "../../node/generation-config.js";
import { modelDirArg } from "../../node/model-arg.js";
import { loadEncoderDecoder } from "../../node/model-dir.js";
import { decodingPrecisionFromFlags, INT8_HELP, PRECISION_FLAGS } from "../../node/precision.js";
import { readAhead } from "../../node/read-ahead.js";
import { loadModelTokenizer } from "../../node/tokenizer-files.js";
import { checkModelTokenizer, loadTokenizer } from "../../node/training-setup.js";
import { pretrainedCodec, type TextCodec, translateLines } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";

const NAME = "translate";
const HELP = `Usage: maskwise translate --model DIR [--beam K] [--max-len-a A --max-len-b B | --max-new-tokens N]
                          [--length-penalty X] [--n-best N] [--batch-size N] [--read-ahead N]
                          [--no-repeat-ngram-size N] [--precision auto|float32|bfloat16|int8] [--adapter DIR]

Reads source sentences from standard input, one a line, and writes translations to standard
output, one a line, in order. --read-ahead N (default 16) reads N batches of --batch-size
(default 32) lines ahead and decodes them sorted by source length, so that a batch holds
sentences of similar lengths; their translations are written in input order before more is
read. --read-ahead 1 takes the lines batch by batch. Greedy decoding keeps --batch-size
sentences decoding at once: sentences join as others finish. On a terminal a pause in the input
translates what has arrived. DIR is a model directory (config.json, model.safetensors,
tokenizer.json), e.g. RUN/checkpoints/best, or ORG/NAME, a model 'maskwise hub get' put in the
Hugging Face cache. A sentence's output is at most A * its source length (tokens, eos
included) + B tokens (default 1.2 and 10), or --max-new-tokens N (as generate). --beam 1
(default 5) decodes greedily. With --n-best N (at most --beam), each input gives exactly N
lines "score<TAB>translation", best first; an empty input line gives N empty lines.
--no-repeat-ngram-size N (default 0 = off) never lets an output repeat one of its own n-grams
of N tokens, as fairseq and Hugging Face do (3 is usual for summaries). --precision bfloat16
(or --bf16) rounds the decoder's weights and the inputs of its products to bfloat16, sums stay
float32 (half the bytes each generated token reads, and on CPUs with AVX512_BF16 half the
instructions: faster; translations may differ from float32's in a few places); auto times both
precisions on this CPU once and takes the faster, saying which on stderr; default float32.
${INT8_HELP}
--adapter DIR puts a LoRA adapter in PEFT's format (a LoRA run's checkpoint) on the model
first.

A generation_config.json in DIR (transformers' directories) sets the defaults: num_beams,
length_penalty, max_new_tokens or max_length (then A = 0 and B = that many tokens),
no_repeat_ngram_size, the start and end ids, forced_bos_token_id (forced first),
forced_eos_token_id (forced as the last token the length allows) and bad_words_ids. Flags
override them.`;

/**
 * The model directory's tokenizer as translation's codec: maskwise's own tokenizer.json (checked
 * against the weights it was trained with), or a transformers directory's tokenizer, whichever
 * files it ships (tokenizer.json, a SentencePiece model, Marian's source.spm/target.spm).
 */
function modelCodec(dir: string, config: ModelConfig): TextCodec {
  if (familyOf(config).source === "transformers") {
    const tok = loadModelTokenizer(dir);
    if (tok.vocabSize > config.vocab_size) {
      throw new MaskwiseError(
        `the tokenizer has ${tok.vocabSize} tokens, the model's embedding ${config.vocab_size} rows`,
        { code: "E_TOKENIZER", where: dir, hint: "put the model's own tokenizer files beside it" },
      );
    }
    return pretrainedCodec(tok, config.eos_token_id);
  }
  const tok = loadTokenizer(join(dir, "tokenizer.json"));
  checkModelTokenizer(dir, tok, join(dir, "tokenizer.json"), config.vocab_size);
  return tok;
}

/** Whether file descriptor `fd` is a file, pipe or socket (not a terminal or other device). */
function isStreamOfBytes(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFile() || st.isFIFO() || st.isSocket();
  } catch {
    return true;
  }
}

export const command: Command = {
  path: ["translate"],
  summary: "translate stdin lines to stdout lines with a saved model",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      model: { type: "string" },
      adapter: { type: "string" },
      beam: { type: "string" },
      "max-len-a": { type: "string" },
      "max-len-b": { type: "string" },
      "max-new-tokens": { type: "string" },
      "length-penalty": { type: "string" },
      "n-best": { type: "string" },
      "batch-size": { type: "string" },
      "read-ahead": { type: "string" },
      "no-repeat-ngram-size": { type: "string" },
      ...PRECISION_FLAGS,
    });
    if (!v.model) {
      throw new MaskwiseError("--model is required", {
        code: "E_ARG",
        where: "maskwise translate",
        hint: "pass a model directory, e.g. RUN/checkpoints/best",
      });
    }
    const precision = decodingPrecisionFromFlags(NAME, v);
    // A hub name (ORG/NAME) that `maskwise hub get` downloaded resolves through the cache.
    v.model = modelDirArg(v.model);
    const model = loadEncoderDecoder(v.model);
    if (v.adapter) loadAdapter(model, v.adapter);
    const tok = modelCodec(v.model, model.config);
    // generation_config.json (transformers' directories) sets the defaults; flags override.
    const generation = readGenerationConfig(v.model) ?? {};
    const family = familyOf(model.config);
    // --max-new-tokens N is the same limit as generate's: --max-len-a 0 --max-len-b N.
    const flagNew = v["max-new-tokens"];
    if (flagNew !== undefined && (v["max-len-a"] !== undefined || v["max-len-b"] !== undefined)) {
      throw new MaskwiseError("--max-new-tokens and --max-len-a/--max-len-b set the same limit", {
        code: "E_ARG",
        where: `maskwise ${NAME} --max-new-tokens`,
        hint: "give one: --max-new-tokens N, or A * source length + B",
      });
    }
    const newTokens =
      flagNew !== undefined
        ? numberFlag(NAME, "max-new-tokens", flagNew, 1, { min: 1, integer: true })
        : maxNewTokens(generation);
    const beam = numberFlag(
      NAME,
      "beam",
      v.beam,
      generation.numBeams ?? family.decoding?.beam ?? 5,
      {
        min: 1,
        integer: true,
      },
    );
    const nBest = numberFlag(NAME, "n-best", v["n-best"], 1, { min: 1, integer: true });
    const batchSize = numberFlag(NAME, "batch-size", v["batch-size"], 32, {
      min: 1,
      integer: true,
    });
    const readAheadBatches = numberFlag(NAME, "read-ahead", v["read-ahead"], 16, {
      min: 1,
      integer: true,
    });
    if (nBest > beam) {
      throw new MaskwiseError(`--n-best ${nBest} is more than the --beam ${beam} hypotheses kept`, {
        code: "E_ARG",
        where: `maskwise ${NAME} --n-best`,
        hint: `pass --beam ${nBest} or more, or a smaller --n-best`,
      });
    }
    const options = {
      beam,
      nBest,
      lengthPenalty: numberFlag(
        NAME,
        "length-penalty",
        v["length-penalty"],
        generation.lengthPenalty ?? 1,
      ),
      maxLenA: numberFlag(NAME, "max-len-a", v["max-len-a"], newTokens === undefined ? 1.2 : 0, {
        min: 0,
      }),
      maxLenB: numberFlag(NAME, "max-len-b", v["max-len-b"], newTokens ?? 10, { min: 1 }),
      generation,
      batchSize,
      noRepeatNgramSize: numberFlag(
        NAME,
        "no-repeat-ngram-size",
        v["no-repeat-ngram-size"],
        generation.noRepeatNgramSize ?? 0,
        {
          min: 0,
          integer: true,
        },
      ),
      maxSourceLength: 1024,
      weights: decodingWeights(model, precision),
    };
    const flush = (lines: string[]) => {
      const nonEmpty = lines.map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== "");
      const results = translateLines(
        model,
        tok,
        nonEmpty.map(([l]) => l),
        options,
      );
      const out: string[] = lines.map(() => "");
      const nb: string[][] = lines.map(() => []);
      nonEmpty.forEach(([, i], k) => {
        out[i] = results[k][0].text;
        nb[i] = results[k].map((h) => `${h.hypothesis.score.toFixed(4)}\t${h.text}`);
      });
      // Exactly nBest lines an input, so line k of the output belongs to input floor(k / nBest).
      const padded = (hyps: string[]) =>
        Array.from({ length: nBest }, (_, k) => hyps[k] ?? "").join("\n");
      process.stdout.write(
        `${lines.map((_, i) => (nBest > 1 ? padded(nb[i]) : out[i])).join("\n")}\n`,
      );
    };
    // Every batch multiplies by the same weights: packed once for the whole input (a command
    // that fails exits, and what it held goes with the process).
    const release = holdLinearWeights(model);
    // A terminal's user waits for each line's answer: a pause translates what has arrived.
    const tty = process.stdin.isTTY === true || !isStreamOfBytes(0);
    await readAhead(
      process.stdin,
      { window: readAheadBatches * batchSize, idleMs: tty ? 100 : null },
      flush,
    );
    release();
    return 0;
  },
};
