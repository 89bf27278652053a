// How far `--precision int8` moves a model's next-token log-probabilities from float32's, for
// maskwise and for CTranslate2's int8 on the same model: the reference translations scored by
// teacher forcing (each reference token's log-probability after the reference prefix), once in
// float32 and once in int8 on each side, and |log p int8 - log p float32| summarised over every
// token (mean, median, 99th percentile, largest). BLEU of one test set moves with a few
// sentences (a greedy run that falls into repetition); this measures the quantization itself,
// on every token of the references.
//
// maskwise: the decoding step (Seq2SeqIncremental: the path `translate` runs) fed the reference,
// batches of 32 sentences; its int8 copies are those of `--precision int8`. CTranslate2:
// Translator.score_batch (bench/ctranslate2/score.py) on the model converted by
// bench/ctranslate2/convert.py (as bench/translate-compare.ts converts it; a --work folder of that
// script's is reused). The float32 sides are compared too: they agree to float32 rounding when
// the conversion is exact.
//
//   node --import tsx bench/int8-fidelity.ts --model RUN/checkpoints/best [--src FILE --ref FILE]
//     [--python PATH] [--work DIR] [--threads N] [--out PREFIX] [--force]
//
// Defaults: ../shared/data/multi30k/test_2016_flickr.de and .en, --python $CT2_PYTHON or
// /work/ct2/venv/bin/python, --work PREFIX.work. Writes PREFIX.md (the table) and PREFIX.json.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
import { join, resolve } from "node:path";
import { logSoftmaxRows } from "../src/decode/processors.js";
import { decodingWeights, Seq2SeqIncremental } from "../src/models/incremental.js";
import { initBackend } from "../src/node/backend.js";
import { loadEncoderDecoder } from "../src/node/model-dir.js";
import { loadTokenizer } from "../src/node/training-setup.js";
import { sourceBatch } from "../src/train/translate.js";
import { convertOnce } from "./ctranslate2/convert-once.js";
import { type ScriptArgs, scriptArgs } from "./script-args.js";

const root = join(import.meta.dirname, "..");
const me = "bench/int8-fidelity.ts";

// ---- flags ----
const args = scriptArgs(
  me,
  ["--model", "--src", "--ref", "--python", "--work", "--threads", "--out"],
  ["--force"],
);
// Typed out, so that a call through it narrows (it never returns).
const fail: ScriptArgs["fail"] = args.fail;
const { value, has, positiveInt } = args;
const modelArg = value("--model");
if (!modelArg) fail("--model is required", "command line", "pass RUN/checkpoints/best");
const modelDir = resolve(modelArg);
const multi30k = join(root, "..", "shared", "data", "multi30k");
const srcPath = resolve(value("--src") ?? join(multi30k, "test_2016_flickr.de"));
const refPath = resolve(value("--ref") ?? join(multi30k, "test_2016_flickr.en"));
const python = value("--python") ?? process.env.CT2_PYTHON ?? "/work/ct2/venv/bin/python";
const threads = positiveInt("--threads", availableParallelism());
const prefix = resolve(value("--out") ?? "int8-fidelity");
const work = resolve(value("--work") ?? `${prefix}.work`);
if (!has("--force"))
  for (const p of [`${prefix}.md`, `${prefix}.json`])
    if (existsSync(p)) fail(`${p} exists`, "--out", "choose another --out or pass --force");
for (const [p, flag] of [
  [srcPath, "--src"],
  [refPath, "--ref"],
  [join(modelDir, "config.json"), "--model"],
] as const)
  if (!existsSync(p)) fail(`${p} not found`, flag, "pass an existing file or model directory");

// ---- the pairs, tokenized as translate (source + eos) and training (target + eos) do ----
const lines = (p: string) => readFileSync(p, "utf8").replace(/\n$/, "").split("\n");
const sources = lines(srcPath);
const refs = lines(refPath);
if (sources.length !== refs.length)
  fail(`${sources.length} source lines, ${refs.length} reference lines`, refPath, "pass --src's");
process.env.MASKWISE_THREADS ??= String(threads);
initBackend();
const model = loadEncoderDecoder(modelDir);
const cfg = model.config;
const tok = loadTokenizer(join(modelDir, "tokenizer.json"));
const pairs = sources
  .map((s, i) => [s, refs[i]] as const)
  .filter(([s, r]) => s.trim() !== "" && r.trim() !== "");
const srcIds = pairs.map(([s]) => [...tok.encode(s), cfg.eos_token_id]);
const tgtIds = pairs.map(([, r]) => [...tok.encode(r), cfg.eos_token_id]);

/** Log-probability of each target token (eos included) after its reference prefix. */
function maskwiseScores(precision: "float32" | "int8"): number[][] {
  const weights = decodingWeights(model, precision);
  const V = cfg.vocab_size;
  const out: number[][] = [];
  for (let s = 0; s < pairs.length; s += 32) {
    const rows = Array.from({ length: Math.min(32, pairs.length - s) }, (_, r) => s + r);
    // As translate batches them.
    const [ids, mask] = sourceBatch(
      rows.map((i) => srcIds[i]),
      cfg.pad_token_id,
    );
    const decoder = new Seq2SeqIncremental(model, ids, mask, { weights });
    const scores = rows.map(() => [] as number[]);
    const T = Math.max(...rows.map((i) => tgtIds[i].length));
    let fed = Int32Array.from(rows, () => cfg.decoder_start_token_id);
    for (let t = 0; t < T; t++) {
      const lp = decoder.next(fed);
      logSoftmaxRows(lp, rows.length, V);
      rows.forEach((i, r) => {
        if (t < tgtIds[i].length) scores[r].push(lp[r * V + tgtIds[i][t]]);
      });
      // A row past its reference's end is fed eos; its scores are no longer read.
      fed = Int32Array.from(rows, (i) => tgtIds[i][t]);
    }
    decoder.release();
    out.push(...scores);
  }
  return out;
}

// ---- CTranslate2 ----
mkdirSync(work, { recursive: true });
const ct2Dir = (precision: string) => join(work, `ct2-${precision}`);
function run(args: string[], what: string): void {
  const r = spawnSync(python, args, { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0)
    fail(
      `${what} failed: ${(r.stderr || r.error?.message || "").trim()}`,
      python,
      "build CTranslate2 with bench/ctranslate2/build.sh, or pass --python",
    );
}
const srcFile = join(work, "fidelity.source.jsonl");
const tgtFile = join(work, "fidelity.target.jsonl");
writeFileSync(srcFile, `${srcIds.map((x) => JSON.stringify(x)).join("\n")}\n`);
writeFileSync(tgtFile, `${tgtIds.map((x) => JSON.stringify(x.slice(0, -1))).join("\n")}\n`);
function ct2Scores(precision: "float32" | "int8"): number[][] {
  convertOnce(python, modelDir, ct2Dir(precision), precision, fail);
  const output = join(work, `fidelity.ct2-${precision}.jsonl`);
  run(
    [
      join(root, "bench", "ctranslate2", "score.py"),
      "--model",
      ct2Dir(precision),
      "--source",
      srcFile,
      "--target",
      tgtFile,
      "--output",
      output,
      "--threads",
      String(threads),
      "--compute-type",
      precision,
    ],
    "score.py",
  );
  return lines(output).map((l) => JSON.parse(l) as number[]);
}

// ---- the summary ----
interface Summary {
  tokens: number;
  mean: number;
  median: number;
  p99: number;
  max: number;
}
function deviation(a: number[][], b: number[][], what: string): Summary {
  const d: number[] = [];
  a.forEach((row, i) => {
    if (row.length !== b[i].length)
      fail(`line ${i + 1}: ${row.length} against ${b[i].length} scores`, what, "report this");
    row.forEach((v, t) => {
      d.push(Math.abs(v - b[i][t]));
    });
  });
  d.sort((x, y) => x - y);
  const at = (q: number) => d[Math.min(d.length - 1, Math.floor(q * d.length))];
  return {
    tokens: d.length,
    mean: d.reduce((s, x) => s + x, 0) / d.length,
    median: at(0.5),
    p99: at(0.99),
    max: d[d.length - 1],
  };
}

console.error(`${me}: maskwise float32 and int8 scores of ${pairs.length} references`);
const mw = { float32: maskwiseScores("float32"), int8: maskwiseScores("int8") };
console.error(`${me}: CTranslate2 float32 and int8 scores`);
const ct = { float32: ct2Scores("float32"), int8: ct2Scores("int8") };
const rows: [string, Summary][] = [
  ["maskwise int8 against maskwise float32", deviation(mw.int8, mw.float32, "maskwise")],
  ["CTranslate2 int8 against CTranslate2 float32", deviation(ct.int8, ct.float32, "CTranslate2")],
  ["maskwise float32 against CTranslate2 float32", deviation(mw.float32, ct.float32, "float32")],
];
const e = (x: number) => x.toExponential(2);
const md = [
  `|log p a - log p b| per reference token, ${pairs.length} sentences of ${srcPath.split("/").pop()}; ${cpus()[0]?.model.trim() ?? "CPU"}.`,
  "",
  "| a against b | tokens | mean | median | 99th percentile | largest |",
  "|---|---|---|---|---|---|",
  ...rows.map(
    ([name, s]) =>
      `| ${name} | ${s.tokens} | ${e(s.mean)} | ${e(s.median)} | ${e(s.p99)} | ${e(s.max)} |`,
  ),
  "",
].join("\n");
writeFileSync(`${prefix}.md`, md);
writeFileSync(`${prefix}.json`, `${JSON.stringify(Object.fromEntries(rows), null, 1)}\n`);
process.stdout.write(md);
