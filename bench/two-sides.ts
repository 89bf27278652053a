// What the side-by-side benchmarks against transformers share (bench/marian-size.ts,
// bench/llama-lora.ts): their `--name value` flags, how a measure is timed in a worker, and
// running one side's worker process for its JSON line.
import { spawnSync } from "node:child_process";

/** The flags of the script `me` (its path, for messages) from process.argv. */
export function scriptFlags(me: string): {
  has: (name: string) => boolean;
  flag: (name: string, fallback: string) => string;
  int: (name: string, fallback: number) => number;
} {
  const has = (name: string) => process.argv.includes(`--${name}`);
  const flag = (name: string, fallback: string): string => {
    const at = process.argv.indexOf(`--${name}`);
    return at >= 0 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
  };
  /** A positive integer flag; anything else ends the script with status 2. */
  const int = (name: string, fallback: number): number => {
    const v = Number(flag(name, String(fallback)));
    if (!Number.isInteger(v) || v < 1) {
      console.error(
        `${me}: --${name} must be a positive integer (${me} --${name}): got '${flag(name, "")}'`,
      );
      process.exit(2);
    }
    return v;
  };
  return { has, flag, int };
}

/** One warm-up run, then `reps` timed runs, in seconds. */
export function timed(fn: () => void, reps: number): number[] {
  fn();
  const out: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    out.push((performance.now() - t0) / 1000);
  }
  return out;
}

/**
 * Runs one side's worker (argv, with `env` over this process's) and returns its last stdout
 * line as JSON; a failed worker ends the script with its stderr.
 */
export function runWorker<T>(me: string, argv: string[], env: NodeJS.ProcessEnv, what: string): T {
  const r = spawnSync(argv[0], argv.slice(1), {
    encoding: "utf8",
    env: { ...process.env, ...env },
    maxBuffer: 1 << 26,
  });
  const last = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !last.startsWith("{")) {
    console.error(`${me}: the ${what} side failed (status ${r.status}):`);
    console.error(r.stderr);
    process.exit(1);
  }
  return JSON.parse(last) as T;
}

/**
 * The two sides' worker commands on `dir` (this script again with --worker under tsx, and its
 * Python peer), and the environment that gives both `threads` threads.
 */
export function sideCommands(
  script: string,
  pyScript: string,
  python: string,
  dir: string,
  reps: number,
  threads: number,
): { maskwise: string[]; transformers: string[]; env: NodeJS.ProcessEnv } {
  const common = ["--dir", dir, "--reps", String(reps)];
  return {
    maskwise: [process.execPath, "--import", "tsx", script, "--worker", ...common],
    transformers: [python, pyScript, ...common, "--threads", String(threads)],
    env: { MASKWISE_THREADS: String(threads), OMP_NUM_THREADS: String(threads) },
  };
}
