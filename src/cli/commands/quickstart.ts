// `maskwise quickstart`: the README's main job. Multi30k German to English from scratch: fetch the
// data (or read --data-dir), learn a joint BPE, train a small Transformer for a fixed time, then
// report sacreBLEU on test_2016_flickr with its signature and show a few translations.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { corpusBleu, formatBleu } from "../../eval/index.js";
import { EncoderDecoderModel } from "../../models/encoder-decoder.js";
import { getDataset } from "../../node/datasets.js";
import { loadEncoderDecoder } from "../../node/model-dir.js";
import { DirectoryStore } from "../../node/run-store.js";
import { claimOut, type Flags, sameAsConfig } from "../../node/train-run.js";
import {
  modelConfigFor,
  readPairs,
  tokenizerCheckpointHooks,
  trainJointTokenizer,
} from "../../node/training-setup.js";
import { seq2seq } from "../../objectives/lm.js";
import { Trainer } from "../../train/trainer.js";
import { translateLines } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";
import { progress, progressBar, progressDone } from "../timing.js";

const NAME = "quickstart";
const FILES = [
  "train.de",
  "train.en",
  "val.de",
  "val.en",
  "test_2016_flickr.de",
  "test_2016_flickr.en",
];
const HELP = `Usage: maskwise quickstart [--data-dir DIR] [--out DIR] [--minutes M] [--config PRESET]

Trains a German-to-English translator on Multi30k and reports sacreBLEU on test_2016_flickr:
  1. the data: --data-dir DIR with ${FILES.join(", ")}, or downloaded into the cache
     (~/.cache/maskwise/multi30k, or $MASKWISE_CACHE);
  2. a joint BPE tokenizer of --vocab-size tokens (default 8000);
  3. a --config model (default small: 3+3 layers, d_model 256; --model is its older spelling)
     trained for --minutes (default 12);
  4. beam search (--beam, default 5) on test_2016_flickr, BLEU as sacreBLEU computes it.
The run directory (--out, default runs/quickstart) holds metrics.jsonl, its curves
(curves.svg, curves.png), the checkpoints and the test translations. Other options:
--max-steps N (stop earlier), --max-tokens N (default 4096), --lr X (peak, default 0.0015,
reached after --warmup N updates, default 150, then brought down linearly to 0 over the
minutes or steps), --bf16 (mixed precision: bfloat16 products, faster on CPUs with AVX512_BF16;
see 'maskwise train --help'), --seed S, --cache DIR, --mirror URL (fetch the data from another
server), --overwrite (replace the run an earlier quickstart left in --out; without it such a
folder is refused). Ctrl-C saves checkpoints/last and stops.`;

export const command: Command = {
  path: ["quickstart"],
  summary: "train a German-English translator on Multi30k and report its BLEU",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      "data-dir": { type: "string" },
      out: { type: "string", default: join("runs", "quickstart") },
      minutes: { type: "string" },
      config: { type: "string" },
      model: { type: "string" },
      "vocab-size": { type: "string" },
      "max-steps": { type: "string" },
      "max-tokens": { type: "string" },
      lr: { type: "string" },
      warmup: { type: "string" },
      beam: { type: "string" },
      seed: { type: "string" },
      cache: { type: "string" },
      mirror: { type: "string" },
      bf16: { type: "boolean" },
      overwrite: { type: "boolean" },
    });
    const minutes = numberFlag(NAME, "minutes", v.minutes, 12, { min: 0 });
    let dir = v["data-dir"];
    if (dir) {
      const missing = FILES.filter((f) => !existsSync(join(dir as string, f)));
      if (missing.length > 0) {
        throw new MaskwiseError(`${missing.join(", ")} not found`, {
          code: "E_FILE",
          where: dir,
          hint: `--data-dir needs ${FILES.join(", ")}`,
        });
      }
    } else {
      progress("quickstart: fetching Multi30k");
      try {
        const paths = await getDataset("multi30k", {
          cacheDir: v.cache,
          mirror: v.mirror ?? process.env.MASKWISE_MIRROR,
        });
        dir = join(paths[0], "..");
      } catch (e) {
        const why = e instanceof MaskwiseError ? e.message : (e as Error).message;
        throw new MaskwiseError(`could not get Multi30k (${why})`, {
          code: "E_NETWORK",
          where: "maskwise quickstart",
          hint: `download it with 'maskwise data get multi30k' where there is a network, or pass --data-dir DIR holding ${FILES.join(", ")}`,
        });
      }
    }
    const d = dir as string;
    const train = await readPairs(join(d, "train.de"), join(d, "train.en"));
    const valid = await readPairs(join(d, "val.de"), join(d, "val.en"));
    const test = await readPairs(join(d, "test_2016_flickr.de"), join(d, "test_2016_flickr.en"));
    progress(`quickstart: learning a joint BPE on ${train.length} sentence pairs`);
    const tok = trainJointTokenizer(
      train,
      numberFlag(NAME, "vocab-size", v["vocab-size"], 8000, { min: 16, integer: true }),
    );
    sameAsConfig(NAME, v as Flags);
    const config = modelConfigFor((v.model as string | undefined) ?? "small", tok);
    const seed = numberFlag(NAME, "seed", v.seed, 1, { integer: true });
    const model = new EncoderDecoderModel(config, seed);
    const encode = (pairs: [string, string][]) =>
      pairs.map(([s, t]) => seq2seq(tok.encode(s), tok.encode(t), { eos: config.eos_token_id }));
    const out = v.out as string;
    claimOut(NAME, out, v.overwrite === true);
    const store = new DirectoryStore(out);
    const sample = valid.slice(0, 200);
    const bar = progressBar("quickstart");
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
    };
    process.once("SIGINT", onSigint);
    const trainer = new Trainer(
      model,
      { train: encode(train), valid: encode(valid) },
      {
        maxSeconds: minutes * 60,
        maxSteps:
          v["max-steps"] === undefined
            ? undefined
            : numberFlag(NAME, "max-steps", v["max-steps"], 0, { min: 1, integer: true }),
        maxTokens: numberFlag(NAME, "max-tokens", v["max-tokens"], 4096, {
          min: 64,
          integer: true,
        }),
        // A 12-minute run on 2 cores makes about 600 updates (at ~3,200 target tokens/s): the
        // warmup ends well inside it, then the rate falls linearly to 0 as the minutes run out
        // (on the 40-minute Multi30k recipe this beat inverse-sqrt by 1 BLEU).
        schedule: {
          kind: "linear",
          lr: numberFlag(NAME, "lr", v.lr, 1.5e-3, { min: 0 }),
          warmup: numberFlag(NAME, "warmup", v.warmup, 150, { min: 0, integer: true }),
        },
        labelSmoothing: 0.1,
        weightDecay: 0.0001,
        evalEvery: 1000,
        ...(v.bf16 ? { matmulPrecision: "bfloat16" as const } : {}),
        seed,
      },
      store,
      {
        ...tokenizerCheckpointHooks(tok),
        shouldStop: () => interrupted,
        evaluate: (m): Record<string, number> => ({
          valid_bleu: corpusBleu(
            translateLines(
              m,
              tok,
              sample.map(([s]) => s),
            ).map((h) => h[0].text),
            [sample.map(([, t]) => t)],
          ).score,
        }),
        // The run ends at the step limit or the time budget, whichever comes first: the
        // trainer's progress is whichever of the two is further along.
        onUpdate: bar,
      },
    );
    const summary = await trainer.runAsync();
    process.removeListener("SIGINT", onSigint);
    store.finish(); // the curves, with the steps logged since the last evaluation
    progress("quickstart: translating test_2016_flickr with beam search");
    const best = loadEncoderDecoder(join(out, "checkpoints", "best"));
    const beam = numberFlag(NAME, "beam", v.beam, 5, { min: 1, integer: true });
    const hyps = translateLines(
      best,
      tok,
      test.map(([s]) => s),
      { beam },
    ).map((h) => h[0].text);
    writeFileSync(join(out, "test_2016_flickr.hyp.en"), `${hyps.join("\n")}\n`);
    const bleu = corpusBleu(hyps, [test.map(([, t]) => t)]);
    progressDone();
    console.log(
      `trained ${summary.state.step} steps (${summary.stoppedBy}); run directory: ${out}`,
    );
    console.log(`test_2016_flickr, beam ${beam}: ${formatBleu(bleu)}`);
    for (let i = 0; i < Math.min(3, test.length); i++) {
      console.log(`\n  de:   ${test[i][0]}\n  ref:  ${test[i][1]}\n  hyp:  ${hyps[i]}`);
    }
    return summary.stoppedBy === "interrupted" ? 130 : 0;
  },
};
