// maskwise `translate` beside CTranslate2 on the same model and the same tokenized input: batch 32
// and batch 1, greedy and beam 5, float32 against float32 and maskwise's --precision int8 against
// CTranslate2's int8, with the same number of threads, in interleaved rounds.
//
// The CTranslate2 side: bench/ctranslate2/build.sh builds it beside the repository (never in CI),
// bench/ctranslate2/convert.py writes the maskwise checkpoint as its TransformerSpec (once per
// precision, into the work folder), bench/ctranslate2/translate.py translates the source's token
// ids with ctranslate2.Translator (intra_threads = --threads, one translator).
//
// What is timed:
//   - CTranslate2: translate_batch on every sentence at once (it sorts by length and cuts
//     batches of B examples), timed inside the Python process; the Translator's construction
//     (reading the model) and the id <-> token string mapping are outside the time.
//   - maskwise: the `maskwise translate` process (stdin to stdout, MASKWISE_THREADS = --threads)
//     from spawn to exit, less the same command's time on an empty input (Node's start, the
//     imports, reading the model, packing the weights, int8 copies for --precision int8), both
//     measured every round; the figure is median(process) - median(empty input). Tokenizing and
//     detokenizing stay inside maskwise's time (CTranslate2 gets ids), a small handicap.
// Both sort the whole input by source length before they cut batches (maskwise through
// `--read-ahead` as many batches as the input holds; CTranslate2's translate_batch does it
// itself). Both stop at --max-new-tokens generated tokens (default 256, CTranslate2's
// max_decoding_length default), so a sentence that never ends costs both the same; length
// penalty 1 for beam search on both sides.
//
// The figure of each measure is the median over the rounds; each round runs every measure once,
// starting one measure later than the round before. Ratio = CTranslate2 s / maskwise s (above 1:
// maskwise is faster). BLEU is maskwise's sacreBLEU-exact corpus BLEU (13a) of each side's
// output of the first round against the reference; "identical" counts the sentences where
// maskwise and CTranslate2 wrote the same translation at the same precision (float32 against
// float32 proves the conversion).
//
//   bench/ctranslate2/build.sh CT2_GIT CPU_FEATURES_GIT SPDLOG_GIT   # once: /work/ct2/venv
//   node --import tsx bench/translate-compare.ts --model RUN/checkpoints/best [--rounds 5]
//     [--threads N] [--src FILE --ref FILE] [--limit N] [--python PATH] [--work DIR]
//     [--out PREFIX] [--force] [--only SUBSTRING,…] [--max-new-tokens N]
//
// Defaults: the source ../shared/data/multi30k/test_2016_flickr.de and its .en reference,
// --threads = the CPUs this process may use, --python $CT2_PYTHON or /work/ct2/venv/bin/python,
// --work PREFIX.work. Writes PREFIX.md (the table) and PREFIX.jsonl (one JSON object a line: the
// setup, every run of every round, one line per table row), both rewritten after each round.
// --limit N: the first N sentences only (a smoke test; its figures are not worth quoting).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { corpusBleu } from "../src/eval/index.js";
import { resolveConfig } from "../src/models/config.js";
import { loadTokenizer } from "../src/node/training-setup.js";
import { convertOnce } from "./ctranslate2/convert-once.js";
import { type ScriptArgs, scriptArgs } from "./script-args.js";

const root = join(import.meta.dirname, "..");
const me = "bench/translate-compare.ts";

// ---- flags ----
const args = scriptArgs(
  me,
  [
    "--model",
    "--rounds",
    "--threads",
    "--src",
    "--ref",
    "--limit",
    "--python",
    "--work",
    "--out",
    "--only",
    "--max-new-tokens",
  ],
  ["--force"],
);
// Typed out, so that a call through it narrows (it never returns).
const fail: ScriptArgs["fail"] = args.fail;
const { value, has, positiveInt: intFlag } = args;
const modelArg = value("--model");
if (!modelArg)
  fail(
    "--model is required",
    "command line",
    "pass a maskwise model directory, e.g. RUN/checkpoints/best",
  );
const modelDir = resolve(modelArg);
const rounds = intFlag("--rounds", 5);
const threads = intFlag("--threads", availableParallelism());
const maxNew = intFlag("--max-new-tokens", 256);
const limit = value("--limit") === undefined ? null : intFlag("--limit", 1);
const multi30k = join(root, "..", "shared", "data", "multi30k");
const srcPath = resolve(value("--src") ?? join(multi30k, "test_2016_flickr.de"));
const refPath = resolve(value("--ref") ?? join(multi30k, "test_2016_flickr.en"));
const python = value("--python") ?? process.env.CT2_PYTHON ?? "/work/ct2/venv/bin/python";
const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
const prefix = resolve(value("--out") ?? `translate-compare-${stamp}`);
const work = resolve(value("--work") ?? `${prefix}.work`);
const only = value("--only")
  ?.split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "");
const jsonlPath = `${prefix}.jsonl`;
const mdPath = `${prefix}.md`;
if (!has("--force")) {
  for (const p of [jsonlPath, mdPath])
    if (existsSync(p)) fail(`${p} exists`, "--out", "choose another --out or pass --force");
}
for (const [p, flag] of [
  [srcPath, "--src"],
  [refPath, "--ref"],
  [join(modelDir, "config.json"), "--model"],
] as const) {
  if (!existsSync(p)) fail(`${p} not found`, flag, "pass an existing file or model directory");
}

// ---- the input, tokenized once for CTranslate2 as maskwise tokenizes it ----
function readLines(path: string): string[] {
  const lines = readFileSync(path, "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return limit === null ? lines : lines.slice(0, limit);
}
const sources = readLines(srcPath);
const refs = readLines(refPath);
if (refs.length !== sources.length)
  fail(
    `${sources.length} source lines, ${refs.length} reference lines`,
    refPath,
    "pass the reference of --src",
  );
const config = resolveConfig(
  JSON.parse(readFileSync(join(modelDir, "config.json"), "utf8")),
  join(modelDir, "config.json"),
);
const tok = loadTokenizer(join(modelDir, "tokenizer.json"));
// src/train/translate.ts: the tokenizer's ids, cut to the longest source, followed by eos.
const MAX_SOURCE = 1024;
const kept = sources.map((l, i) => [l, i] as const).filter(([l]) => l.trim() !== "");
const sourceIds = kept.map(([l]) => [
  ...tok.encode(l).slice(0, MAX_SOURCE - 1),
  config.eos_token_id,
]);
mkdirSync(join(work, "hyp"), { recursive: true });
const srcText = `${sources.join("\n")}\n`;
const idsPath = join(work, "source.ids.jsonl");
writeFileSync(idsPath, `${sourceIds.map((ids) => JSON.stringify(ids)).join("\n")}\n`);

// ---- CTranslate2's models, converted once per precision ----
const ct2Dir = (precision: string) => join(work, `ct2-${precision}`);
function convert(precision: "float32" | "int8"): void {
  convertOnce(python, modelDir, ct2Dir(precision), precision, fail);
}

// ---- the measures ----
type Side = "maskwise" | "ctranslate2" | "maskwise-load";
interface Measure {
  name: string;
  side: Side;
  precision: "float32" | "int8";
  batch: number;
  beam: number;
}
const measures: Measure[] = [];
for (const precision of ["float32", "int8"] as const) {
  measures.push({
    name: `maskwise load ${precision}`,
    side: "maskwise-load",
    precision,
    batch: 0,
    beam: 0,
  });
  for (const batch of [32, 1])
    for (const beam of [1, 5])
      for (const side of ["maskwise", "ctranslate2"] as const)
        measures.push({
          name: `${side} ${precision} batch ${batch} beam ${beam}`,
          side,
          precision,
          batch,
          beam,
        });
}
const selected = measures.filter((m) => {
  if (!only) return true;
  // A selected maskwise measure brings its precision's load measure along.
  const picked = (x: Measure) => only.some((s) => x.name.includes(s));
  if (m.side === "maskwise-load")
    return measures.some((x) => x.side === "maskwise" && x.precision === m.precision && picked(x));
  return picked(m);
});
if (selected.length === 0)
  fail("no measure selected", "--only", "name a part of a measure's name, e.g. 'batch 32'");

function maskwiseArgs(m: Measure): string[] {
  const args = [
    join(root, "bin", "maskwise.mjs"),
    "translate",
    "--model",
    modelDir,
    "--precision",
    m.precision,
  ];
  // --read-ahead covering the whole input: maskwise sorts all of it by length before cutting
  // batches, as translate_batch does on CTranslate2's side.
  if (m.side === "maskwise")
    args.push(
      ...["--batch-size", String(m.batch), "--beam", String(m.beam)],
      ...["--read-ahead", String(Math.max(1, Math.ceil(sources.length / m.batch)))],
    );
  return [...args, "--max-new-tokens", String(maxNew)];
}
function ct2Args(m: Measure, out: string): string[] {
  return [
    join(root, "bench", "ctranslate2", "translate.py"),
    ...["--model", ct2Dir(m.precision), "--input", idsPath, "--output", out],
    ...["--threads", String(threads), "--batch-size", String(m.batch), "--beam", String(m.beam)],
    ...[
      "--compute-type",
      m.precision,
      "--max-decoding-length",
      String(maxNew),
      "--length-penalty",
      "1",
    ],
  ];
}
const hypPath = (m: Measure) => join(work, "hyp", `${m.name.replace(/ /g, "_")}.txt`);

/** One run: seconds (see the header for what each side's figure is) and the translations. */
function runOnce(m: Measure): { seconds: number; hyps: string[] | null } | string {
  if (m.side === "ctranslate2") {
    const out = join(work, "hyp", "ct2.ids.jsonl");
    const r = spawnSync(python, ct2Args(m, out), { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0)
      return (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n").pop() ?? "";
    const info = JSON.parse((r.stdout ?? "").trim().split("\n").pop() ?? "{}");
    const ids = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as number[]);
    const hyps = sources.map(() => "");
    kept.forEach(([, i], k) => {
      hyps[i] = tok.decode(
        ids[k].filter((t) => t !== config.eos_token_id),
        { skipSpecialTokens: true },
      );
    });
    return { seconds: info.translate_s, hyps };
  }
  const t0 = performance.now();
  const r = spawnSync(process.execPath, maskwiseArgs(m), {
    input: m.side === "maskwise" ? srcText : "",
    encoding: "utf8",
    maxBuffer: 1 << 26,
    env: { ...process.env, MASKWISE_THREADS: String(threads) },
  });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0)
    return (r.stderr || r.error?.message || `exit ${r.status}`).trim().split("\n").pop() ?? "";
  if (m.side === "maskwise-load") return { seconds, hyps: null };
  const hyps = (r.stdout ?? "").split("\n").slice(0, sources.length);
  return { seconds, hyps };
}

// ---- the report ----
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const runs: { measure: string; round: number; seconds: number | null; error?: string }[] = [];
const outputs = new Map<string, string[]>();
const secondsOf = (name: string) =>
  runs.filter((r) => r.measure === name && r.seconds !== null).map((r) => r.seconds as number);

interface Row {
  precision: string;
  batch: number;
  beam: number;
  maskwise_s: number | null;
  ctranslate2_s: number | null;
  ratio: number | null;
  bleu_maskwise: number | null;
  bleu_ctranslate2: number | null;
  identical: number | null;
  sentences: number;
}
function rows(): Row[] {
  const out: Row[] = [];
  for (const m of selected) {
    if (m.side !== "maskwise") continue;
    const peer = measures.find(
      (x) =>
        x.side === "ctranslate2" &&
        x.precision === m.precision &&
        x.batch === m.batch &&
        x.beam === m.beam,
    ) as Measure;
    const proc = secondsOf(m.name);
    const load = secondsOf(`maskwise load ${m.precision}`);
    const ct = secondsOf(peer.name);
    const mw = proc.length && load.length ? median(proc) - median(load) : null;
    const c = ct.length ? median(ct) : null;
    const a = outputs.get(m.name);
    const b = outputs.get(peer.name);
    const bleu = (h: string[] | undefined) => (h ? corpusBleu(h, [refs]).score : null);
    out.push({
      precision: m.precision,
      batch: m.batch,
      beam: m.beam,
      maskwise_s: mw,
      ctranslate2_s: c,
      ratio: mw !== null && c !== null && mw > 0 ? c / mw : null,
      bleu_maskwise: bleu(a),
      bleu_ctranslate2: bleu(b),
      identical: a && b ? a.filter((h, i) => h === b[i]).length : null,
      sentences: sources.length,
    });
  }
  return out;
}
const fmt = (x: number | null, d: number) => (x === null ? "-" : x.toFixed(d));
function markdown(table: Row[], roundsDone: number): string {
  const head = [
    `maskwise \`translate\` and CTranslate2${ct2Version ? ` ${ct2Version}` : ""} on ${sources.length} sentences of ${srcPath.split("/").slice(-2).join("/")}, ` +
      `${threads} thread(s) each, ${roundsDone} round(s), medians; ${cpus()[0]?.model ?? "unknown CPU"}.`,
    "maskwise s: the process less its run on an empty input; CTranslate2 s: translate_batch in-process, model loaded. " +
      "Ratio = CTranslate2 s / maskwise s (above 1: maskwise is faster).",
    "",
    "| precision | batch | beam | maskwise s | CTranslate2 s | ratio | BLEU maskwise | BLEU CTranslate2 | identical |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  const body = table.map(
    (r) =>
      `| ${r.precision} | ${r.batch} | ${r.beam} | ${fmt(r.maskwise_s, 2)} | ${fmt(r.ctranslate2_s, 2)} | ${fmt(r.ratio, 2)} | ` +
      `${fmt(r.bleu_maskwise, 2)} | ${fmt(r.bleu_ctranslate2, 2)} | ${r.identical === null ? "-" : `${r.identical}/${r.sentences}`} |`,
  );
  return `${[...head, ...body].join("\n")}\n`;
}
let ct2Version: string | null = null;
const setup = {
  kind: "setup",
  bench: "translate-compare",
  started: new Date().toISOString(),
  model: modelDir,
  src: srcPath,
  ref: refPath,
  sentences: sources.length,
  threads,
  max_new_tokens: maxNew,
  python,
  cpu: cpus()[0]?.model ?? null,
  load_before: loadavg(),
  commands: {} as Record<string, string[]>,
};
function save(roundsDone: number): void {
  const table = rows();
  const lines = [
    { ...setup, ctranslate2: ct2Version, rounds_done: roundsDone },
    ...runs.map((r) => ({ kind: "run", ...r })),
    ...table.map((r) => ({ kind: "row", ...r })),
  ];
  for (const [path, text] of [
    [jsonlPath, `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`],
    [mdPath, markdown(table, roundsDone)],
  ]) {
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
}

function main(): void {
  for (const precision of new Set(
    selected.filter((m) => m.side === "ctranslate2").map((m) => m.precision),
  )) {
    convert(precision);
    const v = spawnSync(python, ["-c", "import ctranslate2; print(ctranslate2.__version__)"], {
      encoding: "utf8",
    });
    ct2Version = v.status === 0 ? v.stdout.trim() : null;
  }
  for (const m of selected)
    setup.commands[m.name] =
      m.side === "ctranslate2"
        ? [python, ...ct2Args(m, "OUT")]
        : [process.execPath, ...maskwiseArgs(m)];
  for (let r = 0; r < rounds; r++) {
    // Round r starts r measures later, so no measure always runs first or after the same one.
    const order = selected.map((_, i) => selected[(i + r) % selected.length]);
    for (const m of order) {
      const got = runOnce(m);
      if (typeof got === "string") {
        runs.push({ measure: m.name, round: r + 1, seconds: null, error: got });
        console.error(`${me}: round ${r + 1}/${rounds}, ${m.name}: failed: ${got}`);
        continue;
      }
      runs.push({ measure: m.name, round: r + 1, seconds: got.seconds });
      if (got.hyps && !outputs.has(m.name)) {
        outputs.set(m.name, got.hyps);
        writeFileSync(hypPath(m), `${got.hyps.join("\n")}\n`);
      }
      console.error(`${me}: round ${r + 1}/${rounds}, ${m.name}: ${got.seconds.toFixed(2)} s`);
    }
    save(r + 1);
  }
  process.stdout.write(markdown(rows(), rounds));
  console.error(`${me}: wrote ${mdPath} and ${jsonlPath}; translations in ${join(work, "hyp")}`);
}

main();
