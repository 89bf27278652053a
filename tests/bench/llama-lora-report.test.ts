// bench/llama-lora.ts measures the model and adapter the issue names (a Llama config of about
// 100M parameters, LoRA r 8 on q_proj and v_proj), both sides read the same inputs, and its lines
// and table follow from the timings it was given (nothing here times anything).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  compareSides,
  LLAMA_100M,
  LLAMA_QUICK,
  LORA,
  llamaParameters,
  loraParameters,
  makeInputs,
  markdownTable,
  measureLines,
  ROWS,
  type RowSpec,
  type RunInfo,
  ratio,
  rowName,
  shiftedLabels,
  type WorkerResult,
} from "../../bench/llama-lora-report.js";
import { attachAdapter, newAdapterConfig } from "../../src/models/peft.js";
import { buildModel, familyOf, resolveModelConfig } from "../../src/models/registry.js";

test("the benchmark's model is a llama config of about 100M parameters with grouped heads", () => {
  const c = resolveModelConfig(structuredClone(LLAMA_100M), "llama-lora");
  assert.equal(familyOf(c).name, "llama");
  assert.equal(c.d_model, 768);
  assert.equal(c.decoder_layers, 12);
  assert.equal(c.decoder_attention_heads, 12);
  assert.equal((c as unknown as { num_key_value_heads: number }).num_key_value_heads, 4);
  assert.equal(c.vocab_size, 32000);
  assert.equal(c.tie_word_embeddings, true);
  const n = llamaParameters(LLAMA_100M);
  assert.ok(n > 95e6 && n < 105e6, `${n} parameters`);
});

test("the parameter counts are those of the built model and its adapter", () => {
  // The quick config has the same shape of config; building the 100M one would take seconds.
  const c = resolveModelConfig(structuredClone(LLAMA_QUICK), "llama-lora --quick");
  const model = buildModel(c, 1);
  const base = model.parameters().reduce((s, p) => s + p.size, 0);
  assert.equal(llamaParameters(LLAMA_QUICK), base);
  attachAdapter(model, newAdapterConfig(model, { ...LORA, base: null }), 2);
  const trained = model
    .parameters()
    .filter((p) => p.requiresGrad)
    .reduce((s, p) => s + p.size, 0);
  assert.equal(loraParameters(LLAMA_QUICK), trained);
  // Untied, the head counts once more.
  const untied = { ...LLAMA_QUICK, tie_word_embeddings: false };
  assert.equal(
    llamaParameters(untied) - llamaParameters(LLAMA_QUICK),
    LLAMA_QUICK.vocab_size * LLAMA_QUICK.hidden_size,
  );
});

test("the inputs: fixed ids clear of bos, eos and pad, a prompt after bos, labels shifted", () => {
  const x = makeInputs(LLAMA_QUICK, { batch: 3, seq: 10, prompt: 5, newTokens: 7 });
  assert.equal(x.input_ids.length, 3);
  for (const row of x.input_ids) {
    assert.equal(row.length, 10);
    assert.ok(row.every((id) => Number.isInteger(id) && id >= 3 && id < LLAMA_QUICK.vocab_size));
  }
  assert.equal(x.prompt.length, 5);
  assert.equal(x.prompt[0], LLAMA_QUICK.bos_token_id);
  assert.ok(x.prompt.slice(1).every((id) => id >= 3 && id < LLAMA_QUICK.vocab_size));
  assert.equal(x.new_tokens, 7);
  assert.deepEqual(makeInputs(LLAMA_QUICK, { batch: 3, seq: 10, prompt: 5, newTokens: 7 }), x);
  assert.deepEqual(shiftedLabels([[5, 6, 7]]), [[6, 7, -100]]);
});

const info: RunInfo = {
  model: "Llama config",
  parameters: 100_092_672,
  lora_parameters: 1_179_648,
  batch: [4, 256],
  prompt: 32,
  new_tokens: 64,
  rounds: 3,
  reps: 3,
  threads: 2,
  quick: false,
  cpu_model: "Some CPU",
  versions: { torch: "2.13.0+cpu", transformers: "5.18.0", peft: "0.21.0" },
};

test("lines take the median over rounds; tokens/s and ratios follow from it", () => {
  const lines = measureLines(info, {
    maskwise: { "train-step float32": [2, 1, 3], "decode float32": [0.5, 0.25, 1] },
    transformers: { "train-step float32": [4, 5, 3], "decode float32": [2, 2, 2] },
  });
  assert.equal(lines.length, 4);
  const step = lines.find((l) => l.side === "maskwise" && l.measure === "train-step");
  assert.equal(step?.median_s, 2);
  assert.equal(step?.tok_s, 512); // 4 x 256 tokens in 2 s
  const dec = lines.find((l) => l.side === "transformers" && l.measure === "decode");
  assert.equal(dec?.tok_s, 32); // 64 new tokens in 2 s
  const row = (m: string, p: string, peer = p) =>
    ROWS.find((r) => r.measure === m && r.maskwise === p && r.peer === peer) as RowSpec;
  assert.equal(ratio(lines, row("train-step", "float32")), 2);
  assert.equal(ratio(lines, row("decode", "float32")), 4);
  assert.equal(ratio(lines, row("decode", "bfloat16")), null);

  const table = markdownTable(info, lines).split("\n");
  const rows = table.filter((l) => l.startsWith("| ") && !l.startsWith("| measure"));
  // Only the measures given: float32 step and decode.
  assert.equal(rows.length, 2);
  assert.match(
    rows[0],
    /LoRA training step, 4 x 256 tokens.*\| 512 tok\/s.*\| 256 tok\/s.*\| 2\.00x \|$/,
  );
  assert.match(rows[1], /64 new tokens.*\| 4\.00x \|$/);
  assert.match(table[0], /100\.1M parameters.*Some CPU, 2 threads.*3 interleaved rounds/);
  assert.doesNotMatch(table[0], /quick/);
  assert.match(markdownTable({ ...info, quick: true }, lines), /--quick: a smoke test/);
});

test("maskwise's bfloat16 decoding meets both of the peer's: autocast and a bfloat16 model", () => {
  const lines = measureLines(info, {
    maskwise: { "decode bfloat16": [1] },
    transformers: { "decode bfloat16": [8], "decode bfloat16-weights": [2] },
  });
  // A peer-only precision gives a line for the peer alone.
  assert.deepEqual(
    lines.map((l) => `${l.side} ${l.precision}`),
    ["maskwise bfloat16", "transformers bfloat16", "transformers bfloat16-weights"],
  );
  const rows = markdownTable(info, lines)
    .split("\n")
    .filter((l) => l.startsWith("| greedy"));
  assert.equal(rows.length, 2);
  assert.match(rows[0], /autocast.*\| 8\.00x \|$/);
  assert.match(rows[1], /model\.to\(torch\.bfloat16\).*\| 2\.00x \|$/);
  assert.deepEqual(ROWS.filter((r) => r.measure === "decode").map(rowName), [
    "decode float32",
    "decode bfloat16",
    "decode bfloat16 / bfloat16-weights",
  ]);
});

const worker = (over: Partial<WorkerResult>): WorkerResult => ({
  side: "maskwise",
  threads: 2,
  eval_loss: 10.4,
  loss_after_step: 10.39,
  ids: [5, 9, 9, 17, 3, 3, 3, 8, 1],
  log_prob: -92.5,
  seconds: {},
  ...over,
});

test("the two sides agree on losses and leading greedy ids, or the check fails", () => {
  const m = worker({});
  assert.equal(compareSides(m, worker({ side: "transformers", eval_loss: 10.4002 })).ok, true);
  const apart = compareSides(m, worker({ side: "transformers", eval_loss: 10.41 }));
  assert.equal(apart.ok, false);
  const stepApart = compareSides(m, worker({ side: "transformers", loss_after_step: 10.3 }));
  assert.equal(stepApart.ok, false);
  const ids = compareSides(m, worker({ side: "transformers", ids: [5, 9, 9, 4, 3, 3, 3, 8] }));
  assert.equal(ids.same_leading_ids, 3);
  assert.equal(ids.compared, 8);
  assert.equal(ids.ok, false);
  // A difference after the first eight ids is not compared (greedy near-ties may part there).
  const late = compareSides(m, worker({ side: "transformers", ids: [5, 9, 9, 17, 3, 3, 3, 8, 2] }));
  assert.equal(late.ok, true);
  assert.equal(compareSides(m, worker({ side: "transformers", ids: [] })).ok, false);
  // The same ids, but the steps' values apart: not the same computation.
  const values = compareSides(m, worker({ side: "transformers", log_prob: -92.6 }));
  assert.equal(values.ok, false);
  assert.ok(Math.abs(values.log_prob_gap - 0.1) < 1e-9);
  assert.equal(compareSides(m, worker({ side: "transformers", log_prob: -92.5005 })).ok, true);
});
