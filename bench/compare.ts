// maskwise beside today's PyTorch on this machine, in one run: the GEMM at 512^3, 1024^3 and
// M1024·K256·N1024 (float32 and bfloat16, against torch.mm), the training step of
// ../shared/bench/train-step.json (float32, and bfloat16 products against autocast) and the
// decoding of ../shared/bench/decode.json (greedy and beam 5, float32 and bfloat16), and with
// --marian the Marian-size model of bench/marian-size.ts against transformers.
//
// Every measure is its own process (maskwise's `bench` commands with --json, the scripts of
// bench/pytorch), and the measures run in interleaved rounds: each round runs every measure
// once, starting one measure later than the round before, so that a busy stretch of the machine
// falls on both sides alike. The figure of a measure is the median over the rounds; the ratios
// are maskwise / peer on those medians (above 1: maskwise is faster), with the range of the
// per-round ratios beside them. Writes PREFIX.json (every round's figures, the commands, the CPU
// model and flags, which PyTorch ran and how) and PREFIX.md (the table of docs/benchmarks.md),
// both rewritten after each round, so an interrupted run keeps the rounds it finished.
//
// The peer: ~/.cache/hf-oracle-venv/bin/python when it imports torch (the PyTorch 2.x wheel:
// MKL for float32, oneDNN for bfloat16, OpenMP threads as the build sets them, one per core),
// Debian's /usr/bin/python3 with python3-torch 1.13 otherwise (OpenBLAS: one PyTorch thread,
// OpenBLAS on every core and choosing its own kernels: the setting it is fastest with), or
// --python. Each peer line says which torch ran (version, threads, BLAS, oneDNN, environment).
//
//   npm run build:native
//   node --import tsx bench/compare.ts [--rounds 5] [--quick] [--out PREFIX] [--force]
//     [--python PATH] [--marian] [--only SUBSTRING,…] [--skip SUBSTRING,…]
//
// --quick: one round with the fewest runs each command allows, a smoke test of the whole chain
// (its figures are not worth quoting). --only: the measures whose names contain one of the
// substrings (names as in the JSON, e.g. "decode" or "maskwise matmul"); --skip: not those.
// On a CPU without AVX512_BF16, `--skip bf16,bfloat16` leaves out the bfloat16 measures:
// maskwise's --bf16 products stay float32 there, and PyTorch's autocast step and bfloat16
// matmul run minutes a round (AMD EPYC Zen 3: 60 target tokens/s, about 1 GFLOP/s).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { availableParallelism, homedir, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { readCpu } from "../src/node/cpu.js";
import {
  type CompareResult,
  decodeFigures,
  type Figures,
  type Machine,
  marianFigures,
  markdownTable,
  matmulFigures,
  type TorchInfo,
  trainStepFigures,
} from "./compare-report.js";

const root = join(import.meta.dirname, "..");
const me = "bench/compare.ts";

function fail(what: string, where: string, todo: string): never {
  console.error(`${me}: ${what} (${where}): ${todo}`);
  process.exit(2);
}

// ---- flags ----
const argv = process.argv.slice(2);
const known = new Set([
  "--rounds",
  "--quick",
  "--out",
  "--force",
  "--python",
  "--marian",
  "--only",
  "--skip",
]);
for (const a of argv) {
  if (a.startsWith("--") && !known.has(a))
    fail(`unknown flag ${a}`, "command line", `use ${[...known].join(", ")}`);
}
const value = (name: string): string | undefined => {
  const at = argv.indexOf(name);
  if (at < 0) return undefined;
  const v = argv[at + 1];
  if (v === undefined || v.startsWith("--")) fail(`${name} needs a value`, name, "give one");
  return v;
};
const quick = argv.includes("--quick");
const roundsText = value("--rounds") ?? (quick ? "1" : "5");
const rounds = Number(roundsText);
if (!Number.isInteger(rounds) || rounds < 1)
  fail(
    `--rounds must be a positive integer, not ${roundsText}`,
    "--rounds",
    "pass e.g. --rounds 5",
  );
const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
const prefix = resolve(value("--out") ?? `compare-${stamp}`);
const jsonPath = `${prefix}.json`;
const mdPath = `${prefix}.md`;
if (!argv.includes("--force")) {
  for (const p of [jsonPath, mdPath])
    if (existsSync(p)) fail(`${p} exists`, "--out", "choose another --out or pass --force");
}
const list = (name: string) =>
  value(name)
    ?.split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
const only = list("--only");
const skip = list("--skip");

// ---- the machine ----
function machine(): Machine {
  const cpu = readCpu();
  const git = spawnSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" });
  // The kernels maskwise runs here, as `maskwise info` reports them (the same process setup as
  // the measures).
  const info = spawnSync(process.execPath, [join(root, "bin", "maskwise.mjs"), "info", "--json"], {
    encoding: "utf8",
  });
  let kernels: Machine["kernels"];
  try {
    const j = JSON.parse(info.stdout);
    kernels = { gemm: j.gemm_kernel, bfloat16: j.bfloat16_kernel, int8: j.int8_kernel };
  } catch {
    kernels = undefined;
  }
  return {
    cpu_model: cpu.model,
    // Unknown (no /proc/cpuinfo): no flags recorded rather than their absence claimed.
    flags: cpu.flags as Record<string, boolean>,
    cpus: availableParallelism(),
    node: process.versions.node,
    commit: git.status === 0 ? git.stdout.trim() : null,
    load_before: loadavg(),
    ...(kernels ? { kernels } : {}),
  };
}

// ---- the peer ----
interface Peer {
  python: string;
  source: string;
  torch: TorchInfo;
  env: Record<string, string>;
  /** The thread flag each script gets ("--threads 1" for OpenBLAS builds), or none. */
  threads: number | null;
}

const venv = join(homedir(), ".cache", "hf-oracle-venv", "bin", "python");
const infoScript = join(root, "bench", "pytorch", "torch_info.py");

/**
 * The environment a build wants: the MKL/OpenMP wheels as they are (one thread per core); a build
 * on an outside BLAS (Debian's "generic", OpenBLAS) with one PyTorch thread and OpenBLAS on every
 * core, its fastest setting.
 */
function peerEnv(torch: TorchInfo): { env: Record<string, string>; threads: number | null } {
  if (torch.blas === "mkl") return { env: {}, threads: null };
  return { env: { OPENBLAS_NUM_THREADS: String(availableParallelism()) }, threads: 1 };
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  // Kernel pins of this image (Haswell kernels on AVX-512, a 512 KiB L2) slow OpenBLAS down.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

function findPeer(): Peer | string {
  const asked = value("--python");
  const candidates = asked ? [asked] : [venv, "/usr/bin/python3"];
  const why: string[] = [];
  for (const python of candidates) {
    if (python.includes("/") && !existsSync(python)) {
      why.push(`${python} is absent`);
      continue;
    }
    const r = spawnSync(python, [infoScript], { encoding: "utf8", env: childEnv({}) });
    const last = (r.stdout ?? "").trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !last.startsWith("{")) {
      const err = (r.stderr ?? "").trim().split("\n").pop() ?? `exit ${r.status}`;
      why.push(`${python}: ${err}`);
      continue;
    }
    const torch = JSON.parse(last) as TorchInfo;
    const source =
      python === venv ? "wheelhouse" : python === "/usr/bin/python3" ? "debian" : python;
    return { python, source, torch, ...peerEnv(torch) };
  }
  return why.join("; ");
}

// ---- the measures ----
interface MeasureDef {
  name: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  figures: (stdout: string) => Figures;
}

const lastJson = (stdout: string): Record<string, unknown> => {
  const line = stdout
    .trim()
    .split("\n")
    .reverse()
    .find((l) => l.startsWith("{"));
  if (!line) throw new Error("no JSON line in its output");
  return JSON.parse(line);
};
const allJson = (stdout: string) =>
  stdout
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function measures(peer: Peer | null): MeasureDef[] {
  const mw = (args: string[], figures: MeasureDef["figures"], name: string): MeasureDef => ({
    name,
    argv: [process.execPath, join(root, "bin", "maskwise.mjs"), "bench", ...args, "--json"],
    env: process.env,
    figures: figures,
  });
  const runs = quick ? ["--runs", "1"] : [];
  const defs: MeasureDef[] = [];
  const py = (script: string, args: string[]): string[] => {
    if (!peer) return [];
    const threads = peer.threads === null ? [] : ["--threads", String(peer.threads)];
    return [peer.python, join(root, "bench", "pytorch", script), ...args, ...threads];
  };
  const pt = (name: string, argv: string[], figures: MeasureDef["figures"]) => {
    if (peer) defs.push({ name, argv, env: childEnv(peer.env), figures });
  };
  const matmul = (o: string) => matmulFigures(lastJson(o));
  const train = (o: string) => trainStepFigures(lastJson(o));
  const decode = (o: string) => decodeFigures(lastJson(o));
  const steps = quick ? ["--steps", "2", "--warmup", "1"] : [];
  defs.push(mw(["matmul", ...runs], matmul, "maskwise matmul"));
  pt("pytorch matmul", py("matmul.py", [...runs]), matmul);
  defs.push(mw(["matmul", "--bf16", ...runs], matmul, "maskwise matmul --bf16"));
  pt("pytorch matmul bfloat16", py("matmul.py", ["--dtype", "bfloat16", ...runs]), matmul);
  defs.push(mw(["train-step"], train, "maskwise train-step"));
  pt("pytorch train-step", py("train_step.py", steps), train);
  defs.push(mw(["train-step", "--bf16"], train, "maskwise train-step --bf16"));
  pt("pytorch train-step --bf16", py("train_step.py", ["--bf16", ...steps]), train);
  defs.push(mw(["decode", ...runs], decode, "maskwise decode"));
  pt("pytorch decode", py("decode.py", runs), decode);
  defs.push(mw(["decode", "--bf16", ...runs], decode, "maskwise decode --bf16"));
  pt("pytorch decode --bf16", py("decode.py", ["--bf16", ...runs]), decode);
  if (argv.includes("--marian")) {
    // One run of bench/marian-size.ts is one round of both sides (its own interleaving).
    const small = quick ? ["--reps", "1", "--new-tokens", "8", "--batch", "2"] : [];
    defs.push({
      name: "marian-size",
      argv: [
        process.execPath,
        "--import",
        "tsx",
        join(root, "bench", "marian-size.ts"),
        "--rounds",
        "1",
        ...small,
        ...(peer ? ["--python", peer.python] : []),
      ],
      env: childEnv(peer?.env ?? {}),
      figures: (o) => marianFigures(allJson(o)),
    });
  }
  return defs.filter(
    (d) =>
      (!only || only.some((s) => d.name.includes(s))) &&
      !(skip ?? []).some((s) => d.name.includes(s)),
  );
}

/** Runs one measure once: its figures (and the torch it ran on), or the reason it gave none. */
function runOnce(def: MeasureDef): { figures: Figures; torch?: TorchInfo } | string {
  if (def.name === "marian-size" && !existsSync(def.argv[3]))
    return `${def.argv[3]} is absent: run without --marian, or on a checkout that has it`;
  const r = spawnSync(def.argv[0], def.argv.slice(1), {
    cwd: root,
    env: def.env,
    encoding: "utf8",
    maxBuffer: 1 << 26,
    timeout: 30 * 60 * 1000,
  });
  const tail = (r.stderr ?? "").trim().split("\n").slice(-3).join(" | ");
  if (r.error) return `${r.error.message}${tail ? `: ${tail}` : ""}`;
  try {
    const figures = def.figures(r.stdout ?? "");
    if (r.status !== 0) return `exit ${r.status}: ${tail}`;
    if (Object.values(figures).every((v) => v === null)) return `no figures: ${tail}`;
    const torch = allJson(r.stdout ?? "")
      .map((l) => l.torch)
      .find((t) => typeof t === "object" && t !== null) as TorchInfo | undefined;
    return { figures, torch };
  } catch (e) {
    return `exit ${r.status}, ${(e as Error).message}: ${tail}`;
  }
}

function save(result: CompareResult): void {
  mkdirSync(dirname(prefix), { recursive: true });
  for (const [path, text] of [
    [jsonPath, `${JSON.stringify(result, null, 2)}\n`],
    [mdPath, markdownTable(result)],
  ]) {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
}

function main(): void {
  const found = findPeer();
  const peer = typeof found === "string" ? null : found;
  if (!peer) console.error(`${me}: no PyTorch peer: ${found}; maskwise alone`);
  else
    console.error(
      `${me}: peer ${peer.python}: PyTorch ${peer.torch.version} (${peer.source}, BLAS ${peer.torch.blas})`,
    );
  const defs = measures(peer);
  if (defs.length === 0)
    fail("no measure selected", "--only / --skip", "name a part of a measure's name");
  const result: CompareResult = {
    bench: "compare",
    started: new Date().toISOString(),
    finished: null,
    rounds,
    quick,
    machine: machine(),
    peer: peer
      ? { python: peer.python, source: peer.source, torch: peer.torch, env: peer.env }
      : null,
    peer_missing: peer ? null : (found as string),
    measures: Object.fromEntries(
      defs.map((d) => [d.name, { command: d.argv, rounds: [], errors: [] }]),
    ),
    orders: [],
  };
  for (let r = 0; r < rounds; r++) {
    // Round r starts r measures later, so no measure always runs first or after the same one.
    const order = defs.map((_, i) => defs[(i + r) % defs.length]);
    result.orders?.push(order.map((d) => d.name));
    for (const def of order) {
      const t0 = performance.now();
      const got = runOnce(def);
      const m = result.measures[def.name];
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      if (typeof got === "string") {
        m.rounds[r] = null;
        m.errors.push(`round ${r + 1}: ${got}`);
        console.error(`${me}: round ${r + 1}/${rounds}, ${def.name}: failed (${secs} s): ${got}`);
      } else {
        m.rounds[r] = got.figures;
        if (got.torch) {
          m.torch = got.torch;
          // What the peers ran with (threads as set, the environment) over the probe's view.
          if (result.peer) result.peer.torch = got.torch;
        }
        console.error(`${me}: round ${r + 1}/${rounds}, ${def.name}: ${secs} s`);
      }
    }
    save(result);
  }
  result.finished = new Date().toISOString();
  result.machine.load_after = loadavg();
  save(result);
  process.stdout.write(markdownTable(result));
  console.error(`${me}: wrote ${jsonPath} and ${mdPath}`);
}

main();
