// `maskwise chat --model DIR`: a conversation with a decoder-only chat model in the terminal.
// Each user message goes through the model's chat template with the conversation so far; the
// reply is streamed as its tokens are decoded (src/train/chat.ts keeps the KV cache across
// turns). On a terminal it prompts and takes /reset and /exit; otherwise every stdin line is one
// user message and every reply one stdout line (its newlines as spaces), so scripts and tests
// can hold a conversation.
import { createInterface } from "node:readline";
import { decodingWeights } from "../../models/incremental.js";
import { loadAdapter } from "../../node/adapter.js";
import { loadChatModel } from "../../node/chat-data.js";
import { decodingPrecisionFromFlags, PRECISION_FLAGS } from "../../node/precision.js";
import type { ChatMessage } from "../../tokenizer/tokenizer-config.js";
import { type ChatOptions, type ChatPrecision, ChatSession } from "../../train/chat.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";

const NAME = "chat";

const HELP = `Usage: maskwise chat --model DIR [--adapter DIR] [--system TEXT] [--max-new-tokens N]
                     [--temperature T] [--top-k K] [--top-p P] [--repetition-penalty R] [--seed S]
                     [--precision auto|float32|bfloat16|int8]

Talks with a decoder-only chat model: DIR holds config.json, the weights, tokenizer.json and a
tokenizer_config.json with a chat template (a transformers chat model, or a run's checkpoint
from 'maskwise train --task chat'). Each reply is streamed as it is generated and ends at the
template's end-of-turn token. The KV cache is kept from one turn to the next: only the new turn
is computed.

On a terminal: type a message and Enter; /reset starts a new conversation, /exit (or Ctrl-D)
ends. Otherwise each line of standard input is one user message and each reply is written as
one line (newlines in it become spaces).

Options:
  --system TEXT            a system message at the start of the conversation
  --max-new-tokens N       tokens per reply at most (default 256)
  --temperature T          0 (default): greedy; above 0: sample at this temperature
  --top-k K                sampling: the K most likely tokens only (default 0 = all)
  --top-p P                sampling: the most likely tokens up to probability P (default 1)
  --repetition-penalty R   above 1 discourages tokens the reply already holds (default 1)
  --seed S                 seeds the sampling (default 0): the same seed, the same conversation
  --adapter DIR            a PEFT LoRA adapter on top of DIR's weights (train --task chat
                           --lora-r N writes one)
  --precision P            float32 (default); bfloat16 (or --bf16): products on bfloat16 copies
                           of the weights, inputs rounded to bfloat16, sums in float32; int8:
                           int8 copies of the weights per output row (replies may differ from
                           float32's in places); auto: the faster of float32 and bfloat16 on
                           this CPU, said on stderr (as 'maskwise generate')`;

/** The sampling flags of chat and generate --chat. */
export function chatOptions(
  command: string,
  v: Record<string, string | boolean | undefined>,
): ChatOptions {
  const num = (name: string, fallback: number, o: { min?: number; integer?: boolean } = {}) =>
    numberFlag(command, name, v[name] as string | undefined, fallback, o);
  const o: ChatOptions = {
    maxNewTokens: num("max-new-tokens", 256, { min: 1, integer: true }),
    temperature: num("temperature", 0, { min: 0 }),
    topK: num("top-k", 0, { min: 0, integer: true }),
    topP: num("top-p", 1, { min: 0 }),
    repetitionPenalty: num("repetition-penalty", 1, { min: 0 }),
    seed: num("seed", 0, { integer: true }),
  };
  if (!(o.topP > 0 && o.topP <= 1)) {
    throw new MaskwiseError("--top-p must be above 0 and at most 1", {
      code: "E_ARG",
      where: `maskwise ${command} --top-p ${v["top-p"]}`,
      hint: "the share of probability mass sampled from, e.g. 0.9; 1 keeps every token",
    });
  }
  if (!(o.repetitionPenalty > 0)) {
    throw new MaskwiseError("--repetition-penalty must be above 0", {
      code: "E_ARG",
      where: `maskwise ${command} --repetition-penalty ${v["repetition-penalty"]}`,
      hint: "1 changes nothing; 1.1 to 1.3 discourage repeats",
    });
  }
  return o;
}

export const SAMPLING_FLAGS = {
  "max-new-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-k": { type: "string" },
  "top-p": { type: "string" },
  "repetition-penalty": { type: "string" },
  seed: { type: "string" },
} as const;

export const command: Command = {
  path: [NAME],
  summary: "talk with a chat model (template applied, replies streamed)",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      model: { type: "string" },
      adapter: { type: "string" },
      system: { type: "string" },
      ...SAMPLING_FLAGS,
      ...PRECISION_FLAGS,
    });
    if (!v.model) {
      throw new MaskwiseError("--model is required", {
        code: "E_ARG",
        where: `maskwise ${NAME}`,
        hint: "pass a chat model's directory",
      });
    }
    const options = chatOptions(NAME, v);
    const chosen = decodingPrecisionFromFlags(NAME, v);
    const { model, tok } = loadChatModel(v.model);
    if (v.adapter) loadAdapter(model, v.adapter);
    // The steps read the copies (made once for every conversation); int8 leaves the passes on
    // tensors in float32, as generate does.
    const precision: ChatPrecision = {
      matmul: chosen === "int8" ? "float32" : chosen,
      weights: decodingWeights(model, chosen),
    };
    const start: ChatMessage[] = v.system ? [{ role: "system", content: v.system }] : [];
    let session = new ChatSession(model, tok, options, start, precision);
    const tty = process.stdin.isTTY === true;
    const out = (s: string) => process.stdout.write(s);
    const rl = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
    if (tty) out("> ");
    for await (const line of rl) {
      if (tty) {
        const text = line.trim();
        if (text === "/exit") break;
        if (text === "/reset") {
          session = new ChatSession(model, tok, options, start, precision);
          out("(new conversation)\n> ");
          continue;
        }
        if (text === "") {
          out("> ");
          continue;
        }
        session.say(line, out);
        out("\n> ");
      } else {
        session.say(line, (piece) => out(piece.replace(/\r?\n/g, " ")));
        out("\n");
      }
    }
    if (tty) out("\n");
    return 0;
  },
};
