// How long corpus BLEU takes on 3,000 lines (WMT22 en-de then zh-en system outputs against their
// references, cut to 3,000 segments), with chrF, chrF++ and ROUGE on the same lines for scale.
// Run: node --import tsx bench/eval.ts [--json]
// Reads ../shared/data/wmt22; prints the median of 5 timed runs after one warm-up.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { corpusBleu, corpusChrf, corpusRouge } from "../src/eval/index.js";

const wmt = join(import.meta.dirname, "..", "..", "shared", "data", "wmt22");
if (!existsSync(wmt)) {
  console.error(`bench/eval.ts: ${wmt} not found; it needs the WMT22 files in ../shared`);
  process.exit(1);
}
const read = (f: string) => {
  const lines = readFileSync(join(wmt, `generaltest2022.${f}`), "utf8").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
};
const N = 3000;
const hyps = [...read("en-de.hyp.Online-B.de"), ...read("zh-en.hyp.NiuTrans.en")].slice(0, N);
const refs = [[...read("en-de.ref.A.de"), ...read("zh-en.ref.A.en")].slice(0, N)];

function time(fn: () => unknown, runs = 5): number {
  fn();
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(runs / 2)];
}

const results = {
  bench: "eval",
  lines: hyps.length,
  bleu_ms: time(() => corpusBleu(hyps, refs)),
  bleu_intl_ms: time(() => corpusBleu(hyps, refs, { tokenize: "intl" })),
  chrf_ms: time(() => corpusChrf(hyps, refs)),
  chrfpp_ms: time(() => corpusChrf(hyps, refs, { wordOrder: 2 })),
  rouge_ms: time(() => corpusRouge(hyps, refs, { useStemmer: true })),
};
if (process.argv.includes("--json")) {
  console.log(JSON.stringify(results));
} else {
  console.log(`corpus of ${results.lines} lines (median of 5 runs):`);
  for (const [k, v] of Object.entries(results)) {
    if (k.endsWith("_ms"))
      console.log(`  ${k.slice(0, -3).padEnd(10)} ${(v as number).toFixed(1)} ms`);
  }
}
