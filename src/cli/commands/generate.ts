// `maskwise generate --model DIR`: a decoder-only model continues each stdin line (a prompt) and
// writes the continuation as one stdout line. Prompts of one batch are left-padded; positions
// come from the mask, so padding never shifts them.
import { join } from "node:path";
import { createInterface } from "node:readline";
import { beamSearch } from "../../decode/beam.js";
import { greedy } from "../../decode/greedy.js";
import { sample } from "../../decode/sampling.js";
import type { Hypothesis } from "../../decode/types.js";
import { DecoderOnlyIncremental } from "../../models/incremental.js";
import { loadDecoderOnly } from "../../node/model-dir.js";
import { loadTokenizer } from "../../node/training-setup.js";
import { Tensor } from "../../tensor/tensor.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";

const NAME = "generate";
const HELP = `Usage: maskwise generate --model DIR [--max-new-tokens N] [--beam K]
                         [--sample --temperature T --top-k K --top-p P --seed S]

Reads prompts from standard input, one a line, and writes each continuation as one line. DIR is
a decoder-only model directory (config.json with maskwise_arch "decoder-only", model.safetensors,
tokenizer.json). Each prompt starts with the bos token. Decoding is greedy unless --beam K (> 1)
or --sample is given. Defaults: --max-new-tokens 64, --temperature 1, --top-k 0 (all),
--top-p 1, --seed 0, --batch-size 16.`;

export const command: Command = {
  path: ["generate"],
  summary: "continue stdin prompts with a decoder-only model",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      model: { type: "string" },
      "max-new-tokens": { type: "string" },
      beam: { type: "string" },
      sample: { type: "boolean" },
      temperature: { type: "string" },
      "top-k": { type: "string" },
      "top-p": { type: "string" },
      seed: { type: "string" },
      "batch-size": { type: "string" },
    });
    if (!v.model)
      throw new MaskwiseError("--model is required", {
        code: "E_ARG",
        where: "maskwise generate",
        hint: "pass a decoder-only model directory",
      });
    const model = loadDecoderOnly(v.model);
    const tok = loadTokenizer(join(v.model, "tokenizer.json"));
    const cfg = model.config;
    const maxNew = numberFlag(NAME, "max-new-tokens", v["max-new-tokens"], 64, {
      min: 1,
      integer: true,
    });
    const beam = numberFlag(NAME, "beam", v.beam, 1, { min: 1, integer: true });
    const batchSize = numberFlag(NAME, "batch-size", v["batch-size"], 16, {
      min: 1,
      integer: true,
    });
    const sampling = {
      temperature: numberFlag(NAME, "temperature", v.temperature, 1, { min: 0 }),
      topK: numberFlag(NAME, "top-k", v["top-k"], 0, { min: 0, integer: true }),
      topP: numberFlag(NAME, "top-p", v["top-p"], 1, { min: 0 }),
      seed: numberFlag(NAME, "seed", v.seed, 0, { integer: true }),
    };
    const gen = { startToken: cfg.bos_token_id, eosToken: cfg.eos_token_id, maxLength: maxNew };
    const flush = (lines: string[]) => {
      const prompts = lines.map((l) => [cfg.bos_token_id, ...tok.encode(l)]);
      const P = Math.max(...prompts.map((p) => p.length));
      const ids = new Int32Array(prompts.length * P).fill(cfg.pad_token_id);
      const mask = new Int32Array(prompts.length * P);
      prompts.forEach((p, r) => {
        ids.set(p, r * P + P - p.length);
        mask.fill(1, r * P + P - p.length, (r + 1) * P);
      });
      const decoder = new DecoderOnlyIncremental(
        model,
        new Tensor(ids, [prompts.length, P]),
        new Tensor(mask, [prompts.length, P]),
      );
      const hyps: Hypothesis[] =
        beam > 1
          ? beamSearch(decoder, { ...gen, beamSize: beam }).map((h) => h[0])
          : v.sample
            ? sample(decoder, { ...gen, ...sampling })
            : greedy(decoder, gen);
      const out = hyps.map((h) =>
        tok
          .decode(
            h.tokens.filter((t) => t !== cfg.eos_token_id),
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
