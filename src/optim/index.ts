// Optimisation: AdamW, schedules, clipping.
export { AdamW, type ParamGroup } from "./adamw.js";
export { clipGradNorm, decayGroups } from "./clip.js";
export { makeSchedule, type Schedule, type ScheduleSpec } from "./schedules.js";
