// `maskwise generate --model DIR`: a decoder-only model continues each stdin line (a prompt) and
// writes the continuation as one stdout line. Prompts of one batch are left-padded; positions
// come from the mask, so padding never shifts them. A prefix LM reads each prompt
// bidirectionally, as `maskwise train --task lm --mask prefix` trained it (src/train/generate.ts,
// the decoder training's ROUGE uses too); the model directory's trainer_state.json says which.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { beamSearch } from "../../decode/beam.js";
import { generationOptions } from "../../decode/generation-config.js";
import { greedy } from "../../decode/greedy.js";
import { sample } from "../../decode/sampling.js";
import type { Hypothesis } from "../../decode/types.js";
import type { ModelConfig } from "../../models/config.js";
import { decodingWeights } from "../../models/incremental.js";
import { familyOf } from "../../models/registry.js";
import { loadAdapter } from "../../node/adapter.js";
import { loadChatTokenizer } from "../../node/chat-data.js";
import { readText } from "../../node/files.js";
import { readGenerationConfig } from "../../node/generation-config.js";
import { modelDirArg } from "../../node/model-arg.js";
import { loadDecoderOnly } from "../../node/model-dir.js";
import { decodingPrecisionFromFlags, INT8_HELP, PRECISION_FLAGS } from "../../node/precision.js";
import { hasTokenizerFiles } from "../../node/pretrained-run-tokenizer.js";
import { loadModelTokenizer } from "../../node/tokenizer-files.js";
import { checkModelTokenizer, loadTokenizer } from "../../node/training-setup.js";
import { withMatmulPrecision } from "../../tensor/precision.js";
import { parseConversation } from "../../tokenizer/chat-messages.js";
import { type ChatOptions, type ChatPrecision, ChatSession } from "../../train/chat.js";
import { promptDecoder, trainedMask, trainedOnPairs } from "../../train/generate.js";
import type { DecoderMask } from "../../train/tasks.js";
import { pretrainedCodec } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";

const NAME = "generate";
const HELP = `Usage: maskwise generate --model DIR [--adapter DIR] [--max-new-tokens N] [--beam K]
                         [--mask prefix|causal] [--sample --temperature T --top-k K --top-p P --seed S]
                         [--precision auto|float32|bfloat16|int8] [--ids]
       maskwise generate --model DIR [--adapter DIR] --chat [--max-new-tokens N]
                         [--repetition-penalty R] [--sample --temperature T --top-k K --top-p P
                         --seed S] [--precision auto|float32|bfloat16|int8] < chats.jsonl

Reads prompts from standard input, one a line, and writes each continuation as one line. DIR is
a decoder-only model directory: maskwise's (config.json with maskwise_arch "decoder-only",
model.safetensors, tokenizer.json) or a transformers one (GPT-2, Llama, Qwen2, Mistral).
Decoding is greedy unless --beam K (> 1) or --sample is given. --adapter DIR puts a LoRA adapter
in PEFT's format (a LoRA run's checkpoint) on the model; each decoding step adds its update
(docs/pretrained.md).

--ids: each prompt line is token ids separated by spaces, taken as they are (nothing added), and
each output line is the generated ids (the eos that ended a row included); no tokenizer is read.

A transformers directory (no trainer_state.json) is prompted as transformers' generate is: the
prompt is what its tokenizer gives with its own special tokens (GPT-2 adds none, so no <s> is
put before it), and its generation_config.json sets the defaults: eos_token_id,
bos_token_id (the prompt of an empty line), max_new_tokens, or max_length (prompt included),
num_beams, no_repeat_ngram_size, bad_words_ids and forced_eos_token_id. Flags override them.

--mask causal: each prompt is read causally. --mask prefix: each prompt is read
bidirectionally, as a prefix LM trained on source/target pairs (maskwise train --task lm
--mask prefix) reads its source. Default: the model's, from DIR/trainer_state.json (causal when
there is none). A prompt is "<s> prompt </s>" for a prefix LM and for any model trained on
source/target pairs (as training built "<s> source </s> target </s>"), "<s> prompt" otherwise.

--temperature T (above 0), --top-k K and --top-p P (above 0, at most 1) shape --sample and are
refused without it; --sample and --beam K > 1 exclude each other.

--precision bfloat16 (or --bf16) multiplies by bfloat16 copies of the weights and rounds the
inputs of the products to bfloat16, sums stay float32 (faster on CPUs with AVX512_BF16; the
output may differ from float32's in a few places); auto times both precisions on this CPU once
and takes the faster, saying which on stderr.
${INT8_HELP}

--chat: each line is a conversation {"messages":[{"role":…,"content":…},…]}, rendered with the
chat template of DIR's tokenizer_config.json and its generation prompt; each output line is the
assistant's reply (up to the template's end-of-turn token; newlines become spaces), decoded
from the same seed for every line (docs/chat.md). --repetition-penalty R (above 1 discourages
tokens the reply holds) applies with --chat. --precision applies as without --chat.

Defaults: --max-new-tokens 64 (fewer where the model's positions end sooner), --temperature 1,
--top-k 0 (all), --top-p 1, --seed 0, --batch-size 16, --precision float32.`;

/**
 * How DIR was trained (trainer_state.json): its mask, and whether on source/target pairs; a
 * directory without the file is a causal LM of plain text.
 */
function modelTraining(dir: string): { mask: DecoderMask; pairs: boolean } {
  const path = join(dir, "trainer_state.json");
  if (!existsSync(path)) return { mask: "causal", pairs: false };
  try {
    const state = JSON.parse(readText(path, "trainer_state.json"));
    return { mask: trainedMask(state), pairs: trainedOnPairs(state) };
  } catch (e) {
    throw new MaskwiseError(`trainer_state.json is not JSON: ${(e as Error).message}`, {
      code: "E_CHECKPOINT",
      where: path,
      hint: "pass --mask prefix|causal, or remove the file",
    });
  }
}

interface PromptCodec {
  encode(text: string): number[];
  decode(ids: readonly number[], options: { skipSpecialTokens?: boolean }): string;
}

/**
 * The model directory's tokenizer for prompts: a transformers directory's own files, encoding
 * with its special tokens (as transformers' tokenizer(text)); maskwise's tokenizer.json, checked
 * against the weights it was trained with, otherwise.
 */
function promptCodec(dir: string, cfg: ModelConfig, asTransformers: boolean): PromptCodec {
  if (familyOf(cfg).source === "transformers" && hasTokenizerFiles(dir)) {
    const tok = loadModelTokenizer(dir);
    // A checkpoint maskwise fine-tuned: the text as training encoded it (train/translate.ts).
    const trained = pretrainedCodec(tok, cfg.eos_token_id);
    return {
      encode: (text) =>
        asTransformers ? tok.encode(text, { addSpecialTokens: true }).ids : trained.encode(text),
      decode: (ids, o) => tok.decode(ids, o),
    };
  }
  const tok = loadTokenizer(join(dir, "tokenizer.json"));
  checkModelTokenizer(dir, tok, join(dir, "tokenizer.json"), cfg.vocab_size);
  return tok;
}

/** A prompt line of --ids: token ids below the vocabulary size, separated by spaces. */
function idsLine(line: string, vocabSize: number): number[] {
  const parts = line
    .trim()
    .split(/\s+/)
    .filter((x) => x !== "");
  const ids = parts.map(Number);
  const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id >= vocabSize);
  if (parts.length === 0 || bad >= 0) {
    throw new MaskwiseError(
      parts.length === 0
        ? "an empty prompt line"
        : `'${parts[bad]}' is not a token id below the vocabulary size ${vocabSize}`,
      {
        code: "E_INPUT",
        where: `maskwise ${NAME} --ids (stdin)`,
        hint: "give each prompt as token ids separated by spaces, at least one a line",
      },
    );
  }
  return ids;
}

/**
 * --chat: each stdin line is a conversation ({"messages":[…]}); the assistant's reply to it is
 * one stdout line (newlines as spaces). Every line starts from the seed, so a line's reply does
 * not depend on the lines before it.
 */
async function generateChat(
  model: ReturnType<typeof loadDecoderOnly>,
  dir: string,
  options: ChatOptions,
  precision: ChatPrecision,
): Promise<number> {
  const tok = loadChatTokenizer(dir, model.config.vocab_size);
  let n = 0;
  for await (const line of createInterface({
    input: process.stdin,
    crlfDelay: Number.POSITIVE_INFINITY,
  })) {
    n++;
    if (line.trim() === "") continue;
    const messages = parseConversation(line, `<stdin>:${n}`);
    const reply = new ChatSession(model, tok, options, messages, precision).reply();
    process.stdout.write(`${reply.replace(/\r?\n/g, " ")}\n`);
  }
  return 0;
}

export const command: Command = {
  path: ["generate"],
  summary: "continue stdin prompts with a decoder-only model",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      model: { type: "string" },
      adapter: { type: "string" },
      "max-new-tokens": { type: "string" },
      beam: { type: "string" },
      sample: { type: "boolean" },
      temperature: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      seed: { type: "string" },
      "batch-size": { type: "string" },
      mask: { type: "string" },
      ...PRECISION_FLAGS,
      ids: { type: "boolean" },
      chat: { type: "boolean" },
      "repetition-penalty": { type: "string" },
    });
    if (!v.model)
      throw new MaskwiseError("--model is required", {
        code: "E_ARG",
        where: "maskwise generate",
        hint: "pass a decoder-only model directory",
      });
    if (v.mask !== undefined && v.mask !== "prefix" && v.mask !== "causal")
      throw new MaskwiseError(`--mask must be prefix or causal, got '${v.mask}'`, {
        code: "E_ARG",
        where: "maskwise generate --mask",
        hint: "prefix: prompts read bidirectionally (a prefix LM); causal: read causally",
      });
    const precision = decodingPrecisionFromFlags(NAME, v);
    // A hub name (ORG/NAME) that `maskwise hub get` downloaded resolves through the cache.
    v.model = modelDirArg(v.model);
    // A LoRA run's checkpoint (the adapter) says how it was trained.
    const adapter = v.adapter as string | undefined;
    const trained = modelTraining(
      adapter && existsSync(join(adapter, "trainer_state.json")) ? adapter : v.model,
    );
    const mask: DecoderMask = (v.mask as DecoderMask | undefined) ?? trained.mask;
    // A model trained on pairs saw "<s> source </s> target </s>": its prompt is "<s> source </s>"
    // under either mask; a prefix LM's prefix always ends with </s>.
    const endWithEos = mask === "prefix" || trained.pairs;
    const model = loadDecoderOnly(v.model);
    if (adapter) loadAdapter(model, adapter);
    const weights = decodingWeights(model, precision);
    const cfg = model.config;
    // A transformers directory that no maskwise run wrote is prompted as transformers does.
    const asTransformers =
      familyOf(cfg).source === "transformers" &&
      !existsSync(join(v.model, "trainer_state.json")) &&
      !(adapter && existsSync(join(adapter, "trainer_state.json")));
    const generation = (asTransformers ? readGenerationConfig(v.model) : null) ?? {};
    const tok = v.ids || v.chat ? null : promptCodec(v.model, cfg, asTransformers);
    const flagNew =
      v["max-new-tokens"] === undefined
        ? undefined
        : numberFlag(NAME, "max-new-tokens", v["max-new-tokens"], 64, { min: 1, integer: true });
    // New tokens for a batch whose prompts are P long (left-padded): the flag, max_new_tokens,
    // max_length less P (transformers counts the prompt in it), or 64 within the model's
    // positions.
    const maxNewFor = (P: number) =>
      flagNew ??
      generation.maxNewTokens ??
      (generation.maxLength !== undefined
        ? Math.max(1, generation.maxLength - P)
        : Math.max(1, Math.min(64, cfg.max_position_embeddings - P)));
    const beam = numberFlag(NAME, "beam", v.beam, generation.numBeams ?? 1, {
      min: 1,
      integer: true,
    });
    const batchSize = numberFlag(NAME, "batch-size", v["batch-size"], 16, {
      min: 1,
      integer: true,
    });
    // The sampling flags shape --sample only: without it decoding is greedy (or beam search),
    // and a flag that would change nothing is refused rather than ignored.
    for (const f of ["temperature", "top-k", "top-p"] as const) {
      if (v[f] !== undefined && !v.sample) {
        throw new MaskwiseError(`--${f} only applies with --sample`, {
          code: "E_ARG",
          where: `maskwise ${NAME} --${f}`,
          hint: `add --sample to sample with --${f} ${v[f]}, or drop it for greedy decoding`,
        });
      }
    }
    if (v.sample && beam > 1) {
      throw new MaskwiseError("--sample and --beam are two ways to decode", {
        code: "E_ARG",
        where: `maskwise ${NAME} --sample --beam ${beam}`,
        hint: "choose one",
      });
    }
    const sampling = {
      temperature: numberFlag(NAME, "temperature", v.temperature, 1, { min: 0 }),
      topK: numberFlag(NAME, "top-k", v["top-k"], 0, { min: 0, integer: true }),
      topP: numberFlag(NAME, "top-p", v["top-p"], 1, { min: 0 }),
      seed: numberFlag(NAME, "seed", v.seed, 0, { integer: true }),
    };
    if (!(sampling.temperature > 0)) {
      throw new MaskwiseError("--temperature must be above 0", {
        code: "E_ARG",
        where: `maskwise ${NAME} --temperature ${v.temperature}`,
        hint: "a temperature near 0 approaches greedy decoding: for that, drop --sample",
      });
    }
    if (!(sampling.topP > 0 && sampling.topP <= 1)) {
      throw new MaskwiseError("--top-p must be above 0 and at most 1", {
        code: "E_ARG",
        where: `maskwise ${NAME} --top-p ${v["top-p"]}`,
        hint: "the share of probability mass sampled from, e.g. 0.9; 1 keeps every token",
      });
    }
    if (v["repetition-penalty"] !== undefined && !v.chat) {
      throw new MaskwiseError("--repetition-penalty only applies with --chat", {
        code: "E_ARG",
        where: `maskwise ${NAME} --repetition-penalty`,
        hint: "add --chat for conversations, or drop it",
      });
    }
    if (v.chat) {
      const clash = beam > 1 ? "beam" : v.mask !== undefined ? "mask" : v.ids ? "ids" : null;
      if (clash !== null) {
        throw new MaskwiseError(`--chat decodes greedily or samples; --${clash} does not apply`, {
          code: "E_ARG",
          where: `maskwise ${NAME} --chat --${clash}`,
          hint: "drop it",
        });
      }
      return generateChat(
        model,
        v.model,
        {
          maxNewTokens: flagNew ?? generation.maxNewTokens ?? 64,
          temperature: v.sample ? sampling.temperature : 0,
          topK: sampling.topK,
          topP: sampling.topP,
          repetitionPenalty: numberFlag(NAME, "repetition-penalty", v["repetition-penalty"], 1, {
            min: 0,
          }),
          seed: sampling.seed,
        },
        { matmul: precision === "int8" ? "float32" : precision, weights },
      );
    }
    const bos = generation.bosTokenId ?? cfg.bos_token_id;
    const eos = generation.eosTokenId ?? cfg.eos_token_id;
    const prompt = (l: string): number[] => {
      if (v.ids) return idsLine(l, cfg.vocab_size);
      const ids = (tok as PromptCodec).encode(l);
      // transformers' generate starts an empty prompt from bos.
      if (asTransformers) return ids.length > 0 ? ids : [bos];
      return endWithEos ? [bos, ...ids, eos] : [bos, ...ids];
    };
    const flush = (lines: string[]) => {
      const prompts = lines.map(prompt);
      const P = Math.max(...prompts.map((p) => p.length));
      const gen = generationOptions(generation, { startToken: bos, eosToken: eos }, maxNewFor(P));
      // The prompt's pass (and a prefix LM's every pass) runs on tensors in this precision;
      // a causal LM's steps read the bfloat16 or int8 copies of the weights (int8: the passes
      // on tensors stay float32).
      const tensors = precision === "int8" ? "float32" : precision;
      const hyps: Hypothesis[] = withMatmulPrecision(tensors, () => {
        const decoder = promptDecoder(model, prompts, mask, { weights });
        return beam > 1
          ? beamSearch(decoder, { ...gen, beamSize: beam }).map((h) => h[0])
          : v.sample
            ? sample(decoder, { ...gen, ...sampling })
            : greedy(decoder, gen);
      });
      const out = hyps.map((h) =>
        tok === null
          ? h.tokens.join(" ")
          : tok
              .decode(
                h.tokens.filter((t) => t !== eos),
                { skipSpecialTokens: true },
              )
              .replace(/\n/g, " "),
      );
      process.stdout.write(`${out.join("\n")}\n`);
    };
    let pending: string[] = [];
    for await (const line of createInterface({
      input: process.stdin,
      crlfDelay: Number.POSITIVE_INFINITY,
    })) {
      pending.push(line);
      if (pending.length >= batchSize) {
        flush(pending);
        pending = [];
      }
    }
    if (pending.length > 0) flush(pending);
    return 0;
  },
};
