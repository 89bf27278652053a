// Learning-rate schedules, each a pure function of the step (1-based: the step about to be taken).
//   inverse-sqrt (fairseq): linear warmup to `lr`, then lr * sqrt(warmup / step)
//   noam (Vaswani et al.):  factor * d_model^-0.5 * min(step^-0.5, step * warmup^-1.5)
//   linear:                 warmup, then linear decay to 0 at totalSteps
//   cosine:                 warmup, then half a cosine down to minLr at totalSteps
//   constant:               warmup, then lr
import { MaskwiseError } from "../util/errors.js";

export type ScheduleSpec =
  | { kind: "constant"; lr: number; warmup?: number }
  | { kind: "inverse-sqrt"; lr: number; warmup: number; warmupInitLr?: number }
  | { kind: "noam"; dModel: number; warmup: number; factor?: number }
  | { kind: "linear"; lr: number; warmup?: number; totalSteps: number }
  | { kind: "cosine"; lr: number; warmup?: number; totalSteps: number; minLr?: number };

export type Schedule = (step: number) => number;

export function makeSchedule(spec: ScheduleSpec): Schedule {
  const warm = "warmup" in spec ? (spec.warmup ?? 0) : 0;
  if (!Number.isInteger(warm) || warm < 0) {
    throw new MaskwiseError(`warmup must be a non-negative integer, got ${warm}`, {
      code: "E_ARG",
      where: `schedule ${spec.kind}`,
    });
  }
  const ramp = (step: number, lr: number) => (warm > 0 && step <= warm ? (lr * step) / warm : lr);
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
      return (step) =>
        step <= warm
          ? ramp(step, spec.lr)
          : spec.lr * Math.max(0, (spec.totalSteps - step) / Math.max(1, spec.totalSteps - warm));
    case "cosine": {
      const min = spec.minLr ?? 0;
      return (step) => {
        if (step <= warm) return ramp(step, spec.lr);
        const t = Math.min(1, (step - warm) / Math.max(1, spec.totalSteps - warm));
        return min + 0.5 * (spec.lr - min) * (1 + Math.cos(Math.PI * t));
      };
    }
  }
}
