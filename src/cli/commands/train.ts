// `maskwise train --task …`: trains (or fine-tunes, or resumes) a model and writes a run directory
// (../shared/CLI.md). translation reads parallel text; summarization, dialogue, qa and lm read
// fields of JSON-lines or TSV files (src/node/task-data.ts). The model kind follows the task:
// an encoder-decoder by default, a decoder-only model for lm (or with --arch decoder-only).
import { corpusBleu, corpusRouge } from "../../eval/index.js";
import type { Arch } from "../../models/config.js";
import type { DecoderOnlyModel } from "../../models/decoder-only.js";
import type { EncoderDecoderModel } from "../../models/encoder-decoder.js";
import { readFields } from "../../node/task-data.js";
import {
  dataFlagsToSave,
  type Flags,
  interruptFlag,
  intFlag,
  openRun,
  RUN_FLAGS,
  removeCheckpoint,
  required,
  resumeDataFlags,
  runFlagsHelp,
  runModel,
  runSeed,
  runToEnd,
  runTokenizer,
  trainerOptions,
} from "../../node/train-run.js";
import { readPairs, tokenizerCheckpointHooks } from "../../node/training-setup.js";
import { causalLM, prefixLM, seq2seq } from "../../objectives/lm.js";
import type { Example } from "../../objectives/types.js";
import { continuePrompts } from "../../train/generate.js";
import type { DecoderMask, TrainableModel } from "../../train/tasks.js";
import { Trainer } from "../../train/trainer.js";
import { translateLines } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";
import { metricsLog, progress, progressBar, progressDone } from "../timing.js";

const NAME = "train";
const TASKS = ["translation", "summarization", "dialogue", "qa", "lm"] as const;
/** The data files of a run, saved with it so that --resume needs none of them. */
const DATA_FLAGS = ["train-src", "train-tgt", "valid-src", "valid-tgt", "train", "valid"];
type Task = (typeof TASKS)[number];

/** Default fields of each task (JSON lines; TSV files default to columns 0 and 1). */
const FIELDS: Record<Exclude<Task, "translation">, { source: string; target?: string }> = {
  summarization: { source: "document", target: "summary" },
  dialogue: { source: "dialogue", target: "summary" },
  qa: { source: "question,context", target: "answer" },
  lm: { source: "text" },
};

const HELP = `Usage: maskwise train --task translation --train-src F --train-tgt F --valid-src F --valid-tgt F
                      --out DIR [options]
       maskwise train --task summarization|dialogue|qa|lm --train F --valid F
                      [--source-field A --target-field B] --out DIR [options]

Trains a model and writes a run directory: metrics.jsonl, checkpoints/last/ and
checkpoints/best/ (model directories with config.json, model.safetensors, tokenizer.json,
trainer_state.json and optimizer.safetensors).

Tasks:
  translation     an encoder-decoder on parallel text (one sentence a line, files aligned by line);
                  evaluation: valid_loss and valid_bleu (greedy decoding of --bleu-sample lines)
  summarization   source -> target pairs from JSON lines (*.jsonl: fields by name, default
  dialogue        document/summary for summarization, dialogue/summary for dialogue, as in
                  DialogSum) or TSV (*.tsv: 0-based columns or header names, default 0 and 1);
                  an encoder-decoder unless --arch decoder-only; evaluation: valid_loss and
                  valid_rouge1/2/L (rouge-score F1 x 100; greedy decoding of --rouge-sample
                  validation examples)
  qa              as summarization, the source may join several fields (default
                  question,context; target answer); evaluation: valid_loss
  lm              a decoder-only model: on one text field (--source-field, default text) as a
                  causal LM, or with --target-field on "<s> source </s> target </s>" where only
                  the target is predicted, attending by --mask; evaluation: valid_loss

Task options:
  --source-field LIST    the source field(s); several are joined as "name: text" lines
  --target-field NAME    the target field
  --arch KIND            encoder-decoder (default) or decoder-only for summarization, dialogue, qa
  --mask prefix|causal   decoder-only with a source: prefix (default) attends bidirectionally over
                         the source and causally after it; causal attends causally everywhere.
                         Either way only the target is predicted.
  --bleu-sample N        translation: validation sentences decoded for BLEU (default 200)
  --rouge-sample N       summarization, dialogue: validation examples decoded for ROUGE (default 50)
  --no-repeat-ngram-size N  that decoding (BLEU or ROUGE) never repeats an n-gram of N generated
                         tokens (default 0 = off; 3 is usual for summaries)

Training options:
${runFlagsHelp(0.1)}

Ctrl-C saves checkpoints/last and exits (status 130) before the next update; a second Ctrl-C
quits at once. --resume continues from there, with the data files the run was started with.
A fresh run refuses an --out that is not empty (--resume continues it, --overwrite replaces it).
Updates whose loss or gradients are not finite are skipped; three in a row stop the run
(status 1, "training diverged"), and no checkpoint ever holds a weight that is not finite.
When stderr is not a terminal, every metrics line and evaluation is printed there as plain text.`;

export const command: Command = {
  path: ["train"],
  summary: "train or fine-tune a model; write a run directory",
  help: HELP,
  async run(argv) {
    const { values: v } = parseFlags(NAME, argv, {
      task: { type: "string" },
      "train-src": { type: "string" },
      "train-tgt": { type: "string" },
      "valid-src": { type: "string" },
      "valid-tgt": { type: "string" },
      train: { type: "string" },
      valid: { type: "string" },
      "source-field": { type: "string" },
      "target-field": { type: "string" },
      arch: { type: "string" },
      mask: { type: "string" },
      "bleu-sample": { type: "string" },
      "rouge-sample": { type: "string" },
      "no-repeat-ngram-size": { type: "string" },
      ...RUN_FLAGS,
    });
    const flags = v as Flags;
    const run = openRun(NAME, flags);
    // A resumed run reads the files it was started with (and they need not be given again).
    resumeDataFlags(run, flags, DATA_FLAGS);
    // A resumed run keeps its task, fields and lengths unless flags say otherwise.
    const was = run.saved.data ?? {};
    const task = (v.task ?? was.task ?? "translation") as Task;
    if (!TASKS.includes(task)) {
      throw new MaskwiseError(`unknown task '${v.task}'`, {
        code: "E_ARG",
        where: "maskwise train --task",
        hint: `use ${TASKS.join(", ")}; for self-supervised pretraining see 'maskwise pretrain'`,
      });
    }
    if (task === "translation")
      required(NAME, flags, ["train-src", "train-tgt", "valid-src", "valid-tgt"]);
    else required(NAME, flags, ["train", "valid"]);
    const seed = runSeed(run, flags);
    const maxLen =
      v["max-len"] === undefined && typeof was.maxLen === "number"
        ? was.maxLen
        : intFlag(NAME, flags, "max-len", 256, 4);
    const sourceFlag = v["source-field"] ?? (was.sourceField as string | undefined);
    const targetFlag = v["target-field"] ?? (was.targetField as string | undefined);

    // Text: source/target strings, or one text per example (lm without a target).
    let train: [string, string | null][];
    let valid: [string, string | null][];
    let fieldNames: Record<string, string> = {};
    if (task === "translation") {
      train = await readPairs(v["train-src"] as string, v["train-tgt"] as string);
      valid = await readPairs(v["valid-src"] as string, v["valid-tgt"] as string);
    } else {
      const tsv = (f: string) => /\.(tsv|tab|txt)$/i.test(f);
      const given = sourceFlag !== undefined || targetFlag !== undefined;
      const defaults = FIELDS[task];
      const source = (sourceFlag ?? (tsv(v.train as string) && !given ? "0" : defaults.source))
        .split(",")
        .map((s) => s.trim());
      const target =
        targetFlag ??
        (task === "lm" ? undefined : tsv(v.train as string) && !given ? "1" : defaults.target);
      fieldNames = {
        sourceField: source.join(","),
        ...(target === undefined ? {} : { targetField: target }),
      };
      const fields = target === undefined ? source : [...source, target];
      const read = async (path: string): Promise<[string, string | null][]> =>
        (await readFields(path, fields)).map((row) => {
          const src = row.slice(0, source.length);
          const joined =
            src.length === 1 ? src[0] : src.map((t, i) => `${source[i]}: ${t}`).join("\n");
          return [joined, target === undefined ? null : row[source.length]];
        });
      train = await read(v.train as string);
      valid = await read(v.valid as string);
    }
    if (valid.length === 0) {
      throw new MaskwiseError("the validation data is empty", {
        code: "E_DATA",
        where: String(task === "translation" ? v["valid-src"] : v.valid),
        hint: "give validation examples: evaluation, checkpoints/best and --patience need them",
      });
    }
    progress(`train: ${train.length} training examples, ${valid.length} validation examples`);

    const { tokenizer: tok, trained } = runTokenizer(run, flags, () =>
      train.flatMap(([s, t]) => (t === null ? [s] : [s, t])),
    );
    if (trained) progress("train: learned a BPE tokenizer on the training text");
    const arch: Arch =
      task === "lm"
        ? "decoder-only"
        : task === "translation"
          ? "encoder-decoder"
          : ((v.arch as Arch | undefined) ?? "encoder-decoder");
    if (arch !== "encoder-decoder" && arch !== "decoder-only") {
      throw new MaskwiseError(`--arch must be encoder-decoder or decoder-only, got '${arch}'`, {
        code: "E_ARG",
        where: "maskwise train --arch",
      });
    }
    const model = runModel(run, flags, tok, arch, seed);
    const cfg = model.config;
    // A resumed run is the kind its checkpoint says.
    const kind = cfg.maskwise_arch;
    const options = trainerOptions(run, flags, seed, {
      labelSmoothing: 0.1,
      mask: kind === "decoder-only" ? "prefix" : undefined,
      data: { task, maxLen, ...fieldNames, ...dataFlagsToSave(flags, DATA_FLAGS) },
    });
    const mask: DecoderMask = options.mask ?? "prefix";

    const encode = (pairs: [string, string | null][], training: boolean): Example[] =>
      pairs.flatMap(([s, t]): Example[] => {
        const src = tok.encode(s);
        const tgt = t === null ? null : tok.encode(t);
        if (task === "translation") {
          // As before: training pairs longer than --max-len are dropped, not cut.
          if (training && (src.length + 1 > maxLen || (tgt?.length ?? 0) + 1 > maxLen)) return [];
          return [seq2seq(src, tgt ?? [], { eos: cfg.eos_token_id })];
        }
        if (kind === "encoder-decoder") {
          return [
            seq2seq(src.slice(0, maxLen - 1), (tgt ?? []).slice(0, maxLen - 1), {
              eos: cfg.eos_token_id,
            }),
          ];
        }
        return [conditionalLM(src, tgt, cfg, maxLen)];
      });
    const trainEx = encode(train, true);
    const validEx = encode(valid, false);

    const bleuSample = intFlag(NAME, flags, "bleu-sample", 200);
    const rougeSample = intFlag(NAME, flags, "rouge-sample", 50);
    const noRepeatNgramSize = intFlag(NAME, flags, "no-repeat-ngram-size", 0);
    const sample = valid
      .slice(0, task === "translation" ? bleuSample : rougeSample)
      .filter((p): p is [string, string] => p[1] !== null);
    // Generated summaries may be as long as the longest training target (within --max-len).
    const maxTarget = Math.min(
      maxLen,
      trainEx.reduce((m, e) => Math.max(m, e.labels.filter((l) => l !== -100).length), 8),
    );
    const evaluate = (m: TrainableModel): Record<string, number> => {
      if (sample.length === 0) return {};
      if (task === "translation") {
        const hyps = translateLines(
          m as EncoderDecoderModel,
          tok,
          sample.map(([s]) => s),
          { noRepeatNgramSize },
        ).map((h) => h[0].text);
        return { valid_bleu: corpusBleu(hyps, [sample.map(([, t]) => t)]).score };
      }
      if (task !== "summarization" && task !== "dialogue") return {};
      const hyps =
        kind === "encoder-decoder"
          ? translateLines(
              m as EncoderDecoderModel,
              tok,
              sample.map(([s]) => s),
              { maxLenA: 0, maxLenB: maxTarget, maxSourceLength: maxLen, noRepeatNgramSize },
            ).map((h) => h[0].text)
          : continuePrompts(
              m as DecoderOnlyModel,
              tok,
              sample.map(([s]) => conditionalLM(tok.encode(s), null, cfg, maxLen, true).input_ids),
              { mask, maxNewTokens: maxTarget, noRepeatNgramSize },
            );
      const r = corpusRouge(hyps, [sample.map(([, t]) => t)]).mean;
      return {
        valid_rouge1: 100 * r.rouge1.fmeasure,
        valid_rouge2: 100 * r.rouge2.fmeasure,
        valid_rougeL: 100 * r.rougeL.fmeasure,
      };
    };

    const stop = interruptFlag();
    const trainer = new Trainer(model, { train: trainEx, valid: validEx }, options, run.store, {
      ...tokenizerCheckpointHooks(tok),
      shouldStop: stop.stopped,
      removeCheckpoint: removeCheckpoint(run),
      onMetrics: metricsLog("train"),
      evaluate,
      onUpdate: progressBar("train"),
    });
    const { line, status } = await runToEnd(trainer, run);
    stop.release();
    progressDone();
    console.log(JSON.stringify(line));
    return status;
  },
};

/**
 * A decoder-only example: "<s> text </s>" as a causal LM, or "<s> source </s> target </s>" with
 * the source (and its </s>) as the prefix, cut to `maxLen` (the target keeps up to half). With
 * `promptOnly`, just the prompt "<s> source </s>" that generation continues.
 */
function conditionalLM(
  src: number[],
  tgt: number[] | null,
  cfg: TrainableModel["config"],
  maxLen: number,
  promptOnly = false,
): Example {
  const { bos_token_id: bos, eos_token_id: eos } = cfg;
  if (tgt === null && !promptOnly) return causalLM([bos, ...src.slice(0, maxLen - 2), eos]);
  const t = (tgt ?? []).slice(0, Math.floor(maxLen / 2) - 1);
  const s = src.slice(0, Math.max(1, maxLen - 3 - t.length));
  if (promptOnly) return { input_ids: [bos, ...s, eos], labels: [] };
  return prefixLM([bos, ...s, eos, ...t, eos], s.length + 2);
}
