// What bench/llama-lora.ts measures and how it reports, apart from running anything: the model
// (a Llama config of about 100M parameters, and a small one for --quick), the LoRA adapter's
// config, the inputs both sides read, the parameter count, and the JSON lines and markdown table
// made from the two sides' timings. Pure functions on plain objects, so they are tested without
// timing anything (tests/bench/llama-lora-report.test.ts).
import { Rng } from "../src/util/rng.js";

/**
 * The measured model's config.json, as transformers 5.18 writes LlamaConfig: hidden 768, 12
 * layers, 12 query heads of 64 and 4 key/value heads (grouped-query attention), SwiGLU 2048,
 * vocabulary 32,000, the head tied to the token embedding: 100.1M parameters (llamaParameters).
 * Random weights (initializer_range 0.02), written once by maskwise.
 */
export const LLAMA_100M = {
  architectures: ["LlamaForCausalLM"],
  model_type: "llama",
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  pad_token_id: null,
  head_dim: 64,
  hidden_act: "silu",
  hidden_size: 768,
  initializer_range: 0.02,
  intermediate_size: 2048,
  max_position_embeddings: 2048,
  mlp_bias: false,
  num_attention_heads: 12,
  num_hidden_layers: 12,
  num_key_value_heads: 4,
  rms_norm_eps: 1e-5,
  rope_parameters: { rope_theta: 10000.0, rope_type: "default" },
  tie_word_embeddings: true,
  use_cache: true,
  vocab_size: 32000,
};

/** --quick's model: the same shape of config at 4.4M parameters, a smoke test of the chain. */
export const LLAMA_QUICK = {
  ...LLAMA_100M,
  head_dim: 32,
  hidden_size: 256,
  intermediate_size: 512,
  num_attention_heads: 8,
  num_hidden_layers: 4,
  num_key_value_heads: 4,
  vocab_size: 8000,
};

export type LlamaJson = typeof LLAMA_100M;

/** PEFT's LoraConfig of the adapter: r 8, alpha 16 (scaling 2), no dropout, q_proj and v_proj. */
export const LORA = { r: 8, alpha: 16, dropout: 0, targets: ["q_proj", "v_proj"] };

/** Parameters of the base model (embedding, layers, final norm, and the head when untied). */
export function llamaParameters(c: LlamaJson): number {
  const D = c.hidden_size;
  const Dh = c.head_dim;
  const q = D * c.num_attention_heads * Dh;
  const kv = D * c.num_key_value_heads * Dh;
  const layer = 2 * q + 2 * kv + 3 * D * c.intermediate_size + 2 * D;
  const embed = c.vocab_size * D;
  return embed + c.num_hidden_layers * layer + D + (c.tie_word_embeddings ? 0 : embed);
}

/** Parameters of the adapter: A [r, in] and B [out, r] on every q_proj and v_proj. */
export function loraParameters(c: LlamaJson, r = LORA.r): number {
  const D = c.hidden_size;
  const q = r * (D + c.num_attention_heads * c.head_dim);
  const v = r * (D + c.num_key_value_heads * c.head_dim);
  return c.num_hidden_layers * (q + v);
}

/** What both sides read (inputs.json): token ids, never bos, eos or pad. */
export interface Inputs {
  /** The training batch [B, T]; the labels are the ids (a causal LM predicts the next one). */
  input_ids: number[][];
  /** The decoding prompt: bos, then random ids. */
  prompt: number[];
  new_tokens: number;
  /** AdamW on the adapter alone. */
  lr: number;
}

export function makeInputs(
  c: LlamaJson,
  o: { batch: number; seq: number; prompt: number; newTokens: number },
): Inputs {
  const rng = new Rng(11);
  const ids = (n: number) => Array.from({ length: n }, () => 3 + rng.int(c.vocab_size - 3));
  return {
    input_ids: Array.from({ length: o.batch }, () => ids(o.seq)),
    prompt: [c.bos_token_id, ...ids(o.prompt - 1)],
    new_tokens: o.newTokens,
    lr: 1e-4,
  };
}

/**
 * maskwise's labels for the batch: labels[t] is what position t predicts (the next id), -100 at
 * the last position; transformers shifts its labels (the ids) itself, to the same T - 1 targets.
 */
export function shiftedLabels(ids: readonly (readonly number[])[]): number[][] {
  return ids.map((row) => [...row.slice(1), -100]);
}

export const SIDES = ["maskwise", "transformers"] as const;
export type Side = (typeof SIDES)[number];
/**
 * float32; bfloat16: maskwise's --precision bfloat16 (products on operands rounded to bfloat16,
 * decoding on bfloat16 copies of the weights), torch.autocast to bfloat16 on the peer; and the
 * peer's decoding with its model cast to bfloat16 (model.to(torch.bfloat16)): autocast casts
 * every weight again at each step, which batch-1 decoding pays for every token.
 */
export const PRECISIONS = ["float32", "bfloat16", "bfloat16-weights"] as const;
export type Precision = (typeof PRECISIONS)[number];
export const MEASURES = ["train-step", "decode"] as const;
export type MeasureName = (typeof MEASURES)[number];

/** What one side's process prints (its last line): the checks, and seconds per timed run. */
export interface WorkerResult {
  side: Side;
  threads: number;
  versions?: Record<string, string>;
  /** The float32 loss of the batch before any step (a fresh adapter: B = 0). */
  eval_loss: number;
  /** The float32 loss of the batch after one AdamW step on the adapter. */
  loss_after_step: number;
  /** Greedy ids of the float32 decoding (the new tokens only). */
  ids: number[];
  /** The sum of those ids' log-probabilities (log-softmax of the raw logits, step by step). */
  log_prob: number;
  /** Keyed "train-step float32", "decode bfloat16", ...: seconds of each timed run. */
  seconds: Record<string, number[]>;
}

export const key = (m: MeasureName, p: Precision) => `${m} ${p}`;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The settings a run was made with, carried into its lines and table. */
export interface RunInfo {
  model: string;
  parameters: number;
  lora_parameters: number;
  batch: [number, number];
  prompt: number;
  new_tokens: number;
  rounds: number;
  reps: number;
  threads: number;
  quick: boolean;
  cpu_model: string;
  versions: Record<string, string>;
}

/** One measure on one side in one precision: the median of the rounds' medians. */
export interface MeasureLine {
  bench: "llama-lora";
  side: Side;
  measure: MeasureName;
  precision: Precision;
  median_s: number;
  /** decode: new tokens per second; train-step: tokens (B x T) per second. */
  tok_s: number;
  rounds_s: number[];
  [more: string]: unknown;
}

/** Per round and side, the median of that process's timed runs, for every measure. */
export type Rounds = Record<Side, Record<string, number[]>>;

export function measureLines(info: RunInfo, rounds: Rounds): MeasureLine[] {
  const lines: MeasureLine[] = [];
  for (const measure of MEASURES) {
    for (const precision of PRECISIONS) {
      for (const side of SIDES) {
        const series = rounds[side][key(measure, precision)] ?? [];
        if (series.length === 0) continue;
        const s = median(series);
        const work = measure === "decode" ? info.new_tokens : info.batch[0] * info.batch[1];
        lines.push({
          bench: "llama-lora",
          side,
          measure,
          precision,
          median_s: s,
          tok_s: work / s,
          rounds_s: series,
          ...(measure === "decode"
            ? { new_tokens: info.new_tokens, prompt: info.prompt, batch: 1 }
            : { batch: info.batch }),
          threads: info.threads,
          rounds: info.rounds,
          reps: info.reps,
          quick: info.quick,
        });
      }
    }
  }
  return lines;
}

/** A row of the table: a measure, maskwise in one precision against the peer in one. */
export interface RowSpec {
  measure: MeasureName;
  maskwise: Precision;
  peer: Precision;
  label: string;
}

export const ROWS: RowSpec[] = [
  { measure: "train-step", maskwise: "float32", peer: "float32", label: "float32" },
  {
    measure: "train-step",
    maskwise: "bfloat16",
    peer: "bfloat16",
    label: "bfloat16 products (`--precision bfloat16` / autocast)",
  },
  { measure: "decode", maskwise: "float32", peer: "float32", label: "float32" },
  {
    measure: "decode",
    maskwise: "bfloat16",
    peer: "bfloat16",
    label: "bfloat16 (`--precision bfloat16` / autocast)",
  },
  {
    measure: "decode",
    maskwise: "bfloat16",
    peer: "bfloat16-weights",
    label: "bfloat16 (`--precision bfloat16` / `model.to(torch.bfloat16)`)",
  },
];

/** The name of a row in the summary's ratios: "decode bfloat16 / bfloat16-weights". */
export const rowName = (r: RowSpec) =>
  `${r.measure} ${r.maskwise}${r.peer === r.maskwise ? "" : ` / ${r.peer}`}`;

const lineOf = (lines: readonly MeasureLine[], side: Side, m: MeasureName, p: Precision) =>
  lines.find((l) => l.side === side && l.measure === m && l.precision === p);

/** maskwise / transformers in tokens/s on a row (> 1: maskwise is faster), or null. */
export function ratio(lines: readonly MeasureLine[], row: RowSpec): number | null {
  const a = lineOf(lines, "maskwise", row.measure, row.maskwise);
  const b = lineOf(lines, "transformers", row.measure, row.peer);
  return a && b ? a.tok_s / b.tok_s : null;
}

const fmt = (x: number) =>
  Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en-US") : x.toPrecision(3);

/** The table of docs/benchmarks.md, with a line above it that says what and where. */
export function markdownTable(info: RunInfo, lines: readonly MeasureLine[]): string {
  const v = info.versions;
  const peer = `transformers ${v.transformers ?? "?"} + PEFT ${v.peft ?? "?"} on torch ${v.torch ?? "?"}`;
  const head =
    `${info.model} (${(info.parameters / 1e6).toFixed(1)}M parameters, random weights), LoRA r ${LORA.r} ` +
    `alpha ${LORA.alpha} on ${LORA.targets.join(", ")} (${(info.lora_parameters / 1e6).toFixed(2)}M trained); ` +
    `${info.cpu_model}, ${info.threads} threads; maskwise against ${peer}; ` +
    `${info.rounds} interleaved round${info.rounds === 1 ? "" : "s"} of ${info.reps} timed run${info.reps === 1 ? "" : "s"}, medians` +
    `${info.quick ? " (--quick: a smoke test, not figures)" : ""}.`;
  const out = [
    head,
    "",
    "| measure | precision | maskwise | transformers | maskwise / transformers |",
    "|---|---|---|---|---|",
  ];
  const cell = (l: MeasureLine | undefined) =>
    l ? `${fmt(l.tok_s)} tok/s (${fmt(l.median_s * 1000)} ms)` : "-";
  for (const row of ROWS) {
    const a = lineOf(lines, "maskwise", row.measure, row.maskwise);
    const b = lineOf(lines, "transformers", row.measure, row.peer);
    if (!a && !b) continue;
    const what =
      row.measure === "decode"
        ? `greedy decoding, batch 1, ${info.prompt}-token prompt, ${info.new_tokens} new tokens`
        : `LoRA training step, ${info.batch[0]} x ${info.batch[1]} tokens, AdamW`;
    const r = ratio(lines, row);
    out.push(
      `| ${what} | ${row.label} | ${cell(a)} | ${cell(b)} | ${r === null ? "-" : `${r.toFixed(2)}x`} |`,
    );
  }
  return `${out.join("\n")}\n`;
}

/** Whether the two sides computed the same thing: the losses, and the first greedy ids. */
export interface Checks {
  eval_loss: Record<Side, number>;
  eval_loss_gap: number;
  loss_after_step: Record<Side, number>;
  loss_after_step_gap: number;
  /** How many leading greedy ids agree, out of `compared`. */
  same_leading_ids: number;
  /** maskwise's first `compared` greedy ids (the float32 decoding, before any step). */
  ids: number[];
  /** The sums of the greedy ids' log-probabilities (all new tokens), and their gap. */
  log_prob: Record<Side, number>;
  log_prob_gap: number;
  compared: number;
  ok: boolean;
}

/**
 * Float32 losses within 1e-4 (relative) of each other, the first `first` ids the same, and the
 * greedy log-probability sums within 1e-5 (relative): the values of the cached steps agree, not
 * only their argmax (random weights with a tied head tend to repeat one token).
 */
export function compareSides(m: WorkerResult, t: WorkerResult, first = 8): Checks {
  const gap = Math.abs(m.eval_loss - t.eval_loss);
  const gapAfter = Math.abs(m.loss_after_step - t.loss_after_step);
  const compared = Math.min(first, m.ids.length, t.ids.length);
  let same = 0;
  while (same < compared && m.ids[same] === t.ids[same]) same++;
  const tol = 1e-4 * Math.max(1, Math.abs(t.eval_loss));
  const lpGap = Math.abs(m.log_prob - t.log_prob);
  const sameIds = m.ids.length === t.ids.length && m.ids.every((id, i) => id === t.ids[i]);
  return {
    eval_loss: { maskwise: m.eval_loss, transformers: t.eval_loss },
    eval_loss_gap: gap,
    loss_after_step: { maskwise: m.loss_after_step, transformers: t.loss_after_step },
    loss_after_step_gap: gapAfter,
    same_leading_ids: same,
    compared,
    ids: m.ids.slice(0, compared),
    log_prob: { maskwise: m.log_prob, transformers: t.log_prob },
    log_prob_gap: lpGap,
    ok:
      gap <= tol &&
      gapAfter <= 10 * tol &&
      compared > 0 &&
      same === compared &&
      // The sums compare the same tokens only when every id agrees.
      (!sameIds || lpGap <= Math.max(1e-4, 1e-5 * Math.abs(t.log_prob))),
  };
}
