// What `maskwise train` (every task) and `maskwise pretrain` share: the run directory and
// --resume, the trainer's options from flags (a resumed run keeps the options it was started with;
// flags given now override them), the tokenizer (given, inherited from --init-from, or trained on
// the training text), the model (a preset or a config.json, of the kind the task needs, started
// from --init-from), and Ctrl-C.
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { PRESETS } from "../models/config.js";
import type { ModelFamily } from "../models/family.js";
import { buildModel, familyFor, familyOfRaw } from "../models/registry.js";
import { DEFAULT_SPECIAL_TOKENS, type Tokenizer, trainTokenizer } from "../tokenizer/index.js";
import type { TrainableModel } from "../train/tasks.js";
import type { Trainer, TrainerOptions } from "../train/trainer.js";
import { MaskwiseError } from "../util/errors.js";
import { numberFlag } from "../util/flags.js";
import { readJson, readText } from "./files.js";
import { LORA_FLAGS, LORA_HELP, loraRunModel } from "./lora-run.js";
import { modelDirArg } from "./model-arg.js";
import { PRECISION_FLAGS, PRECISION_HELP, precisionFlag, precisionFromFlags } from "./precision.js";
import {
  isTransformersDir,
  type PretrainedRunTokenizer,
  pretrainedCheckpointHooks,
  pretrainedRunTokenizer,
} from "./pretrained-run-tokenizer.js";
import { DirectoryStore } from "./run-store.js";
import {
  checkModelTokenizer,
  checkSameTokenizer,
  loadTokenizer,
  modelConfigFor,
  modelFrom,
  type TokenVocabulary,
  tokenizerCheckpointHooks,
} from "./training-setup.js";

/** The flags of every training command (node:util parseArgs options). */
export const RUN_FLAGS = {
  out: { type: "string" },
  config: { type: "string" },
  model: { type: "string" },
  tokenizer: { type: "string" },
  "vocab-size": { type: "string" },
  "max-steps": { type: "string" },
  "max-epochs": { type: "string" },
  "max-minutes": { type: "string" },
  "keep-epochs": { type: "string" },
  "max-tokens": { type: "string" },
  "update-freq": { type: "string" },
  lr: { type: "string" },
  schedule: { type: "string" },
  warmup: { type: "string" },
  "label-smoothing": { type: "string" },
  dropout: { type: "string" },
  "weight-decay": { type: "string" },
  "clip-norm": { type: "string" },
  "eval-every": { type: "string" },
  "log-every": { type: "string" },
  patience: { type: "string" },
  "max-len": { type: "string" },
  seed: { type: "string" },
  "init-from": { type: "string" },
  freeze: { type: "string" },
  resume: { type: "boolean" },
  overwrite: { type: "boolean" },
  ...PRECISION_FLAGS,
  ...LORA_FLAGS,
} as const;

/**
 * --config names the architecture of a new model (a preset or a config.json), as in quickstart;
 * --model is its older spelling here (elsewhere --model names a model directory). Both may be
 * given only alike; the run reads the value as `model`.
 */
export function sameAsConfig(command: string, v: Flags): void {
  if (v.config === undefined) return;
  if (v.model !== undefined && v.model !== v.config) {
    throw new MaskwiseError("--config and --model name two different architectures", {
      code: "E_ARG",
      where: `maskwise ${command} --config ${v.config} --model ${v.model}`,
      hint: "give --config alone (--model is its older spelling)",
    });
  }
  v.model = v.config;
}

/** Help lines for RUN_FLAGS (label smoothing's default is the command's). */
export function runFlagsHelp(labelSmoothing: number): string {
  return `  --config PRESET|FILE   tiny, small (default) or base, or a config.json (--model is its
                         older spelling); with --init-from, default: that model's config
  --tokenizer FILE       a tokenizer.json; default: the --init-from model's, or a BPE trained
                         on the training text. A transformers directory (--init-from) is
                         trained with its own tokenizer files (tokenizer.json, a SentencePiece
                         .model, or Marian's source.spm/target.spm + vocab.json: sources through
                         the one, targets through the other), which every checkpoint carries
  --vocab-size N         vocabulary of a newly trained tokenizer (default 8000)
  --max-steps N          stop after N updates
  --max-epochs N         stop after N epochs (default 10 when no other limit is given)
  --max-minutes M        stop after M minutes of training (evaluation not counted)
  --keep-epochs N        keep checkpoints/epoch-K/ for the last N epochs (for maskwise average)
  --max-tokens N         padded tokens per batch (default 4096)
  --update-freq N        batches accumulated per update (default 1)
  --lr X                 peak learning rate (default 5e-4)
  --schedule KIND        inverse-sqrt (default): after warmup, lr * sqrt(warmup / step);
                         linear or cosine: after warmup, down to 0 at the end of the budget
                         (--max-steps, --max-epochs or --max-minutes, whichever ends first)
  --warmup N             updates of linear warmup to the peak (default: a tenth of the budget
                         in updates, from --max-steps or --max-epochs, at most 4000; 4000
                         with --max-minutes alone)
  --label-smoothing X    default ${labelSmoothing}
  --dropout X            default 0.1
  --weight-decay X       default 0.0001 (never on biases and norms)
  --clip-norm X          global gradient-norm clip (default 0 = off)
  --eval-every N         evaluate every N updates (default: each epoch)
  --log-every N          a metrics line every N updates (default 10); when stderr is not a
                         terminal each one is also printed there, as is every evaluation
  --patience N           stop after N evaluations without a better validation loss
  --max-len N            longest sequence in tokens (default 256)
  --seed S               default 1
  --init-from DIR        start from the weights of a model directory (or ORG/NAME, a model
                         'maskwise hub get' put in the Hugging Face cache): the same kind of model
                         loads everything; an encoder-only (mlm) model fills the encoder of an
                         encoder-decoder, the rest starts fresh
  --freeze LIST          keep parameter groups fixed (comma list of encoder, decoder,
                         embeddings): no gradient, no update, no weight decay
  --resume               continue the run in --out exactly where it stopped, with the options
                         and data files it was started with (flags given now override them;
                         --task, --model, --tokenizer and --init-from may not change)
  --overwrite            start afresh in an --out that holds a run: its metrics.jsonl, curves
                         and checkpoints are deleted first (without it, or --resume, a folder
                         that is not empty is refused)
${PRECISION_HELP}
                         (mixed precision: the training steps' products only; weights,
                         gradients and Adam stay float32, evaluation is float32; default
                         float32, or the resumed run's own)
${LORA_HELP}`;
}

export type Flags = Record<string, string | boolean | string[] | boolean[] | undefined>;

export function intFlag(command: string, v: Flags, name: string, fallback: number, min = 0) {
  return numberFlag(command, name, v[name] as string | undefined, fallback, { min, integer: true });
}

export function numFlag(command: string, v: Flags, name: string, fallback: number, min = 0) {
  return numberFlag(command, name, v[name] as string | undefined, fallback, { min });
}

export function required(command: string, v: Flags, names: readonly string[]): void {
  for (const f of names) {
    if (v[f] === undefined || v[f] === "")
      throw new MaskwiseError(`--${f} is required`, {
        code: "E_ARG",
        where: `maskwise ${command}`,
        hint: `see 'maskwise ${command} --help'`,
      });
  }
}

export interface RunDir {
  command: string;
  out: string;
  store: DirectoryStore;
  lastDir: string;
  resume: boolean;
  /** What checkpoints/last/trainer_state.json says (a resumed run): its options and seed. */
  saved: Partial<TrainerOptions> & { seed?: number };
}

/** What a run writes into its directory: --overwrite deletes these and nothing else. */
const RUN_FILES = ["metrics.jsonl", "curves.svg", "curves.png", "checkpoints"];

/**
 * A fresh run needs an empty (or new) --out: a second run there would replace checkpoints/best
 * and append its lines to the first run's metrics.jsonl. --overwrite deletes the run files first.
 */
export function claimOut(command: string, out: string, overwrite: boolean): void {
  if (!existsSync(out)) return;
  let entries: string[];
  try {
    entries = readdirSync(out);
  } catch {
    throw new MaskwiseError("--out is not a folder", {
      code: "E_ARG",
      where: out,
      hint: "pass a new or empty folder",
    });
  }
  if (entries.length === 0) return;
  if (overwrite) {
    for (const f of RUN_FILES) rmSync(join(out, f), { recursive: true, force: true });
    return;
  }
  const isRun = entries.some((f) => RUN_FILES.includes(f));
  throw new MaskwiseError(isRun ? "--out already holds a run" : "--out is not empty", {
    code: "E_ARG",
    where: out,
    hint: isRun
      ? `continue it with 'maskwise ${command} --resume --out ${out}', start it afresh with --overwrite, or choose another --out`
      : "choose a new or empty folder, or pass --overwrite to write the run beside what is there",
  });
}

export function openRun(command: string, v: Flags): RunDir {
  sameAsConfig(command, v);
  // A bad --precision fails before --out is claimed or any data is read (trainerOptions uses it).
  precisionFlag(command, v);
  // --init-from ORG/NAME: the model `maskwise hub get` put in the Hugging Face cache.
  if (typeof v["init-from"] === "string") v["init-from"] = modelDirArg(v["init-from"]);
  required(command, v, ["out"]);
  const out = v.out as string;
  const lastDir = join(out, "checkpoints", "last");
  const resume = v.resume === true;
  if (resume && v.overwrite === true) {
    throw new MaskwiseError("--resume and --overwrite contradict each other", {
      code: "E_ARG",
      where: `maskwise ${command}`,
      hint: "--resume continues the run in --out, --overwrite starts it afresh",
    });
  }
  const store = new DirectoryStore(out);
  // A run killed while swapping in a new checkpoint left the old one aside.
  if (resume) store.recover("last");
  else claimOut(command, out, v.overwrite === true);
  const weights = ["model.safetensors", "adapter_model.safetensors"];
  if (resume && !weights.some((f) => existsSync(join(lastDir, f)))) {
    throw new MaskwiseError("nothing to resume", {
      code: "E_ARG",
      where: lastDir,
      hint: "start without --resume",
    });
  }
  let saved: RunDir["saved"] = {};
  if (resume) {
    const st = JSON.parse(readText(join(lastDir, "trainer_state.json"), "trainer_state.json"));
    saved = { ...(st.options ?? {}), seed: st.seed };
    checkSameRun(command, out, v, saved.data ?? {});
  }
  return { command, out, store, lastDir, resume, saved };
}

/**
 * Flags that say what a run is: its task, its model, its tokenizer, where its weights came
 * from. A resumed run is what its checkpoint says, so such a flag on --resume must say the same
 * (a script may repeat its command line) or it is refused: before, it was silently ignored.
 */
const IDENTITY_FLAGS = ["task", "model", "tokenizer", "init-from"] as const;

/** A flag's value as saved with the run: a path that exists is made absolute (not --task). */
function identityValue(name: string, value: unknown): string {
  const s = String(value);
  return name !== "task" && existsSync(s) ? resolve(s) : s;
}

function checkSameRun(
  command: string,
  out: string,
  v: Flags,
  data: Record<string, string | number | boolean>,
): void {
  for (const name of IDENTITY_FLAGS) {
    if (v[name] === undefined) continue;
    const was = data[name];
    if (was !== undefined && String(was) === identityValue(name, v[name])) continue;
    throw new MaskwiseError(
      was === undefined
        ? `the run in ${out} was not started with --${name}`
        : `the run in ${out} was started with --${name} ${was}`,
      {
        code: "E_ARG",
        where: `maskwise ${command} --resume --${name} ${v[name]}`,
        hint: `drop --${name}: a resumed run keeps its own; for another one start a new run with another --out`,
      },
    );
  }
}

/**
 * Files and fields a resumed run reads as it was started: each flag in `names` that is not given
 * now takes the value saved with the run (given ones override, as for every option).
 */
export function resumeDataFlags(
  run: RunDir,
  v: Flags,
  names: readonly string[],
  { multiple = [] as readonly string[] } = {},
): void {
  if (!run.resume) return;
  const data = run.saved.data ?? {};
  for (const name of names) {
    const was = data[name];
    // Several files (pretrain's --train) are saved one a line.
    if (v[name] === undefined && typeof was === "string")
      v[name] = multiple.includes(name) ? was.split("\n") : was;
  }
}

/** The values to save with the run for `names` (paths made absolute, lists one a line). */
export function dataFlagsToSave(v: Flags, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const x = v[name];
    if (x === undefined) continue;
    out[name] = (Array.isArray(x) ? x : [x]).map((p) => resolve(String(p))).join("\n");
  }
  return out;
}

export function runSeed(run: RunDir, v: Flags): number {
  return run.resume && v.seed === undefined
    ? Number(run.saved.seed ?? 1)
    : intFlag(run.command, v, "seed", 1);
}

/**
 * The run's tokenizer: the checkpoint's when resuming; --tokenizer (which must be the --init-from
 * model's when both are given); the --init-from model's; or a BPE trained on `texts()`.
 */
export function runTokenizer(
  run: RunDir,
  v: Flags,
  texts: () => Iterable<string>,
  extraSpecial: readonly string[] = [],
): { tokenizer: Tokenizer; trained: boolean } {
  const init = v["init-from"] as string | undefined;
  const given = v.tokenizer as string | undefined;
  if (run.resume) {
    const path = join(run.lastDir, "tokenizer.json");
    const tokenizer = loadTokenizer(path);
    checkModelTokenizer(run.lastDir, tokenizer, path, Number.POSITIVE_INFINITY);
    return { tokenizer, trained: false };
  }
  if (given && init) checkSameTokenizer(given, init);
  const inherited = init ? join(init, "tokenizer.json") : undefined;
  if (!given && init && inherited && !existsSync(inherited)) {
    // A pretrained model's ids mean its own tokenizer's tokens: a new one would be garbage.
    throw new MaskwiseError(`${init} has no tokenizer.json`, {
      code: "E_TOKENIZER",
      where: "--init-from",
      hint: "pass the model's tokenizer with --tokenizer",
    });
  }
  const path = given ?? inherited;
  if (path) {
    const tokenizer = loadTokenizer(path);
    // The weights --init-from starts from must be the ones this tokenizer was made for.
    if (init) checkModelTokenizer(init, tokenizer, path, Number.POSITIVE_INFINITY);
    return { tokenizer, trained: false };
  }
  const vocabSize = intFlag(run.command, v, "vocab-size", 8000, 16);
  if (vocabSize > MAX_VOCAB) {
    throw new MaskwiseError(`--vocab-size must be at most ${MAX_VOCAB}`, {
      code: "E_ARG",
      where: `maskwise ${run.command} --vocab-size ${v["vocab-size"]}`,
      hint: "8000 to 32000 suits most tasks; a vocabulary is at most as large as its training text allows",
    });
  }
  return {
    tokenizer: trainTokenizer(texts(), {
      vocabSize,
      specialTokens: [...DEFAULT_SPECIAL_TOKENS, ...extraSpecial],
    }),
    trained: true,
  };
}

/**
 * The tokenizer of a run on a transformers model directory (--init-from one, or resuming a run
 * that started from one): that directory's own files (or --tokenizer where it ships none), read
 * as transformers reads them, Marian's two SentencePiece models included. Null for every other
 * run, whose tokenizer `runTokenizer` finds.
 */
export function runPretrainedTokenizer(run: RunDir, v: Flags): PretrainedRunTokenizer | null {
  const init = v["init-from"] as string | undefined;
  const dir = run.resume ? run.lastDir : init;
  if (dir === undefined || !isTransformersDir(dir)) return null;
  return pretrainedRunTokenizer(
    dir,
    run.resume ? undefined : (v.tokenizer as string | undefined),
    run.resume ? "--resume" : "--init-from",
  );
}

/** The tokenizer a run trains with: a transformers directory's own files, or maskwise's. */
export type RunTokenizer =
  | ({ kind: "pretrained" } & PretrainedRunTokenizer)
  | { kind: "own"; tokenizer: Tokenizer; trained: boolean };

/**
 * The run's tokenizer: a transformers directory's own (`runPretrainedTokenizer`), else
 * maskwise's, given, inherited or trained on `texts()` (`runTokenizer`).
 */
export function chooseRunTokenizer(
  run: RunDir,
  v: Flags,
  texts: () => Iterable<string>,
  extraSpecial: readonly string[] = [],
): RunTokenizer {
  const pretrained = runPretrainedTokenizer(run, v);
  if (pretrained) return { kind: "pretrained", ...pretrained };
  return { kind: "own", ...runTokenizer(run, v, texts, extraSpecial) };
}

/**
 * What every checkpoint of the run carries for its tokenizer (its files, and the generation
 * settings of the directory the run started from).
 */
export function runTokenizerHooks(
  tok: RunTokenizer,
  run: RunDir,
  v: Flags,
): { extraFiles: Record<string, Uint8Array | string>; weightsMetadata?: Record<string, string> } {
  const from = run.resume ? run.lastDir : (v["init-from"] as string | undefined);
  return tok.kind === "pretrained"
    ? pretrainedCheckpointHooks(tok, from)
    : tokenizerCheckpointHooks(tok.tokenizer, from);
}

/** The largest vocabulary a trained tokenizer may ask for (the largest common ones are ~256k). */
const MAX_VOCAB = 1_000_000;

/**
 * The family a run trains: a resumed run's checkpoint's; --arch when given; else the family of
 * the transformers config.json that --config names (a Llama config.json builds a llama model),
 * or of the --init-from directory's config (it must train on the job); else the registry's
 * first family for the job.
 */
export function runFamily(
  run: RunDir,
  v: Flags,
  job: { task: string } | { objective: string },
  where: string,
): ModelFamily {
  const arch = v.arch as string | undefined;
  const init = v["init-from"] as string | undefined;
  // --config (read as `model`, sameAsConfig) is a preset name or a config.json.
  const given = v.model as string | undefined;
  const path =
    given !== undefined && !(given in PRESETS)
      ? given
      : init !== undefined
        ? join(init, "config.json")
        : undefined;
  if (
    arch !== undefined ||
    run.resume ||
    path === undefined ||
    !(existsSync(path) && statSync(path).isFile())
  )
    return familyFor(job, arch, where);
  const from = familyOfRaw(readJson(path, "config.json") as Record<string, unknown>, path);
  // A maskwise directory may start another maskwise family (an MLM encoder, say): the job's.
  if (from.source === "maskwise") return familyFor(job, undefined, where);
  return familyFor(job, from.name, `${where} (the family of ${path})`);
}

/**
 * The model of `family`: the checkpoint's config when resuming, else --model (default small),
 * or the --init-from model's config as that family's; weights from --init-from.
 */
export function runModel(
  run: RunDir,
  v: Flags,
  tok: TokenVocabulary,
  family: ModelFamily,
  seed: number,
): TrainableModel {
  // A LoRA run (--lora-r, or a resumed run whose checkpoint is an adapter): base plus adapter.
  const adapted = loraRunModel(run, v, tok, seed);
  if (adapted) return adapted;
  const init = v["init-from"] as string | undefined;
  const given = v.model as string | undefined;
  // The flag as the user spelt it (--config, or its older spelling --model).
  const flag = v.config !== undefined ? "config" : "model";
  if (given !== undefined && !run.resume && existsSync(given) && statSync(given).isDirectory()) {
    throw new MaskwiseError(
      `--${flag} takes a preset (tiny, small, base) or a config.json, not a model directory`,
      {
        code: "E_ARG",
        where: `maskwise ${run.command} --${flag} ${given}`,
        hint: `to start from that model's weights (and config), pass --init-from ${given}`,
      },
    );
  }
  const overrides = {
    maskwise_arch: family.name,
    ...(v.dropout === undefined ? {} : { dropout: numFlag(run.command, v, "dropout", 0.1) }),
  };
  const source = run.resume
    ? join(run.lastDir, "config.json")
    : ((v.model as string | undefined) ?? (init ? join(init, "config.json") : "small"));
  const config = modelConfigFor(source, tok, run.resume ? {} : overrides);
  // Resuming, the checkpoint holds every weight: the model is built for that load (no random
  // weight drawn only to be overwritten; the trainer's own state loads as before).
  if (run.resume) return modelFrom(config, seed, run.lastDir);
  return init ? modelFrom(config, seed, init) : buildModel(config, seed);
}

/** The trainer's options from flags, the resumed run's options, then the command's defaults. */
export function trainerOptions(
  run: RunDir,
  v: Flags,
  seed: number,
  defaults: {
    labelSmoothing: number;
    mask?: "prefix" | "causal";
    data?: Record<string, string | number | boolean>;
  },
): TrainerOptions {
  const { command, saved } = run;
  const int = (name: string, fallback: number, min = 0) => intFlag(command, v, name, fallback, min);
  const num = (name: string, fallback: number) => numFlag(command, v, name, fallback);
  const pick = <T>(name: string, parse: () => T, fromRun: T | undefined, fallback: T): T =>
    v[name] !== undefined ? parse() : (fromRun ?? fallback);
  const limitsGiven =
    v["max-steps"] !== undefined || v["max-epochs"] !== undefined || v["max-minutes"] !== undefined;
  const maxSteps =
    v["max-steps"] !== undefined
      ? int("max-steps", 0, 1)
      : limitsGiven
        ? undefined
        : saved.maxSteps;
  const maxEpochs =
    v["max-epochs"] !== undefined
      ? int("max-epochs", 10, 1)
      : limitsGiven
        ? undefined
        : (saved.maxEpochs ??
          (maxSteps === undefined && saved.maxSeconds === undefined ? 10 : undefined));
  const maxSeconds =
    v["max-minutes"] !== undefined
      ? numFlag(command, v, "max-minutes", 0) * 60
      : limitsGiven
        ? undefined
        : saved.maxSeconds;
  if (maxSeconds !== undefined && !(maxSeconds > 0)) {
    throw new MaskwiseError(`--max-minutes must be above 0, got '${v["max-minutes"]}'`, {
      code: "E_ARG",
      where: `maskwise ${command} --max-minutes`,
    });
  }
  const savedSchedule = saved.schedule as
    | { kind?: string; lr?: number; warmup?: number }
    | undefined;
  const kind = pick(
    "schedule",
    () => {
      const k = String(v.schedule);
      if (k !== "inverse-sqrt" && k !== "linear" && k !== "cosine") {
        throw new MaskwiseError(`--schedule must be inverse-sqrt, linear or cosine, got '${k}'`, {
          code: "E_ARG",
          where: `maskwise ${command} --schedule`,
        });
      }
      return k;
    },
    savedSchedule?.kind as "inverse-sqrt" | "linear" | "cosine" | undefined,
    "inverse-sqrt" as const,
  );
  const freeze = pick(
    "freeze",
    () =>
      String(v.freeze)
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    saved.freeze,
    [] as string[],
  );
  const mask = pick(
    "mask",
    () => {
      if (v.mask !== "prefix" && v.mask !== "causal") {
        throw new MaskwiseError(`--mask must be prefix or causal, got '${v.mask}'`, {
          code: "E_ARG",
          where: `maskwise ${command} --mask`,
          hint: "prefix: bidirectional over the source; causal: causal everywhere",
        });
      }
      return v.mask;
    },
    saved.mask,
    defaults.mask,
  );
  const keepEpochs = pick("keep-epochs", () => int("keep-epochs", 0), saved.keepEpochs, 0);
  // What the run is (checkSameRun compares these on --resume): kept from the run, or as given.
  const identity: Record<string, string | number | boolean> = {};
  for (const name of IDENTITY_FLAGS) {
    const was = saved.data?.[name];
    if (v[name] !== undefined) identity[name] = identityValue(name, v[name]);
    else if (was !== undefined) identity[name] = was;
  }
  // How a LoRA run's base is held: not what the run is, but kept so a resume holds it the same.
  const basePrecision = v["base-precision"] ?? saved.data?.["base-precision"];
  if (basePrecision !== undefined) identity["base-precision"] = String(basePrecision);
  // --precision (or --bf16) given now decides; otherwise the resumed run's own, or float32.
  const matmulPrecision = precisionFromFlags(command, v, saved.matmulPrecision ?? "float32");
  return {
    maxSteps,
    maxEpochs,
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    ...(keepEpochs > 0 ? { keepEpochs } : {}),
    maxTokens: pick("max-tokens", () => int("max-tokens", 4096, 1), saved.maxTokens, 4096),
    updateFreq: pick("update-freq", () => int("update-freq", 1, 1), saved.updateFreq, 1),
    schedule: {
      kind,
      lr: pick("lr", () => num("lr", 5e-4), savedSchedule?.lr, 5e-4),
      warmup: pick("warmup", () => int("warmup", 4000), savedSchedule?.warmup, 4000),
    },
    // Neither given nor the run's: a tenth of the budget, as long as the budget is in updates.
    ...(v.warmup === undefined && savedSchedule?.warmup === undefined
      ? { warmupShare: DEFAULT_WARMUP_SHARE }
      : {}),
    labelSmoothing: pick(
      "label-smoothing",
      () => num("label-smoothing", defaults.labelSmoothing),
      saved.labelSmoothing,
      defaults.labelSmoothing,
    ),
    weightDecay: pick("weight-decay", () => num("weight-decay", 0.0001), saved.weightDecay, 0.0001),
    clipNorm: pick("clip-norm", () => num("clip-norm", 0), saved.clipNorm, 0),
    evalEvery: pick("eval-every", () => int("eval-every", 0), saved.evalEvery, 0),
    logEvery: pick("log-every", () => int("log-every", 10, 1), saved.logEvery, 10),
    patience: pick("patience", () => int("patience", 0), saved.patience, 0),
    ...(freeze.length > 0 ? { freeze } : {}),
    ...(matmulPrecision === "bfloat16" ? { matmulPrecision } : {}),
    ...(mask ? { mask } : {}),
    data: { ...identity, ...(defaults.data ?? {}) },
    seed,
  };
}

/** The default warmup's share of a run's budget in updates (at most 4000 updates). */
export const DEFAULT_WARMUP_SHARE = 0.1;

/** Deletes a checkpoint of the run (an epoch checkpoint older than --keep-epochs). */
export function removeCheckpoint(run: RunDir): (name: string) => void {
  return (name) => rmSync(join(run.out, "checkpoints", name), { recursive: true, force: true });
}

/**
 * Ctrl-C stops the run after a checkpoint instead of killing it. The handler only sets a flag; it
 * runs because the trainer hands the event loop a turn after every update (runAsync), and the
 * trainer reads the flag before the next one. A second Ctrl-C finds no handler (once) and ends
 * the process at once.
 */
export function interruptFlag(): { stopped: () => boolean; release: () => void } {
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.once("SIGINT", onSigint);
  return { stopped: () => interrupted, release: () => process.removeListener("SIGINT", onSigint) };
}

/**
 * Runs (resuming first when asked) and returns the one-line JSON summary the commands print.
 * However the run ends (its limits, early stopping, Ctrl-C, an error), the store's finish() then
 * redraws the curves, so they show the lines logged since the last evaluation too.
 */
export async function runToEnd<M extends TrainableModel>(
  trainer: Trainer<M>,
  run: RunDir,
): Promise<{ line: Record<string, unknown>; status: number }> {
  let summary: ReturnType<Trainer<M>["run"]>;
  try {
    if (run.resume) trainer.resume("last");
    summary = await trainer.runAsync();
  } catch (e) {
    // The run's own error is the one to report; curves that cannot be drawn now do not hide it.
    try {
      run.store.finish();
    } catch {}
    throw e;
  }
  run.store.finish();
  return {
    line: {
      stopped_by: summary.stoppedBy,
      step: summary.state.step,
      epoch: summary.state.epoch,
      valid_loss: summary.lastValidLoss,
      // Every metric of the last evaluation (valid_bleu, valid_rouge1, …), not only the loss.
      ...summary.lastValid,
      run: run.out,
    },
    status: summary.stoppedBy === "interrupted" ? 130 : 0,
  };
}
