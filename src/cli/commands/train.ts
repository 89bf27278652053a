// `maskwise train --task …`: trains (or fine-tunes, or resumes) a model and writes a run directory
// (../shared/CLI.md). translation reads parallel text; summarization, dialogue, qa and lm read
// fields of JSON-lines or TSV files (src/node/task-data.ts). The model family follows the task
// (the registry's first family that trains on it: an encoder-decoder by default, a decoder-only
// model for lm) or --arch; examples and validation metrics come from src/train/text-tasks.ts.
import { familyOf } from "../../models/registry.js";
import { readTaskPairs, taskFields } from "../../node/task-data.js";
import {
  chooseRunTokenizer,
  dataFlagsToSave,
  type Flags,
  intFlag,
  openRun,
  RUN_FLAGS,
  required,
  resumeDataFlags,
  runFamily,
  runFlagsHelp,
  runModel,
  runSeed,
  runTokenizerHooks,
  trainerOptions,
} from "../../node/train-run.js";
import { readPairs } from "../../node/training-setup.js";
import type { DecoderMask } from "../../train/tasks.js";
import {
  TASK_FIELDS,
  TEXT_TASKS,
  type TextTask,
  textEvaluator,
  textExamples,
} from "../../train/text-tasks.js";
import { pretrainedCodec, type TextCodec } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";
import { progress } from "../timing.js";
import { trainToEnd } from "../train-to-end.js";
import { CHAT_HELP, trainChat } from "./train-chat.js";

const NAME = "train";
/** The data files of a run, saved with it so that --resume needs none of them. */
const DATA_FLAGS = ["train-src", "train-tgt", "valid-src", "valid-tgt", "train", "valid"];

const HELP = `Usage: maskwise train --task translation --train-src F --train-tgt F --valid-src F --valid-tgt F
                      --out DIR [options]
       maskwise train --task summarization|dialogue|qa|lm --train F --valid F
                      [--source-field A --target-field B] --out DIR [options]
       maskwise train --task chat --train F.jsonl --valid F.jsonl --init-from DIR
                      [--pack N] --out DIR [options]

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
${CHAT_HELP}

Task options:
  --source-field LIST    the source field(s); several are joined as "name: text" lines
  --target-field NAME    the target field
  --arch KIND            encoder-decoder (default) or decoder-only for summarization, dialogue, qa
  --mask prefix|causal   decoder-only with a source: prefix (default) attends bidirectionally over
                         the source and causally after it; causal attends causally everywhere.
                         Either way only the target is predicted.
  --bleu-sample N        translation: validation sentences decoded for BLEU (default 200)
  --rouge-sample N       summarization, dialogue: validation examples decoded for ROUGE (default 50)
  --pack N               chat: tokens per packed row (default --max-len; 0: no packing)
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
      pack: { type: "string" },
      ...RUN_FLAGS,
    });
    const flags = v as Flags;
    const run = openRun(NAME, flags);
    // A resumed run reads the files it was started with (and they need not be given again).
    resumeDataFlags(run, flags, DATA_FLAGS);
    // A resumed run keeps its task, fields and lengths unless flags say otherwise.
    const was = run.saved.data ?? {};
    const task = (v.task ?? was.task ?? "translation") as TextTask;
    if ((task as string) === "chat") return trainChat(run, flags);
    if (!TEXT_TASKS.includes(task)) {
      throw new MaskwiseError(`unknown task '${v.task}'`, {
        code: "E_ARG",
        where: "maskwise train --task",
        hint: `use ${TEXT_TASKS.join(", ")}, chat; for self-supervised pretraining see 'maskwise pretrain'`,
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

    // Text: source/target strings, or one text per example (lm without a target).
    let train: [string, string | null][];
    let valid: [string, string | null][];
    let fieldNames: Record<string, string> = {};
    if (task === "translation") {
      train = await readPairs(v["train-src"] as string, v["train-tgt"] as string);
      valid = await readPairs(v["valid-src"] as string, v["valid-tgt"] as string);
    } else {
      const fields = taskFields(
        v.train as string,
        TASK_FIELDS[task],
        {
          source: v["source-field"] ?? (was.sourceField as string | undefined),
          target: v["target-field"] ?? (was.targetField as string | undefined),
        },
        task !== "lm",
      );
      fieldNames = {
        sourceField: fields.source.join(","),
        ...(fields.target === undefined ? {} : { targetField: fields.target }),
      };
      train = await readTaskPairs(v.train as string, fields);
      valid = await readTaskPairs(v.valid as string, fields);
    }
    if (valid.length === 0) {
      throw new MaskwiseError("the validation data is empty", {
        code: "E_DATA",
        where: String(task === "translation" ? v["valid-src"] : v.valid),
        hint: "give validation examples: evaluation, checkpoints/best and --patience need them",
      });
    }
    progress(`train: ${train.length} training examples, ${valid.length} validation examples`);

    // A transformers directory brings its own tokenizer (Marian's: source and target sides);
    // otherwise the run's is given, inherited or trained here.
    const chosen = chooseRunTokenizer(run, flags, () =>
      train.flatMap(([s, t]) => (t === null ? [s] : [s, t])),
    );
    if (chosen.kind === "own" && chosen.trained)
      progress("train: learned a BPE tokenizer on the training text");
    const family = runFamily(run, flags, { task }, "maskwise train --arch");
    const model = runModel(run, flags, chosen.tokenizer, family, seed);
    const cfg = model.config;
    const tok: TextCodec =
      chosen.kind === "pretrained"
        ? pretrainedCodec(chosen.tokenizer, cfg.eos_token_id)
        : chosen.tokenizer;
    // A resumed run is the family its checkpoint says.
    const structure = familyOf(cfg).structure;
    const options = trainerOptions(run, flags, seed, {
      labelSmoothing: 0.1,
      mask: structure === "decoder-only" ? "prefix" : undefined,
      data: { task, maxLen, ...fieldNames, ...dataFlagsToSave(flags, DATA_FLAGS) },
    });
    const mask: DecoderMask = options.mask ?? "prefix";
    const exampleOptions = { task, structure, maxLen };
    const trainEx = textExamples(train, tok, cfg, { ...exampleOptions, training: true });
    const validEx = textExamples(valid, tok, cfg, { ...exampleOptions, training: false });

    const bleuSample = intFlag(NAME, flags, "bleu-sample", 200);
    const rougeSample = intFlag(NAME, flags, "rouge-sample", 50);
    const evaluate = textEvaluator(tok, {
      task,
      structure,
      sample: valid
        .slice(0, task === "translation" ? bleuSample : rougeSample)
        .filter((p): p is [string, string] => p[1] !== null),
      maxLen,
      // Generated summaries may be as long as the longest training target (within --max-len).
      maxTarget: Math.min(
        maxLen,
        trainEx.reduce((m, e) => Math.max(m, e.labels.filter((l) => l !== -100).length), 8),
      ),
      mask,
      noRepeatNgramSize: intFlag(NAME, flags, "no-repeat-ngram-size", 0),
    });

    return trainToEnd(run, "train", model, { train: trainEx, valid: validEx }, options, {
      ...runTokenizerHooks(chosen, run, flags),
      evaluate,
    });
  },
};
