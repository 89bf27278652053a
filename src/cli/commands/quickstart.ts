// `maskwise quickstart`: the README's main job. A translator trained from scratch: read the data,
// learn a joint BPE, train a small Transformer for a fixed time, then report sacreBLEU on the
// test set with its signature and show a few translations. The default data is the Tatoeba
// Chinese-English corpus the package carries (no network); --dataset multi30k fetches Multi30k
// German-English (or reads --data-dir).
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spreadSample } from "../../data/spread-sample.js";
import { corpusBleu, formatBleu } from "../../eval/index.js";
import { EncoderDecoderModel } from "../../models/encoder-decoder.js";
import { getDataset } from "../../node/datasets.js";
import { loadEncoderDecoder } from "../../node/model-dir.js";
import {
  PRECISION_FLAGS,
  precisionFlag,
  precisionFromFlags,
  resolvePrecision,
} from "../../node/precision.js";
import { DirectoryStore } from "../../node/run-store.js";
import { tatoebaSplit } from "../../node/tatoeba.js";
import { claimOut, type Flags, sameAsConfig } from "../../node/train-run.js";
import {
  modelConfigFor,
  readPairs,
  tokenizerCheckpointHooks,
  trainJointTokenizer,
} from "../../node/training-setup.js";
import { seq2seq } from "../../objectives/lm.js";
import { DEFAULT_SPECIAL_TOKENS, type Tokenizer, trainTokenizer } from "../../tokenizer/index.js";
import { Trainer } from "../../train/trainer.js";
import { translateLines } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";
import { progress, progressBar, progressDone } from "../timing.js";

const NAME = "quickstart";
const DATASETS = ["tatoeba-zh-en", "multi30k"] as const;
type DatasetName = (typeof DATASETS)[number];
const M30K_FILES = [
  "train.de",
  "train.en",
  "val.de",
  "val.en",
  "test_2016_flickr.de",
  "test_2016_flickr.en",
];
const HELP = `Usage: maskwise quickstart [--dataset tatoeba-zh-en|multi30k] [--data-dir DIR] [--minutes M]
                           [--out DIR] [--config PRESET]

Trains a translator from scratch and reports sacreBLEU on its test set:
  1. the data, by --dataset:
     tatoeba-zh-en (the default with no --data-dir): Chinese to English on Tatoeba's pairs
       (CC-BY 2.0 FR), read from the copy the package carries (data/tatoeba-zh-en/cmn.txt.gz),
       no network; --data-dir DIR reads DIR/cmn.txt instead. A fixed split by line number n of
       cmn.txt: test when n % 20 = 0 (1,457 pairs), valid when n % 20 = 1, train otherwise;
     multi30k (the default with --data-dir): German to English on Multi30k, --data-dir DIR with
       train.de, train.en, val.de, val.en, test_2016_flickr.de and test_2016_flickr.en, or
       downloaded into the cache (~/.cache/maskwise/multi30k, or $MASKWISE_CACHE; --cache DIR,
       --mirror URL fetch from another server); test set test_2016_flickr;
  2. a joint BPE tokenizer of --vocab-size tokens (default 8000; for Chinese the most frequent
     characters covering 99.95% of the text, rarer ones written as their UTF-8 bytes);
  3. a --config model (default small: 3+3 layers, d_model 256; --model is its older spelling)
     trained for --minutes (default 12);
  4. beam search (--beam, default 5) on the test set, BLEU as sacreBLEU computes it with its
     13a tokenization (both targets are English; 'maskwise eval bleu --tokenize zh' is for
     Chinese output), printed with sacreBLEU's signature, then a few translations.
The run directory (--out, default runs/quickstart) holds metrics.jsonl, its curves
(curves.svg, curves.png), the checkpoints, the test set's source and reference and the
translations (test.src.zh, test.ref.en, test.hyp.en for Tatoeba; test_2016_flickr.hyp.en for
Multi30k). Other options: --max-steps N (stop earlier), --max-tokens N (tokens per batch;
default 2048 for Tatoeba, whose Chinese needs many updates, 4096 for Multi30k), --lr X (peak,
default 0.0015, reached after --warmup N updates, default 200 for Tatoeba, 150 for Multi30k,
then brought down linearly to 0 over the minutes or steps), --precision
auto|float32|bfloat16 (the training steps' matrix products; default auto: times both on this
CPU once and takes the faster, saying which on stderr; --bf16 is --precision bfloat16; see 'maskwise train --help'), --seed S,
--overwrite (replace the run an earlier quickstart left in --out; without it such a folder is
refused). Ctrl-C saves checkpoints/last and stops.`;

/** What a quickstart trains and tests on: [source, target] pairs and how to name them. */
interface QuickstartData {
  label: string;
  sourceLang: string;
  train: [string, string][];
  valid: [string, string][];
  test: [string, string][];
  /** How the BLEU line names the test set. */
  testName: string;
  /** Files written into the run directory: the translations, and (Tatoeba) source and refs. */
  files: { hyp: string; src?: string; ref?: string };
  /** Which test pairs (indices) the end of the run shows. */
  shown: (n: number) => number[];
  /** The joint tokenizer learnt on both sides of the training pairs. */
  tokenizer: (vocabSize: number) => Tokenizer;
  /** The validation pairs decoded for valid_bleu at each evaluation. */
  bleuSample: [string, string][];
  /** Tokens per batch and warmup updates unless --max-tokens and --warmup say otherwise. */
  defaults: { maxTokens: number; warmup: number };
}

/** Validation pairs decoded for valid_bleu. */
const BLEU_SAMPLE = 200;

function datasetOf(v: Flags): DatasetName {
  const given = v.dataset as string | undefined;
  if (given !== undefined && !(DATASETS as readonly string[]).includes(given)) {
    throw new MaskwiseError(`--dataset must be ${DATASETS.join(" or ")}, got '${given}'`, {
      code: "E_ARG",
      where: `maskwise ${NAME} --dataset`,
      hint: "tatoeba-zh-en (Chinese-English, carried by the package) or multi30k (German-English, downloaded)",
    });
  }
  // --data-dir alone keeps its first meaning: a folder of Multi30k files.
  const name = (given ??
    (v["data-dir"] !== undefined ? "multi30k" : "tatoeba-zh-en")) as DatasetName;
  if (name === "tatoeba-zh-en") {
    for (const f of ["cache", "mirror"]) {
      if (v[f] !== undefined) {
        throw new MaskwiseError(`--${f} only applies to the Multi30k download`, {
          code: "E_ARG",
          where: `maskwise ${NAME} --${f}`,
          hint: "the Tatoeba corpus comes with the package: drop it, or add --dataset multi30k",
        });
      }
    }
  }
  return name;
}

async function multi30k(v: Flags): Promise<QuickstartData> {
  let dir = v["data-dir"] as string | undefined;
  if (dir) {
    const missing = M30K_FILES.filter((f) => !existsSync(join(dir as string, f)));
    if (missing.length > 0) {
      throw new MaskwiseError(`${missing.join(", ")} not found`, {
        code: "E_FILE",
        where: dir,
        hint: `--data-dir needs ${M30K_FILES.join(", ")} (for Tatoeba's cmn.txt add --dataset tatoeba-zh-en)`,
      });
    }
  } else {
    progress("quickstart: fetching Multi30k");
    try {
      const paths = await getDataset("multi30k", {
        cacheDir: v.cache as string | undefined,
        mirror: (v.mirror as string | undefined) ?? process.env.MASKWISE_MIRROR,
      });
      dir = join(paths[0], "..");
    } catch (e) {
      const why = e instanceof MaskwiseError ? e.message : (e as Error).message;
      throw new MaskwiseError(`could not get Multi30k (${why})`, {
        code: "E_NETWORK",
        where: "maskwise quickstart",
        hint: `download it with 'maskwise data get multi30k' where there is a network, or pass --data-dir DIR holding ${M30K_FILES.join(", ")}`,
      });
    }
  }
  const d = dir as string;
  const train = await readPairs(join(d, "train.de"), join(d, "train.en"));
  const valid = await readPairs(join(d, "val.de"), join(d, "val.en"));
  return {
    label: "Multi30k German-English",
    sourceLang: "de",
    train,
    valid,
    test: await readPairs(join(d, "test_2016_flickr.de"), join(d, "test_2016_flickr.en")),
    testName: "test_2016_flickr",
    files: { hyp: "test_2016_flickr.hyp.en" },
    shown: (n) => [0, 1, 2].filter((i) => i < n),
    tokenizer: (vocabSize) => trainJointTokenizer(train, vocabSize),
    bleuSample: valid.slice(0, BLEU_SAMPLE),
    // 12 minutes on 2 cores: about 680 updates of 4096 tokens, 32 BLEU on test_2016_flickr.
    defaults: { maxTokens: 4096, warmup: 150 },
  };
}

function tatoeba(v: Flags): QuickstartData {
  const { split } = tatoebaSplit(v["data-dir"] as string | undefined);
  return {
    label: "Tatoeba Chinese-English",
    sourceLang: "zh",
    ...split,
    testName: "Tatoeba zh-en test",
    files: { hyp: "test.hyp.en", src: "test.src.zh", ref: "test.ref.en" },
    // The file runs from short to long sentences: one from each half and one near the end.
    shown: (n) => [...new Set([Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4)])],
    // Metaspace BPE keeps a Chinese character one symbol; a sentence without spaces is one word
    // whose merges become multi-character pieces. SentencePiece's settings for Chinese: rare
    // characters (the last 0.05% of the text) leave their vocabulary slots to merges and are
    // written as UTF-8 bytes instead of <unk>, so a test sentence never loses a character.
    tokenizer: (vocabSize) =>
      trainTokenizer(split.train.flat(), {
        vocabSize,
        specialTokens: DEFAULT_SPECIAL_TOKENS,
        characterCoverage: 0.9995,
        byteFallback: true,
      }),
    // cmn.txt runs from short to long sentences, so its first lines are the shortest ones
    // ("Hi.", "Run."): pairs spread evenly over the valid part stand for all of it.
    bleuSample: spreadSample(split.valid, BLEU_SAMPLE),
    // Chinese to English needs more updates than twelve minutes of 4096-token batches give
    // (887 on 2 cores, test BLEU 4.44): examples/tatoeba-zh, with the same model, rate and
    // batches, went from 5.1 BLEU at 554 updates to 13.6 at 869 (float32, 10 and 20 minutes)
    // and 28.9 at 1,305 (bfloat16 products, 20 minutes). A batch of 2048 tokens costs about
    // half the time of one of 4096, so the same minutes make about twice the updates (more
    // than the recipe's 1,305) over the same number of epochs; the warmup is the recipe's 200.
    defaults: { maxTokens: 2048, warmup: 200 },
  };
}

export const command: Command = {
  path: ["quickstart"],
  summary: "train a translator (Chinese-English from the package, or Multi30k) and report its BLEU",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      dataset: { type: "string" },
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
      ...PRECISION_FLAGS,
      overwrite: { type: "boolean" },
    });
    const minutes = numberFlag(NAME, "minutes", v.minutes, 12, { min: 0 });
    const dataset = datasetOf(v as Flags);
    // The README's main job takes the faster precision of this CPU unless told otherwise; the
    // choice is said on a terminal (a quiet stderr elsewhere, as for progress), and an explicit
    // --precision auto says it always.
    const quiet = { say: process.stderr.isTTY ? undefined : () => {} };
    const precision =
      precisionFlag(NAME, v) === undefined
        ? resolvePrecision("auto", quiet)
        : precisionFromFlags(NAME, v);
    const data = dataset === "multi30k" ? await multi30k(v as Flags) : tatoeba(v as Flags);
    const { train, valid, test } = data;
    progress(`quickstart: learning a joint BPE on ${train.length} sentence pairs`);
    const tok = data.tokenizer(
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
    const sample = data.bleuSample;
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
        maxTokens: numberFlag(NAME, "max-tokens", v["max-tokens"], data.defaults.maxTokens, {
          min: 64,
          integer: true,
        }),
        // The warmup ends well inside the run (hundreds of updates on 2 cores: see each
        // dataset's defaults), then the rate falls linearly to 0 as the minutes run out (on the
        // 40-minute Multi30k recipe this beat inverse-sqrt by 1 BLEU).
        schedule: {
          kind: "linear",
          lr: numberFlag(NAME, "lr", v.lr, 1.5e-3, { min: 0 }),
          warmup: numberFlag(NAME, "warmup", v.warmup, data.defaults.warmup, {
            min: 0,
            integer: true,
          }),
        },
        labelSmoothing: 0.1,
        weightDecay: 0.0001,
        evalEvery: 1000,
        ...(precision === "bfloat16" ? { matmulPrecision: precision } : {}),
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
    progress(`quickstart: translating ${data.testName} with beam search`);
    const best = loadEncoderDecoder(join(out, "checkpoints", "best"));
    const beam = numberFlag(NAME, "beam", v.beam, 5, { min: 1, integer: true });
    const hyps = translateLines(
      best,
      tok,
      test.map(([s]) => s),
      { beam },
    ).map((h) => h[0].text);
    const lines = (xs: string[]) => `${xs.join("\n")}\n`;
    writeFileSync(join(out, data.files.hyp), lines(hyps));
    if (data.files.src) writeFileSync(join(out, data.files.src), lines(test.map(([s]) => s)));
    if (data.files.ref) writeFileSync(join(out, data.files.ref), lines(test.map(([, t]) => t)));
    // English targets: sacreBLEU's default 13a tokenization, named in the signature (tok:13a).
    const bleu = corpusBleu(hyps, [test.map(([, t]) => t)]);
    progressDone();
    console.log(
      `trained ${summary.state.step} steps (${summary.stoppedBy}) on ${data.label}; run directory: ${out}`,
    );
    console.log(`${data.testName}, beam ${beam}: ${formatBleu(bleu)}`);
    const src = `${data.sourceLang}:`.padEnd(5);
    for (const i of data.shown(test.length)) {
      console.log(`\n  ${src} ${test[i][0]}\n  ref:  ${test[i][1]}\n  hyp:  ${hyps[i]}`);
    }
    return summary.stoppedBy === "interrupted" ? 130 : 0;
  },
};
