// The training loop for every model kind (encoder-decoder, decoder-only, encoder-only; what differs
// between them is a small task object, ./tasks.ts): token-budget batches reshuffled each epoch,
// label-smoothed cross-entropy, gradient accumulation, global clipping, AdamW with no decay on
// biases and norms (and nothing at all on frozen parameters), a schedule, evaluation every N steps
// (validation loss, masked-token accuracy where the task names one, and whatever `evaluate` adds,
// e.g. BLEU), best and last checkpoints, early stopping, and exact resumption.
//
// Exactness: every random choice is a function of (seed, epoch) or (seed, step): the batches of
// an epoch come from tokenBudgetBatches(seed + epoch), dropout of a step from Rng(seed, step),
// the noise of a pretraining example from (seed, epoch, index) (./examples.ts). A
// checkpoint records the step, the epoch and the position inside it, so a resumed run computes
// the same losses, step for step, as one that was never interrupted.

import { tokenBudgetBatches } from "../data/batching.js";
import { checkFiniteWeights, firstNonFinite } from "../io/finite.js";
import { parseSafetensors, serializeSafetensors } from "../io/safetensors.js";
import type { EncoderDecoderModel } from "../models/encoder-decoder.js";
import { ADAPTER_WEIGHTS, adapterFiles, adapterOf, loadAdapterState } from "../models/peft.js";
import { configText, fileState, loadFileState } from "../models/state.js";
import type { Linear } from "../nn/layers.js";
import { loraLayers, setLoraNoise } from "../nn/lora.js";
import type { Example } from "../objectives/types.js";
import { AdamW } from "../optim/adamw.js";
import { clipGradNorm, decayGroups } from "../optim/clip.js";
import { makeSchedule, type Schedule, type ScheduleSpec } from "../optim/schedules.js";
import { backward, noGrad } from "../tensor/autograd.js";
import { type MatmulPrecision, withMatmulPrecision } from "../tensor/precision.js";
import { Tensor } from "../tensor/tensor.js";
import { MaskwiseError } from "../util/errors.js";
import { Rng } from "../util/rng.js";
import { type ExampleSource, fixedExamples } from "./examples.js";
import { freezeParameters } from "./freeze.js";
import type { RunStore } from "./store.js";
import {
  countCorrect,
  type DecoderMask,
  type TrainableModel,
  type TrainTask,
  taskFor,
} from "./tasks.js";

export interface TrainerOptions {
  maxSteps?: number;
  maxEpochs?: number;
  /**
   * Stop after this much training time (seconds, evaluation excluded, counted over the whole run:
   * a resumed run has the rest of it); the run ends as at max steps.
   */
  maxSeconds?: number;
  /**
   * Keep checkpoints/epoch-K/ for the last this many epochs (0 = none): the checkpoints that
   * averaging (src/io/average.ts) combines.
   */
  keepEpochs?: number;
  /** Padded tokens per batch (longest row x rows), as fairseq's --max-tokens. */
  maxTokens: number;
  /** Batches accumulated per update. */
  updateFreq?: number;
  schedule: ScheduleSpec;
  /**
   * When set, the warmup is this share of the run's budget in updates (--max-steps, or
   * --max-epochs times the updates of an epoch, whichever ends first), at most the schedule's
   * own warmup: a default warmup of 4000 updates never warms up a 300-update run. Resolved once,
   * when the run starts; the resolved warmup is what the checkpoints save, so a resumed run keeps
   * it. Without a budget in updates (a time limit alone) the schedule's warmup stands.
   */
  warmupShare?: number;
  weightDecay?: number;
  betas?: [number, number];
  adamEps?: number;
  /** Global gradient-norm clip (0 = off). */
  clipNorm?: number;
  /** Label smoothing epsilon, spread over all V classes (PyTorch's convention). */
  labelSmoothing?: number;
  /** Evaluate every this many updates (0 = only at the end of each epoch). */
  evalEvery?: number;
  /** Stop after this many evaluations without a better validation loss (0 = never). */
  patience?: number;
  /** Write a training metrics line every this many updates. */
  logEvery?: number;
  /** Decoder-only models: attention over an example's prefix (default "prefix"). */
  mask?: DecoderMask;
  /** Parameter groups kept fixed: "encoder", "decoder", "embeddings". */
  freeze?: string[];
  /**
   * Precision of the training steps' matrix products (src/tensor/precision.ts): "bfloat16" is
   * mixed-precision training. Evaluation runs outside the steps, at the process's precision
   * (float32 unless setMatmulPrecision changed it), as decoding does.
   */
  matmulPrecision?: MatmulPrecision;
  /**
   * What the command needs to rebuild the same data on --resume (objective, noise rate, …). The
   * trainer only saves it with the checkpoint.
   */
  data?: Record<string, string | number | boolean>;
  seed: number;
}

export interface TrainerHooks<M extends TrainableModel = EncoderDecoderModel> {
  /** Extra validation metrics (e.g. { valid_bleu }) computed on the model in eval mode. */
  evaluate?: (model: M) => Record<string, number>;
  /** Called after every update (progress display). */
  onUpdate?: (info: {
    step: number;
    epoch: number;
    loss: number;
    lr: number;
    tokensPerS: number;
    progress: number;
  }) => void;
  /** Polled between batches: true stops the run after saving a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
  /** Called with every metrics line as it is logged (plain progress lines on a pipe). */
  onMetrics?: (record: Record<string, unknown>) => void;
  /** Extra files for every checkpoint (tokenizer.json; a pretrained model's tokenizer files). */
  extraFiles?: Record<string, Uint8Array | string>;
  /** Extra __metadata__ for model.safetensors (the tokenizer's hash, binding the two files). */
  weightsMetadata?: Record<string, string>;

  /** Deletes checkpoint `name` (an epoch checkpoint past --keep-epochs); absent = keep all. */
  removeCheckpoint?: (name: string) => void;
  /**
   * The clock, in milliseconds (default performance.now): what tokens/s, training seconds and
   * the time budget are measured with. Tests give a fake one, so no assertion rests on how busy
   * the machine is.
   */
  now?: () => number;
}

export interface TrainerState {
  step: number;
  epoch: number;
  /** Batches of the current epoch already consumed. */
  batchInEpoch: number;
  bestValidLoss: number | null;
  evalsWithoutImprovement: number;
  /**
   * Loss x tokens and tokens since the last metrics line: the logged loss is their ratio, so it is
   * saved with the checkpoint and a resumed run logs the same mean.
   */
  logLoss: number;
  logTokens: number;
  /** Seconds spent in updates over the whole run (every invocation): what maxSeconds limits. */
  trainSeconds: number;
  seed: number;
}

export interface TrainSummary {
  state: TrainerState;
  stoppedBy: "max_steps" | "max_epochs" | "max_time" | "early_stopping" | "interrupted";
  lastValidLoss: number | null;
  /** Every metric of the last evaluation (valid_loss, valid_bleu, …); empty when none ran. */
  lastValid: Record<string, unknown>;
}

/**
 * Updates in a row whose loss or gradients are not finite before the run stops: one such batch is
 * skipped (as fairseq skips an overflowing update), a run of them means the weights themselves
 * have diverged and no later batch will bring them back.
 */
export const MAX_NONFINITE_UPDATES = 3;

/** A macrotask later: timers, I/O and signal handlers (Ctrl-C) run in between. */
export function nextMacrotask(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown };
  return new Promise((resolve) =>
    g.setImmediate ? g.setImmediate(resolve) : setTimeout(resolve, 0),
  );
}

function stepRng(seed: number, step: number): Rng {
  return new Rng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) | 0);
}

type Examples = readonly Example[] | ExampleSource;

function asSource(e: Examples): ExampleSource {
  return "get" in e ? e : fixedExamples(e as readonly Example[]);
}

export class Trainer<M extends TrainableModel = EncoderDecoderModel> {
  state: TrainerState;
  /** The options, with warmupShare resolved into the schedule (what checkpoints save). */
  readonly options: TrainerOptions;
  readonly optimizer: AdamW;
  readonly task: TrainTask;
  readonly train: ExampleSource;
  readonly valid: ExampleSource;
  private readonly trainLengths: number[];
  private readonly schedule: Schedule;
  /** The Linear layers carrying a LoRA adapter (their dropout draws from the step's generator). */
  private readonly adapted: [string, Linear][];

  constructor(
    readonly model: M,
    data: { train: Examples; valid: Examples },
    options: TrainerOptions,
    readonly store: RunStore,
    readonly hooks: TrainerHooks<M> = {},
  ) {
    this.options = options;
    this.train = asSource(data.train);
    this.valid = asSource(data.valid);
    if (this.train.size === 0) {
      throw new MaskwiseError("no training examples", {
        code: "E_DATA",
        where: "training data",
        hint: "check the training files and filters",
      });
    }
    if (
      options.maxSteps === undefined &&
      options.maxEpochs === undefined &&
      options.maxSeconds === undefined
    ) {
      throw new MaskwiseError("set --max-steps, --max-epochs or a time limit", {
        code: "E_ARG",
        where: "trainer",
      });
    }
    this.task = taskFor(model, { mask: options.mask });
    const frozen = freezeParameters(model, options.freeze ?? []);
    this.adapted = loraLayers(model);
    const [b1, b2] = options.betas ?? [0.9, 0.98];
    // Parameters that do not require gradients (a LoRA adapter's base) are frozen as well.
    this.optimizer = new AdamW(
      decayGroups(
        model.namedParameters().filter(([, p]) => !frozen.has(p) && p.requiresGrad),
        options.weightDecay ?? 0.0001,
      ),
      { lr: 0, beta1: b1, beta2: b2, eps: options.adamEps ?? 1e-8 },
    );
    this.trainLengths = Array.from({ length: this.train.size }, (_, i) => this.train.lengthOf(i));
    this.options = this.resolveWarmup(options);
    this.schedule = makeSchedule(this.options.schedule);
    this.state = {
      step: 0,
      epoch: 0,
      batchInEpoch: 0,
      bestValidLoss: null,
      evalsWithoutImprovement: 0,
      logLoss: 0,
      logTokens: 0,
      trainSeconds: 0,
      seed: options.seed,
    };
  }

  /** The options with warmupShare turned into the schedule's warmup (see TrainerOptions). */
  private resolveWarmup(options: TrainerOptions): TrainerOptions {
    const { warmupShare, ...rest } = options;
    const spec = options.schedule;
    if (warmupShare === undefined || !("warmup" in spec) || spec.warmup === undefined) return rest;
    const perEpoch = Math.ceil(this.epochBatches(0).length / (options.updateFreq ?? 1));
    const budget = Math.min(
      options.maxSteps ?? Number.POSITIVE_INFINITY,
      (options.maxEpochs ?? Number.POSITIVE_INFINITY) * perEpoch,
    );
    if (!Number.isFinite(budget)) return rest;
    const warmup = Math.min(spec.warmup, Math.max(1, Math.round(warmupShare * budget)));
    return { ...rest, schedule: { ...spec, warmup } as ScheduleSpec };
  }

  private epochBatches(epoch: number): number[][] {
    return tokenBudgetBatches(this.trainLengths, {
      maxTokens: this.options.maxTokens,
      seed: this.options.seed + epoch,
    });
  }

  /** Mean token loss on the validation set (no label smoothing), in eval mode. */
  validLoss(): number | null {
    return this.validate().loss;
  }

  /**
   * Validation loss and the accuracy of the predicted tokens (argmax = label), in eval mode.
   * Validation examples are seen as in epoch 0, so noised ones are the same at every evaluation.
   */
  validate(): { loss: number | null; accuracy: number | null } {
    const valid = this.valid;
    if (valid.size === 0) return { loss: null, accuracy: null };
    const lengths = Array.from({ length: valid.size }, (_, i) => valid.lengthOf(i));
    const batches = tokenBudgetBatches(lengths, { maxTokens: this.options.maxTokens });
    this.model.eval();
    let total = 0;
    let tokens = 0;
    let correct = 0;
    noGrad(() => {
      for (const idx of batches) {
        const batch = this.task.collate(idx.map((i) => valid.get(i, 0)));
        const { loss, logits } = this.task.forward(batch, {});
        if (loss && batch.targetTokens > 0) {
          total += loss.item() * batch.targetTokens;
          tokens += batch.targetTokens;
          if (this.task.accuracyMetric) correct += countCorrect(logits, batch.labels);
        }
      }
    });
    this.model.train();
    return {
      loss: tokens > 0 ? total / tokens : null,
      accuracy: tokens > 0 ? correct / tokens : null,
    };
  }

  /** Runs until max steps or epochs, early stopping, or an interruption, without a pause. */
  run(): TrainSummary {
    const updates = this.updates();
    for (;;) {
      const r = updates.next();
      if (r.done) return r.value;
    }
  }

  /**
   * As run(), but hands the event loop a turn after every update (`pause`, default one macrotask),
   * so a signal handler (Ctrl-C) or a timer runs while training goes on and shouldStop sees what
   * it set before the next update. A turn costs microseconds; an update milliseconds at least.
   */
  async runAsync(pause: () => Promise<void> = nextMacrotask): Promise<TrainSummary> {
    const updates = this.updates();
    for (;;) {
      const r = updates.next();
      if (r.done) return r.value;
      await pause();
    }
  }

  /** The loop of run() and runAsync(): yields after every update and every evaluation. */
  private *updates(): Generator<void, TrainSummary> {
    const o = this.options;
    const now = this.hooks.now ?? (() => performance.now());
    const updateFreq = o.updateFreq ?? 1;
    const evalEvery = o.evalEvery ?? 0;
    const logEvery = o.logEvery ?? 10;
    const maxSteps = o.maxSteps ?? Number.POSITIVE_INFINITY;
    const maxEpochs = o.maxEpochs ?? Number.POSITIVE_INFINITY;
    const params = this.model.parameters();
    this.model.train();
    let lastValid: number | null = null;
    let lastValidRecord: Record<string, unknown> = {};
    let nonFiniteInARow = 0;
    const outOfTime = () => o.maxSeconds !== undefined && this.state.trainSeconds >= o.maxSeconds;
    // The share of the budget spent: the largest of steps, epochs and seconds over their limits.
    // Linear and cosine schedules decay over it; the progress display shows it.
    const spent = (batchesInEpoch: number) =>
      Math.min(
        1,
        Math.max(
          this.state.step / maxSteps,
          (this.state.epoch + this.state.batchInEpoch / Math.max(1, batchesInEpoch)) / maxEpochs,
          o.maxSeconds === undefined ? 0 : this.state.trainSeconds / o.maxSeconds,
        ),
      );
    let windowTokens = 0;
    let windowStart = now();
    let lastEvalStep = -1;
    const evaluate = (): boolean => {
      lastEvalStep = this.state.step;
      const { loss: v, accuracy } = this.validate();
      lastValid = v;
      const extra: Record<string, unknown> = this.hooks.evaluate
        ? this.hooks.evaluate(this.model.eval() as M)
        : {};
      if (this.task.accuracyMetric) extra[this.task.accuracyMetric] = accuracy;
      this.model.train();
      lastValidRecord = { valid_loss: v, valid_ppl: v === null ? null : Math.exp(v), ...extra };
      this.log({
        step: this.state.step,
        epoch: this.state.epoch,
        ...lastValidRecord,
        train_s: this.state.trainSeconds,
      });
      // A loss that is not finite is never the best (a diverged model must not replace a good one).
      const improved =
        v !== null &&
        Number.isFinite(v) &&
        (this.state.bestValidLoss === null || v < this.state.bestValidLoss);
      if (improved) {
        this.state.bestValidLoss = v;
        this.state.evalsWithoutImprovement = 0;
        this.saveCheckpoint("best");
      } else {
        this.state.evalsWithoutImprovement++;
      }
      this.saveCheckpoint("last");
      return (o.patience ?? 0) > 0 && this.state.evalsWithoutImprovement >= (o.patience ?? 0);
    };

    while (this.state.epoch < maxEpochs && this.state.step < maxSteps && !outOfTime()) {
      const batches = this.epochBatches(this.state.epoch);
      while (
        this.state.batchInEpoch < batches.length &&
        this.state.step < maxSteps &&
        !outOfTime()
      ) {
        const updateStart = now();
        if (this.hooks.shouldStop?.()) {
          this.saveCheckpoint("last");
          return {
            state: { ...this.state },
            stoppedBy: "interrupted",
            lastValidLoss: lastValid,
            lastValid: lastValidRecord,
          };
        }
        // One update: updateFreq batches, gradients summed, loss scaled per token over them.
        const group = batches.slice(this.state.batchInEpoch, this.state.batchInEpoch + updateFreq);
        const epoch = this.state.epoch;
        const collated = group.map((idx) =>
          this.task.collate(idx.map((i) => this.train.get(i, epoch))),
        );
        const tokens = collated.reduce((s, b) => s + b.targetTokens, 0);
        const rng = stepRng(o.seed, this.state.step);
        setLoraNoise(this.adapted, rng);
        this.optimizer.zeroGrad({ reuse: true });
        let lossSum = 0;
        withMatmulPrecision(o.matmulPrecision ?? "float32", () => {
          for (const batch of collated) {
            if (batch.targetTokens === 0) continue;
            const { loss } = this.task.forward(batch, {
              rng,
              labelSmoothing: o.labelSmoothing ?? 0,
            });
            if (!loss) continue;
            // The batch loss is a mean over its tokens; its gradient is weighted by the batch's
            // share of the update's tokens, so the update follows the mean over all of them.
            lossSum += loss.item() * batch.targetTokens;
            backward(loss, new Tensor(Float32Array.of(batch.targetTokens / tokens), []), {
              freeIntermediates: true,
            });
          }
        });
        const gradNorm = clipGradNorm(params, o.clipNorm ?? 0);
        if (!Number.isFinite(lossSum) || !Number.isFinite(gradNorm)) {
          // Divergence (a learning rate far too high, an overflow): the update is skipped, not
          // counted, and its batches are used up. The weights stay as they were.
          const what = Number.isFinite(lossSum) ? "gradients are" : "loss is";
          this.state.batchInEpoch += group.length;
          this.state.trainSeconds += (now() - updateStart) / 1000;
          nonFiniteInARow++;
          this.log({
            step: this.state.step,
            epoch: this.state.epoch,
            skipped_update: `${what} not finite`,
            train_s: this.state.trainSeconds,
          });
          if (nonFiniteInARow >= MAX_NONFINITE_UPDATES) {
            throw new MaskwiseError(
              `training diverged: the ${what} not finite (${nonFiniteInARow} updates in a row)`,
              {
                code: "E_DIVERGED",
                where: `step ${this.state.step + 1}, learning rate ${this.schedule(this.state.step + 1, spent(batches.length)).toPrecision(3)}`,
                hint: "lower --lr, or clip gradients with --clip-norm 1; the checkpoints hold the last finite weights",
                kind: "failure",
              },
            );
          }
          yield;
          continue;
        }
        nonFiniteInARow = 0;
        this.optimizer.lr = this.schedule(this.state.step + 1, spent(batches.length));
        this.optimizer.update();
        this.state.step++;
        this.state.batchInEpoch += group.length;
        this.state.trainSeconds += (now() - updateStart) / 1000;
        this.state.logLoss += lossSum;
        this.state.logTokens += tokens;
        windowTokens += tokens;
        const t = now();
        const tokensPerS = (windowTokens / Math.max(1e-9, t - windowStart)) * 1000;
        const stepLoss = tokens > 0 ? lossSum / tokens : 0;
        this.hooks.onUpdate?.({
          step: this.state.step,
          epoch: this.state.epoch,
          loss: stepLoss,
          lr: this.optimizer.lr,
          tokensPerS,
          progress: spent(batches.length),
        });
        if (this.state.step % logEvery === 0) {
          this.log({
            step: this.state.step,
            epoch: this.state.epoch,
            loss: this.state.logTokens > 0 ? this.state.logLoss / this.state.logTokens : stepLoss,
            lr: this.optimizer.lr,
            tokens_per_s: tokensPerS,
            grad_norm: gradNorm,
            train_s: this.state.trainSeconds,
          });
          this.state.logLoss = 0;
          this.state.logTokens = 0;
          windowTokens = 0;
          windowStart = t;
        }
        if (evalEvery > 0 && this.state.step % evalEvery === 0 && evaluate()) {
          return {
            state: { ...this.state },
            stoppedBy: "early_stopping",
            lastValidLoss: lastValid,
            lastValid: lastValidRecord,
          };
        }
        yield;
      }
      if (this.state.batchInEpoch >= batches.length) {
        this.state.epoch++;
        this.state.batchInEpoch = 0;
        const keep = o.keepEpochs ?? 0;
        if (keep > 0) {
          // Saved at the epoch boundary, so epoch-K resumes exactly at the start of epoch K.
          this.saveCheckpoint(`epoch-${this.state.epoch}`);
          if (this.state.epoch > keep)
            this.hooks.removeCheckpoint?.(`epoch-${this.state.epoch - keep}`);
        }
        if (evalEvery === 0 && evaluate()) {
          return {
            state: { ...this.state },
            stoppedBy: "early_stopping",
            lastValidLoss: lastValid,
            lastValid: lastValidRecord,
          };
        }
        yield;
      }
    }
    // The final weights are always evaluated (they may be the best) and saved.
    if (lastEvalStep !== this.state.step) evaluate();
    return {
      state: { ...this.state },
      stoppedBy:
        this.state.step >= maxSteps ? "max_steps" : outOfTime() ? "max_time" : "max_epochs",
      lastValidLoss: lastValid,
      lastValid: lastValidRecord,
    };
  }

  private log(record: Record<string, unknown>): void {
    this.store.appendMetrics(record);
    this.hooks.onMetrics?.(record);
  }

  /** Throws when a weight is NaN or infinite: such a model is never written as a checkpoint. */
  private checkFinite(): void {
    const bad = firstNonFinite(this.model.namedParameters());
    if (bad) {
      throw new MaskwiseError(`training diverged: ${bad.name} holds ${bad.value}`, {
        code: "E_DIVERGED",
        where: `step ${this.state.step}`,
        hint: "lower --lr or clip with --clip-norm 1; the checkpoints hold the last finite weights",
        kind: "failure",
      });
    }
  }

  /** The files of a checkpoint: a model directory plus the trainer's and optimizer's state. */
  checkpointFiles(): Record<string, Uint8Array | string> {
    const named = this.model.namedParameters();
    // A model carrying a LoRA adapter (models/peft.ts) saves the adapter alone, in PEFT's
    // format, not the frozen base it started from (adapter_config.json names the base).
    const model: Record<string, Uint8Array | string> = adapterOf(this.model)
      ? adapterFiles(this.model)
      : {
          "config.json": configText(this.model),
          // The weights as the model's family stores them (transformers' layout for its families).
          "model.safetensors": serializeSafetensors(fileState(this.model), {
            format: "pt",
            ...(this.hooks.weightsMetadata ?? {}),
          }),
        };
    const opt: [string, { shape: readonly number[]; data: Float32Array }][] = [];
    const seen = new Set<unknown>();
    for (const [n, p] of named) {
      if (seen.has(p)) continue;
      seen.add(p);
      const s = this.optimizer.stateOf(p);
      if (s)
        opt.push(
          [`m.${n}`, { shape: p.shape, data: s.m }],
          [`v.${n}`, { shape: p.shape, data: s.v }],
        );
    }
    return {
      ...model,
      "optimizer.safetensors": serializeSafetensors(opt, {
        optimizer_step: String(this.optimizer.step),
      }),
      "trainer_state.json": `${JSON.stringify({ ...this.state, options: this.options }, null, 2)}\n`,
      ...(this.hooks.extraFiles ?? {}),
    };
  }

  saveCheckpoint(name: string): void {
    this.checkFinite();
    this.store.writeCheckpoint(name, this.checkpointFiles());
  }

  /** Restores model, optimizer and trainer state from checkpoint `name` (default "last"). */
  resume(name = "last"): boolean {
    const files = this.store.readCheckpoint(name);
    if (!files) return false;
    const where = `checkpoints/${name}`;
    const need = (f: string) => {
      const b = files[f];
      if (!b)
        throw new MaskwiseError(`checkpoint lacks ${f}`, {
          code: "E_CHECKPOINT",
          where,
          hint: "resume from a complete checkpoint",
        });
      return b;
    };
    const file = adapterOf(this.model) ? ADAPTER_WEIGHTS : "model.safetensors";
    const weights = parseSafetensors(need(file), `${where}/${file}`);
    if (file === ADAPTER_WEIGHTS) loadAdapterState(this.model, weights.tensors, `${where}/${file}`);
    else loadFileState(this.model, weights.tensors, `${where}/${file}`);
    checkFiniteWeights(this.model.namedParameters(), `${where}/${file}`);
    const opt = parseSafetensors(need("optimizer.safetensors"), `${where}/optimizer.safetensors`);
    const named = this.model.namedParameters();
    const restored = new Set<unknown>();
    for (const [n, p] of named) {
      if (restored.has(p)) continue;
      restored.add(p);
      const m = opt.tensors.get(`m.${n}`);
      const v = opt.tensors.get(`v.${n}`);
      if (m && v) this.optimizer.setState(p, Float32Array.from(m.data), Float32Array.from(v.data));
    }
    this.optimizer.step = Number(opt.metadata.optimizer_step ?? 0);
    const st = JSON.parse(new TextDecoder().decode(need("trainer_state.json")));
    this.state = {
      step: st.step,
      epoch: st.epoch,
      batchInEpoch: st.batchInEpoch,
      bestValidLoss: st.bestValidLoss,
      evalsWithoutImprovement: st.evalsWithoutImprovement,
      logLoss: st.logLoss ?? 0,
      logTokens: st.logTokens ?? 0,
      trainSeconds: st.trainSeconds ?? 0,
      seed: st.seed,
    };
    return true;
  }
}
