// `maskwise train --task translation …`: trains (or fine-tunes, or resumes) an encoder-decoder on
// parallel text and writes a run directory (../shared/CLI.md).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { corpusBleu } from "../../eval/index.js";
import { EncoderDecoderModel } from "../../models/encoder-decoder.js";
import { readText } from "../../node/files.js";
import { DirectoryStore } from "../../node/run-store.js";
import {
  initFrom,
  loadTokenizer,
  modelConfigFor,
  readPairs,
  trainJointTokenizer,
} from "../../node/training-setup.js";
import { seq2seq } from "../../objectives/lm.js";
import { tokenizerToString } from "../../tokenizer/index.js";
import { Trainer, type TrainerOptions } from "../../train/trainer.js";
import { translateLines } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, numberFlag, parseFlags } from "../command.js";
import { progress, progressDone } from "../timing.js";

const NAME = "train";
const HELP = `Usage: maskwise train --task translation --train-src F --train-tgt F --valid-src F --valid-tgt F
                      --out DIR [options]

Trains an encoder-decoder on parallel text (one sentence a line, files aligned by line) and
writes a run directory: metrics.jsonl, checkpoints/last/ and checkpoints/best/ (model
directories with config.json, model.safetensors, tokenizer.json, trainer_state.json and
optimizer.safetensors).

Options:
  --model PRESET|FILE    tiny, small (default) or base, or a config.json
  --tokenizer FILE       a tokenizer.json; default: train a joint BPE on the training text
  --vocab-size N         vocabulary of a newly trained tokenizer (default 8000)
  --max-steps N          stop after N updates
  --max-epochs N         stop after N epochs (default 10 when --max-steps is absent)
  --max-tokens N         padded tokens per batch (default 4096)
  --update-freq N        batches accumulated per update (default 1)
  --lr X                 peak learning rate (default 5e-4)
  --warmup N             warmup updates of the inverse-sqrt schedule (default 4000)
  --label-smoothing X    default 0.1
  --dropout X            default 0.1
  --weight-decay X       default 0.0001 (never on biases and norms)
  --clip-norm X          global gradient-norm clip (default 0 = off)
  --eval-every N         evaluate every N updates (default: each epoch)
  --patience N           stop after N evaluations without a better validation loss
  --bleu-sample N        greedy-decode N validation sentences for BLEU at each evaluation (default 200)
  --max-len N            drop training pairs longer than N tokens (default 256)
  --seed S               default 1
  --init-from DIR        start from the weights of a model directory (fine-tuning)
  --resume               continue the run in --out exactly where it stopped, with the options
                         it was started with (flags given now override them)

Ctrl-C saves checkpoints/last and exits; --resume continues from there.`;

export const command: Command = {
  path: ["train"],
  summary: "train or fine-tune a model; write a run directory",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      task: { type: "string", default: "translation" },
      "train-src": { type: "string" },
      "train-tgt": { type: "string" },
      "valid-src": { type: "string" },
      "valid-tgt": { type: "string" },
      out: { type: "string" },
      model: { type: "string", default: "small" },
      tokenizer: { type: "string" },
      "vocab-size": { type: "string" },
      "max-steps": { type: "string" },
      "max-epochs": { type: "string" },
      "max-tokens": { type: "string" },
      "update-freq": { type: "string" },
      lr: { type: "string" },
      warmup: { type: "string" },
      "label-smoothing": { type: "string" },
      dropout: { type: "string" },
      "weight-decay": { type: "string" },
      "clip-norm": { type: "string" },
      "eval-every": { type: "string" },
      patience: { type: "string" },
      "bleu-sample": { type: "string" },
      "max-len": { type: "string" },
      seed: { type: "string" },
      "init-from": { type: "string" },
      resume: { type: "boolean" },
    });
    if (v.task !== "translation") {
      throw new MaskwiseError(`task '${v.task}' is not available yet`, {
        code: "E_ARG",
        where: "maskwise train --task",
        hint: "use --task translation",
      });
    }
    for (const f of ["train-src", "train-tgt", "valid-src", "valid-tgt", "out"] as const) {
      if (!v[f])
        throw new MaskwiseError(`--${f} is required`, {
          code: "E_ARG",
          where: "maskwise train",
          hint: "see 'maskwise train --help'",
        });
    }
    const int = (name: string, value: string | undefined, fallback: number, min = 0) =>
      numberFlag(NAME, name, value, fallback, { min, integer: true });
    const num = (name: string, value: string | undefined, fallback: number) =>
      numberFlag(NAME, name, value, fallback, { min: 0 });
    const out = v.out as string;
    const store = new DirectoryStore(out);
    const lastDir = join(out, "checkpoints", "last");
    if (v.resume && !existsSync(join(lastDir, "model.safetensors"))) {
      throw new MaskwiseError("nothing to resume", {
        code: "E_ARG",
        where: lastDir,
        hint: "start without --resume",
      });
    }

    const train = await readPairs(v["train-src"] as string, v["train-tgt"] as string);
    const valid = await readPairs(v["valid-src"] as string, v["valid-tgt"] as string);
    progress(`train: ${train.length} training pairs, ${valid.length} validation pairs`);

    const tokPath = v.resume
      ? join(lastDir, "tokenizer.json")
      : (v.tokenizer ?? (v["init-from"] ? join(v["init-from"], "tokenizer.json") : undefined));
    if (!tokPath) progress("train: learning a joint BPE tokenizer");
    const tok = tokPath
      ? loadTokenizer(tokPath)
      : trainJointTokenizer(train, int("vocab-size", v["vocab-size"], 8000, 16));
    const modelSource = v.resume
      ? join(lastDir, "config.json")
      : v["init-from"]
        ? join(v["init-from"], "config.json")
        : (v.model as string);
    const config = modelConfigFor(
      modelSource,
      tok,
      v.dropout === undefined ? {} : { dropout: num("dropout", v.dropout, 0.1) },
    );
    const seed =
      v.resume && v.seed === undefined
        ? Number(
            JSON.parse(readText(join(lastDir, "trainer_state.json"), "trainer_state.json")).seed ??
              1,
          )
        : int("seed", v.seed, 1);
    const model = new EncoderDecoderModel(config, seed);
    if (v["init-from"] && !v.resume) initFrom(model, v["init-from"]);

    const maxLen = int("max-len", v["max-len"], 256, 1);
    const encode = (pairs: [string, string][], filter: boolean) =>
      pairs
        .map(([s, t]) => seq2seq(tok.encode(s), tok.encode(t), { eos: config.eos_token_id }))
        .filter((e) => !filter || (e.input_ids.length <= maxLen && e.labels.length <= maxLen));
    const trainEx = encode(train, true);
    const validEx = encode(valid, false);
    const bleuSample = int("bleu-sample", v["bleu-sample"], 200);
    const sample = valid.slice(0, bleuSample);
    // --resume continues with the options the run was started with; flags given now override them.
    const saved: Partial<TrainerOptions> = v.resume
      ? (JSON.parse(readText(join(lastDir, "trainer_state.json"), "trainer_state.json")).options ??
        {})
      : {};
    const pick = <T>(
      flag: string | undefined,
      parse: () => T,
      fromRun: T | undefined,
      fallback: T,
    ): T => (flag !== undefined ? parse() : (fromRun ?? fallback));
    const limitsGiven = v["max-steps"] !== undefined || v["max-epochs"] !== undefined;
    const maxSteps =
      v["max-steps"] !== undefined
        ? int("max-steps", v["max-steps"], 0, 1)
        : limitsGiven
          ? undefined
          : saved.maxSteps;
    const maxEpochs =
      v["max-epochs"] !== undefined
        ? int("max-epochs", v["max-epochs"], 10, 1)
        : limitsGiven
          ? undefined
          : (saved.maxEpochs ?? (maxSteps === undefined ? 10 : undefined));
    const savedSchedule = saved.schedule?.kind === "inverse-sqrt" ? saved.schedule : undefined;
    let interrupted = false;
    const onSigint = () => {
      interrupted = true;
    };
    process.once("SIGINT", onSigint);
    const trainer = new Trainer(
      model,
      { train: trainEx, valid: validEx },
      {
        maxSteps,
        maxEpochs,
        maxTokens: pick(
          v["max-tokens"],
          () => int("max-tokens", v["max-tokens"], 4096, 1),
          saved.maxTokens,
          4096,
        ),
        updateFreq: pick(
          v["update-freq"],
          () => int("update-freq", v["update-freq"], 1, 1),
          saved.updateFreq,
          1,
        ),
        schedule: {
          kind: "inverse-sqrt",
          lr: pick(v.lr, () => num("lr", v.lr, 5e-4), savedSchedule?.lr, 5e-4),
          warmup: pick(v.warmup, () => int("warmup", v.warmup, 4000), savedSchedule?.warmup, 4000),
        },
        labelSmoothing: pick(
          v["label-smoothing"],
          () => num("label-smoothing", v["label-smoothing"], 0.1),
          saved.labelSmoothing,
          0.1,
        ),
        weightDecay: pick(
          v["weight-decay"],
          () => num("weight-decay", v["weight-decay"], 0.0001),
          saved.weightDecay,
          0.0001,
        ),
        clipNorm: pick(
          v["clip-norm"],
          () => num("clip-norm", v["clip-norm"], 0),
          saved.clipNorm,
          0,
        ),
        evalEvery: pick(
          v["eval-every"],
          () => int("eval-every", v["eval-every"], 0),
          saved.evalEvery,
          0,
        ),
        patience: pick(v.patience, () => int("patience", v.patience, 0), saved.patience, 0),
        seed,
      },
      store,
      {
        extraFiles: { "tokenizer.json": tokenizerToString(tok) },
        shouldStop: () => interrupted,
        evaluate: (m): Record<string, number> => {
          if (sample.length === 0) return {};
          const hyps = translateLines(
            m,
            tok,
            sample.map(([s]) => s),
          ).map((h) => h[0].text);
          return { valid_bleu: corpusBleu(hyps, [sample.map(([, t]) => t)]).score };
        },
        onUpdate: (u) =>
          progress(
            `train: step ${u.step} epoch ${u.epoch} loss ${u.loss.toFixed(3)} lr ${u.lr.toExponential(2)} ${u.tokensPerS.toFixed(0)} tok/s ${(u.progress * 100).toFixed(1)}%`,
          ),
      },
    );
    if (v.resume) trainer.resume("last");
    const summary = trainer.run();
    process.removeListener("SIGINT", onSigint);
    progressDone();
    const line = {
      stopped_by: summary.stoppedBy,
      step: summary.state.step,
      epoch: summary.state.epoch,
      valid_loss: summary.lastValidLoss,
      run: out,
    };
    console.log(JSON.stringify(line));
    return summary.stoppedBy === "interrupted" ? 130 : 0;
  },
};
