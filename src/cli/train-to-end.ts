// How `train`, `train --task chat` and `pretrain` end: the Trainer in the run directory with the
// hooks every training command gives it (Ctrl-C stops after a checkpoint, old epoch checkpoints
// removed as --keep-epochs says, log lines and a progress bar named `label`), run to its end,
// then the run's one-line JSON summary on stdout.
import { interruptFlag, type RunDir, removeCheckpoint, runToEnd } from "../node/train-run.js";
import type { TrainableModel } from "../train/tasks.js";
import { Trainer, type TrainerHooks, type TrainerOptions } from "../train/trainer.js";
import { metricsLog, progressBar, progressDone } from "./timing.js";

/**
 * Trains `model` on `data` in `run` with `hooks` (the checkpoint's extra files, evaluate) and
 * prints the summary with `extra` fields; resolves to the exit status (130 after Ctrl-C).
 */
export async function trainToEnd<M extends TrainableModel>(
  run: RunDir,
  label: string,
  model: M,
  data: ConstructorParameters<typeof Trainer<M>>[1],
  options: TrainerOptions,
  hooks: TrainerHooks<M>,
  extra: Record<string, unknown> = {},
): Promise<number> {
  const stop = interruptFlag();
  let ended: Awaited<ReturnType<typeof runToEnd>>;
  try {
    const trainer = new Trainer(model, data, options, run.store, {
      ...hooks,
      shouldStop: stop.stopped,
      removeCheckpoint: removeCheckpoint(run),
      onMetrics: metricsLog(label),
      onUpdate: progressBar(label),
    });
    ended = await runToEnd(trainer, run);
  } finally {
    stop.release();
  }
  progressDone();
  console.log(JSON.stringify({ ...ended.line, ...extra }));
  return ended.status;
}
