// Tokenizer speed: training an 8,000-token BPE tokenizer on Multi30k train (de+en, 58,000 lines)
// through the CLI, beside Debian's `spm_train --model_type=bpe --vocab_size=8000` on the same
// files when it is on PATH (the bound: at most 2x its time); and encoding speed in tokens
// per second on one core (the bound: at least 1 million), for both BPE pre-tokenizers and for
// WordPiece (BERT-style, cased), all in one run so the figures share the machine's state.
// Then the pretrained tokenizers of ../shared/ref/tokenizers on 3,000 WMT22 lines (1,000 each of
// English, German and Chinese): tokens per second on one core for maskwise (ids, tokens and
// offsets) beside the Rust `tokenizers` package with its parallelism off, same files, same run.
// Run: node --import tsx bench/tokenizer.ts [--json] [--pretrained-only]
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pretrainedFromString, tokenizerFromString } from "../src/tokenizer/index.js";

// One core for the Rust side too: its batch encoding is serial when parallelism is off.
process.env.TOKENIZERS_PARALLELISM = "false";

const data = join(import.meta.dirname, "..", "..", "shared", "data", "multi30k");
if (!existsSync(data)) {
  console.error(`bench/tokenizer.ts: ${data} not found; it needs Multi30k in ../shared`);
  process.exit(1);
}
const files = ["train.de", "train.en"].map((f) => join(data, f));
const bin = join(import.meta.dirname, "..", "bin", "maskwise.mjs");
const dir = mkdtempSync(join(tmpdir(), "maskwise-bench-tok-"));

function timed(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", cwd: dir });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

const result: Record<string, number | null> = {};
const pretrainedOnly = process.argv.includes("--pretrained-only");
const lines = files.flatMap((f) =>
  readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l !== ""),
);
const kinds: [string, string[]][] = [
  ["metaspace", ["--pre-tokenizer", "metaspace"]],
  ["byte-level", ["--pre-tokenizer", "byte-level"]],
  ["wordpiece", ["--model", "wordpiece"]],
];
for (const [kind, flags] of pretrainedOnly ? [] : kinds) {
  const out = join(dir, `${kind}.json`);
  const inputs = files.flatMap((f) => ["--input", f]);
  const args = [bin, "tokenizer", "train", ...inputs, "--vocab-size", "8000", "--out", out];
  result[`train_s_${kind}`] = timed(process.execPath, [...args, ...flags]);
  const tok = tokenizerFromString(readFileSync(out, "utf8"));
  // Warm up (fills the word cache as any long run would), then time three passes.
  let n = 0;
  for (const l of lines) tok.encode(l);
  const t0 = performance.now();
  for (let r = 0; r < 3; r++) for (const l of lines) n += tok.encode(l).length;
  result[`encode_tok_s_${kind}`] = Math.round(n / ((performance.now() - t0) / 1000));
}
const which = spawnSync("sh", ["-c", "command -v spm_train"], { encoding: "utf8" });
if (which.status === 0 && !pretrainedOnly) {
  const spmArgs = [
    `--input=${files.join(",")}`,
    "--model_prefix=spm",
    "--vocab_size=8000",
    "--model_type=bpe",
  ];
  result.spm_train_s = timed("spm_train", spmArgs);
  result.train_ratio = (result.train_s_metaspace as number) / result.spm_train_s;
} else if (!pretrainedOnly) {
  result.spm_train_s = null;
  result.train_ratio = null;
}
rmSync(dir, { recursive: true, force: true });

const shared = join(import.meta.dirname, "..", "..", "shared");
const wmt = [
  "generaltest2022.en-de.src.en",
  "generaltest2022.de-en.src.de",
  "generaltest2022.zh-en.src.zh",
];
const wmtLines = wmt.flatMap((f) =>
  readFileSync(join(shared, "data", "wmt22", f), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .slice(0, 1000),
);
const rust = createRequire(import.meta.url)("tokenizers") as typeof import("tokenizers");
const cases = [
  "t5_unigram",
  "llama_spm_bpe",
  "llama_spm_bpe_legacy",
  "gpt2_bytelevel",
  "qwen2_style",
  "bert_wordpiece_chinese",
];
for (const c of cases) {
  const path = join(shared, "ref", "tokenizers", c, "tokenizer.json");
  const tok = pretrainedFromString(readFileSync(path, "utf8"), path);
  const ref = rust.Tokenizer.fromFile(path);
  // The first pass on fresh tokenizers (empty word caches), then three warm passes each.
  let n = 0;
  let t0 = performance.now();
  for (const l of wmtLines) n += tok.encode(l).ids.length;
  result[`pretrained_cold_tok_s_${c}`] = Math.round(n / ((performance.now() - t0) / 1000));
  let m = 0;
  t0 = performance.now();
  for (const e of await ref.encodeBatch(wmtLines)) m += e.getIds().length;
  result[`rust_cold_tok_s_${c}`] = Math.round(m / ((performance.now() - t0) / 1000));
  n = 0;
  t0 = performance.now();
  for (let r = 0; r < 3; r++) for (const l of wmtLines) n += tok.encode(l).ids.length;
  const ours = n / ((performance.now() - t0) / 1000);
  m = 0;
  t0 = performance.now();
  for (let r = 0; r < 3; r++)
    for (const e of await ref.encodeBatch(wmtLines)) m += e.getIds().length;
  const theirs = m / ((performance.now() - t0) / 1000);
  result[`pretrained_tok_s_${c}`] = Math.round(ours);
  result[`rust_tok_s_${c}`] = Math.round(theirs);
  result[`pretrained_ratio_${c}`] = Math.round((ours / theirs) * 100) / 100;
}
if (process.argv.includes("--json")) console.log(JSON.stringify({ bench: "tokenizer", ...result }));
else for (const [k, v] of Object.entries(result)) console.log(`${k}: ${v ?? "n/a (no spm_train)"}`);
