// Learning-rate schedules, each a pure function of the step (1-based: the step about to be taken)
// and, for the decaying ones, of the share of the training budget already spent.
//   inverse-sqrt (fairseq): linear warmup to `lr`, then lr * sqrt(warmup / step)
//   noam (Vaswani et al.):  factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)
//   linear:                 warmup, then linear decay to 0 at the end of the budget
//   cosine:                 warmup, then half a cosine down to minLr at the end of the budget
//   constant:               warmup, then lr
// The budget of linear and cosine is totalSteps when given, and the trainer's `spent` (0..1: the
// largest of steps, epochs and training seconds over their limits), whichever runs out first. A
// run limited by time therefore decays over its minutes: under a fixed budget, a schedule that
// reaches 0 when the budget ends trains better than one that stops part-way down
// (Li et al., 2020, "Budgeted Training").
import { MaskwiseError } from "../util/errors.js";

export type ScheduleSpec =
  | { kind: "constant"; lr: number; warmup?: number }
  | { kind: "inverse-sqrt"; lr: number; warmup: number; warmupInitLr?: number }
  | { kind: "noam"; dModel: number; warmup: number; factor?: number }
  | { kind: "linear"; lr: number; warmup?: number; totalSteps?: number }
  | { kind: "cosine"; lr: number; warmup?: number; totalSteps?: number; minLr?: number };

/** The rate for 1-based `step`; `spent` is the share of the training budget used (default 0). */
export type Schedule = (step: number, spent?: number) => number;

export function makeSchedule(spec: ScheduleSpec): Schedule {
  const warm = "warmup" in spec ? (spec.warmup ?? 0) : 0;
  if (!Number.isInteger(warm) || warm < 0) {
    throw new MaskwiseError(`warmup must be a non-negative integer, got ${warm}`, {
      code: "E_ARG",
      where: `schedule ${spec.kind}`,
    });
  }
  const ramp = (step: number, lr: number) => (warm > 0 && step <= warm ? (lr * step) / warm : lr);
  // Share of the decay done after warmup: by steps (when totalSteps is known) or by the budget.
  const total = "totalSteps" in spec ? spec.totalSteps : undefined;
  const decayed = (step: number, spent: number) =>
    Math.min(
      1,
      Math.max(0, spent, total === undefined ? 0 : (step - warm) / Math.max(1, total - warm)),
    );
  switch (spec.kind) {
    case "constant":
      return (step) => ramp(step, spec.lr);
    case "inverse-sqrt": {
      const init = spec.warmupInitLr ?? 0;
      return (step) => {
        if (step <= warm) return init + ((spec.lr - init) * step) / Math.max(1, warm);
        return spec.lr * Math.sqrt(Math.max(1, warm) / step);
      };
    }
    case "noam": {
      const factor = spec.factor ?? 1;
      return (step) =>
        factor * spec.dModel ** -0.5 * Math.min(step ** -0.5, step * Math.max(1, warm) ** -1.5);
    }
    case "linear":
      // During warmup a budget that runs out early (a short time limit) still pulls the rate down.
      return (step, spent = 0) => ramp(step, spec.lr) * (1 - decayed(step, spent));
    case "cosine": {
      const min = spec.minLr ?? 0;
      return (step, spent = 0) => {
        const t = decayed(step, spent);
        return ramp(step, min + 0.5 * (spec.lr - min) * (1 + Math.cos(Math.PI * t)));
      };
    }
  }
}
