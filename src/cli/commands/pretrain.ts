// `maskwise pretrain --objective mlm|span|infill|mass|clm --train F… --out DIR`: self-supervised
// pretraining on plain text (one sentence or document a line), writing a run directory like
// `maskwise train`. The objective decides the model kind (src/train/pretraining.ts); the noise of
// each example is drawn anew every epoch from (seed, epoch, line), so --resume stays exact.

import { readTextLines } from "../../node/task-data.js";
import {
  chooseRunTokenizer,
  dataFlagsToSave,
  type Flags,
  intFlag,
  numFlag,
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
import { sentinelTokens } from "../../tokenizer/index.js";
import {
  DEFAULT_RATE,
  endTokenId,
  holdOut,
  linePieces,
  OBJECTIVES,
  type ObjectiveName,
  pretrainedVocabulary,
  pretrainingData,
  pretrainingObjective,
  sentinelsNeeded,
} from "../../train/pretraining.js";
import { pretrainedCodec } from "../../train/translate.js";
import { MaskwiseError } from "../../util/errors.js";
import { type Command, parseFlags } from "../command.js";
import { progress } from "../timing.js";
import { trainToEnd } from "../train-to-end.js";

const NAME = "pretrain";
const HELP = `Usage: maskwise pretrain --objective mlm|span|infill|mass|clm --train F… --out DIR [options]

Self-supervised pretraining on plain text, one sentence or document a line (several --train
files, or files after the flags, are read in order); a line longer than --max-len tokens is cut
into several examples. Writes a run directory as 'maskwise train'
does; checkpoints/best/ is a model directory that --init-from accepts.

Objectives (and the model each trains):
  mlm      masked LM (BERT: of the chosen tokens 80% <mask>, 10% random, 10% kept) -> encoder-only
  span     span corruption (T5: spans of mean length 3 -> sentinels) -> encoder-decoder
  infill   text infilling (BART: Poisson(3) spans become one <mask> each) -> encoder-decoder
  mass     MASS (a fragment masked in the encoder, predicted by the decoder) -> encoder-decoder
  clm      causal LM (GPT: every next token, one line a row) -> decoder-only

Evaluation: valid_loss, and for mlm valid_mlm_accuracy (the share of masked tokens predicted).

Pretraining options:
  --valid F              validation text; default: a held-out share of the training lines
  --valid-fraction X     the share held out when --valid is absent (default 0.01, at most 2000
                         lines; the same lines for every seed)
  --mask-rate X          noise rate: mlm 0.15 (at most 0.5), span 0.15, infill 0.3, mass 0.5
                         (the fragment's share of the sentence)
  --whole-word           mlm: mask all pieces of a word together

Training options:
${runFlagsHelp(0)}

Ctrl-C saves checkpoints/last and exits (status 130) before the next update; a second Ctrl-C
quits at once. --resume continues from there, with the data files the run was started with.
A fresh run refuses an --out that is not empty (--resume continues it, --overwrite replaces it).
Updates whose loss or gradients are not finite are skipped; three in a row stop the run
(status 1, "training diverged"), and no checkpoint ever holds a weight that is not finite.
When stderr is not a terminal, every metrics line and evaluation is printed there as plain text.`;

export const command: Command = {
  path: ["pretrain"],
  summary: "self-supervised pretraining (mlm, span, infill, mass, clm); write a run directory",
  help: HELP,
  async run(argv) {
    const { values: v, positionals } = parseFlags(
      NAME,
      argv,
      {
        objective: { type: "string" },
        train: { type: "string", multiple: true },
        valid: { type: "string", multiple: true },
        "valid-fraction": { type: "string" },
        "mask-rate": { type: "string" },
        "whole-word": { type: "boolean" },
        ...RUN_FLAGS,
      },
      true,
    );
    const flags = v as Flags;
    required(NAME, flags, ["out"]);
    // A resumed run reads the files it was started with (and they need not be given again).
    const run = openRun(NAME, flags);
    if (positionals.length > 0 && v.train === undefined) flags.train = [];
    resumeDataFlags(run, flags, ["objective", "train", "valid"], { multiple: ["train", "valid"] });
    required(NAME, flags, ["objective"]);
    const objectiveName = v.objective as ObjectiveName;
    if (!OBJECTIVES.includes(objectiveName)) {
      throw new MaskwiseError(`unknown objective '${v.objective}'`, {
        code: "E_ARG",
        where: "maskwise pretrain --objective",
        hint: `use ${OBJECTIVES.join(", ")}`,
      });
    }
    const trainFiles = [...(v.train ?? []), ...positionals];
    if (trainFiles.length === 0) required(NAME, flags, ["train"]);
    const seed = runSeed(run, flags);
    // A resumed run rebuilds its data as it was started (flags given now override).
    const was = run.saved.data ?? {};
    if (run.resume && was.objective !== undefined && was.objective !== objectiveName) {
      throw new MaskwiseError(`the run in ${run.out} pretrains with ${was.objective}`, {
        code: "E_ARG",
        where: "maskwise pretrain --resume --objective",
        hint: `resume with --objective ${was.objective}`,
      });
    }
    const maxLen =
      v["max-len"] === undefined && typeof was.maxLen === "number"
        ? was.maxLen
        : intFlag(NAME, flags, "max-len", 256, 4);

    let trainLines = await readTextLines(trainFiles);
    let validLines: string[];
    if (v.valid && v.valid.length > 0) validLines = await readTextLines(v.valid);
    else {
      // A fixed shuffle (not the run's seed), so every run on these files holds out the same lines.
      const fraction = numFlag(NAME, flags, "valid-fraction", 0.01);
      if (fraction >= 1) {
        throw new MaskwiseError("--valid-fraction must be below 1", {
          code: "E_ARG",
          where: "maskwise pretrain --valid-fraction",
        });
      }
      ({ train: trainLines, valid: validLines } = holdOut(trainLines, fraction));
    }
    if (validLines.length === 0) {
      throw new MaskwiseError("the validation data is empty", {
        code: "E_DATA",
        where: v.valid && v.valid.length > 0 ? v.valid.join(", ") : "--valid-fraction",
        hint: "give validation lines (--valid, or a --valid-fraction above 0): evaluation, checkpoints/best and --patience need them",
      });
    }
    progress(
      `pretrain: ${trainLines.length} training lines, ${validLines.length} validation lines`,
    );

    const rate =
      v["mask-rate"] === undefined && typeof was.rate === "number"
        ? was.rate
        : numFlag(NAME, flags, "mask-rate", DEFAULT_RATE[objectiveName]);
    const wholeWord = v["whole-word"] === true || (!("whole-word" in v) && was.wholeWord === true);
    const sentinels = objectiveName === "span" ? sentinelTokens(sentinelsNeeded(maxLen, rate)) : [];
    // A transformers directory brings its own tokenizer (BERT's [MASK], T5's sentinels);
    // otherwise the run's is given, inherited or trained here.
    const chosen = chooseRunTokenizer(run, flags, () => trainLines, sentinels);
    if (chosen.kind === "own" && chosen.trained)
      progress("pretrain: learned a BPE tokenizer on the training text");
    const family = runFamily(
      run,
      flags,
      { objective: objectiveName },
      "maskwise pretrain --objective",
    );
    const model = runModel(run, flags, chosen.tokenizer, family, seed);
    // A pretrained tokenizer's lines carry its own special tokens ([CLS] before a BERT line) less
    // the final eos ([SEP], </s>), which the objectives append, as maskwise's own lines do.
    const vocabulary =
      chosen.kind === "pretrained" ? pretrainedVocabulary(chosen.tokenizer) : chosen.tokenizer;
    const tok =
      chosen.kind === "pretrained"
        ? pretrainedCodec(chosen.tokenizer, endTokenId(pretrainedVocabulary(chosen.tokenizer)))
        : chosen.tokenizer;
    const { objective, fixed } = pretrainingObjective(objectiveName, vocabulary, {
      rate,
      wholeWord,
    });
    const options = trainerOptions(run, flags, seed, {
      labelSmoothing: 0,
      data: {
        objective: objectiveName,
        rate,
        wholeWord,
        maxLen,
        ...dataFlagsToSave({ train: trainFiles, valid: v.valid }, ["train", "valid"]),
      },
    });
    const data = pretrainingData(
      linePieces(trainLines, tok, maxLen),
      linePieces(validLines, tok, maxLen),
      { objective, fixed },
      seed,
    );
    return trainToEnd(
      run,
      `pretrain ${objectiveName}`,
      model,
      data,
      options,
      runTokenizerHooks(chosen, run, flags),
      { objective: objectiveName },
    );
  },
};
