// Where the time of `maskwise bench train-step`'s step goes, kernel by kernel: the same model,
// batch and optimizer (src/cli/commands/bench-train-step.ts), every method of the backend
// wrapped to add up its wall time, 2 warm-up steps and then `--steps` timed ones. Prints each
// kernel's milliseconds per step and calls per step, the step's wall time, and the rest (wall
// less the kernels: JavaScript, the tape, allocation). The wrappers cost a little per call
// (about 150 calls a step), so the wall time runs slightly high.
//
//   npm run build:native
//   node --import tsx bench/train-step-kernels.ts [--steps 10]
import { benchTrainStep } from "../src/cli/commands/bench-train-step.js";
import { initBackend } from "../src/node/backend.js";

const at = process.argv.indexOf("--steps");
const steps = at >= 0 ? Number(process.argv[at + 1]) : 10;
if (!(Number.isInteger(steps) && steps > 0)) {
  console.error("bench/train-step-kernels.ts: --steps needs a positive integer");
  process.exit(2);
}

const backend = initBackend() as unknown as Record<string, unknown>;
const step = benchTrainStep();
// Every function of the backend object and its class, timed on each call.
const spent = new Map<string, { ms: number; calls: number }>();
const names = new Set<string>();
for (const o of [backend, Object.getPrototypeOf(backend)])
  for (const k of Object.getOwnPropertyNames(o))
    if (k !== "constructor" && typeof backend[k] === "function") names.add(k);
for (const name of names) {
  const f = (backend[name] as (...a: unknown[]) => unknown).bind(backend);
  backend[name] = (...a: unknown[]) => {
    const t = performance.now();
    const r = f(...a);
    const s = spent.get(name) ?? { ms: 0, calls: 0 };
    s.ms += performance.now() - t;
    s.calls++;
    spent.set(name, s);
    return r;
  };
}

step();
step();
spent.clear();
const t0 = performance.now();
for (let s = 0; s < steps; s++) step();
const wall = (performance.now() - t0) / steps;

let kernels = 0;
for (const [name, { ms, calls }] of [...spent].sort((a, b) => b[1].ms - a[1].ms)) {
  kernels += ms / steps;
  if (ms / steps >= 0.05)
    console.log(
      `${name.padEnd(24)} ${(ms / steps).toFixed(2).padStart(8)} ms/step ${String(calls / steps).padStart(5)} calls/step`,
    );
}
console.log(
  `step ${wall.toFixed(1)} ms, kernels ${kernels.toFixed(1)} ms, the rest ${(wall - kernels).toFixed(1)} ms`,
);
