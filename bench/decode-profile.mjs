// Where the time per token of `maskwise bench decode` goes, from a V8 CPU profile:
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --cpu-prof-interval 200 bin/maskwise.mjs bench decode --runs 30
//   node bench/decode-profile.mjs /tmp/prof/CPU.*.cpuprofile --runs 30
//
// Every sample under greedy() or beamSearch() goes to one bucket by the function running and
// its callers (GEMM split by who calls it; the encoder, run once per decode, counted apart), and
// each bucket is shown as a share and as microseconds per generated token: samples x interval /
// (decodes x 32 tokens), with decodes = runs + 1 warm-up. Encoding the source happens before each
// search starts (same source for greedy and beam), so its samples go half to each table. The
// profiler itself slows JavaScript down, so absolute figures run high; the shares are the point.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a));
const runsAt = args.indexOf("--runs");
const decodes = (runsAt >= 0 ? Number(args[runsAt + 1]) : 5) + 1;
if (!file || !(decodes > 1)) {
  console.error("usage: node bench/decode-profile.mjs PROFILE.cpuprofile [--runs N]");
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (n) =>
  `${n.callFrame.functionName || "(anon)"}@${n.callFrame.url.split("/").slice(-2).join("/")}`;
const interval = (profile.endTime - profile.startTime) / profile.samples.length; // us

/** The bucket of a sample whose stack (innermost first) is `stack`. */
function bucket(stack) {
  const self = stack[0];
  const has = (re) => stack.some((s) => re.test(s));
  const once = has(/^encode@/) || (has(/^Seq2SeqIncremental@/) && !has(/^(next|reorder)@/));
  if (/gemm/i.test(self)) {
    if (once) return "GEMM: encoder and cross-attention keys/values (once per decode)";
    if (has(/^(project|projectInto|logits)@/)) return "GEMM: output projection (V = 8000)";
    return "GEMM: decoder layers";
  }
  if (once) return "encoder, other (once per decode)";
  if (/attentionForward|decodeAttention/.test(self)) return "attention kernel";
  if (has(/masks\.ts|^attentionArgs@|^checkShapes@/)) return "attention masks and arguments";
  if (has(/^(reorder|pickRows)@/)) return "beam reorder copies";
  if (has(/^(append|cachedHeads|grow|useSlots|addRows)@/) || /cache\.ts/.test(self))
    return "KV cache: append in place, row map or slot table after reorders";
  if (has(/^(splitHeads|mergeHeads)@/)) return "head split/merge copies";
  if (/^(binary|rawBinary|unary)@/.test(self)) return "element-wise (bias, residual, ReLU)";
  if (/layerNorm/i.test(self)) return "layer norm";
  if (has(/^(logSoftmaxRows|decodeLogSoftmax)@/)) return "log-softmax over V";
  if (has(/^(topContinuations|argmaxRows|argmax|decodeTopKGroups)@/))
    return "argmax / top-2K over V";
  if (/garbage/.test(self)) return "garbage collector";
  if (has(/^(into@models\/embed|forward@models\/embed|sinusoidalPositions|embedding)/))
    return "embedding + positions";
  return "other JavaScript (tensors, tape, modules, search bookkeeping)";
}

const counts = new Map();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const tables = { greedy: new Map(), "beam 5": new Map() };
for (const [id, c] of counts) {
  const stack = [];
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) stack.push(label(byId.get(cur)));
  const mode = stack.some((s) => /^beamSearch@/.test(s))
    ? "beam 5"
    : stack.some((s) => /^greedy@/.test(s))
      ? "greedy"
      : null;
  const b = bucket(stack);
  if (mode) {
    tables[mode].set(b, (tables[mode].get(b) ?? 0) + c);
  } else if (stack.some((s) => /^Seq2SeqIncremental@/.test(s))) {
    // Encoding runs before the search starts, the same source for both: half to each.
    for (const t of Object.values(tables)) t.set(b, (t.get(b) ?? 0) + c / 2);
  }
}
for (const [mode, t] of Object.entries(tables)) {
  const total = [...t.values()].reduce((a, b) => a + b, 0);
  if (total === 0) continue;
  const perToken = (n) => (n * interval) / decodes / 32;
  console.log(`\n${mode}: ${Math.round(perToken(total))} us per token under the profiler\n`);
  console.log("| where | share | us per token |\n|---|---|---|");
  for (const [name, n] of [...t].sort((a, b) => b[1] - a[1]))
    console.log(`| ${name} | ${((100 * n) / total).toFixed(1)}% | ${Math.round(perToken(n))} |`);
}
