// PEFT's LoRA adapter on Llama (../shared/ref/hf/llama_lora: r 4, alpha 8 on q_proj and v_proj,
// v_proj's B [kv_heads * head_dim, r] under grouped-query attention): the base with the adapter
// gives PeftModel's logits and loss, merging gives merge_and_unload()'s logits and state-dict
// names, decoding on the KV cache with the adapter gives the merged model's greedy ids and step
// logits, and the adapter written back is PEFT's files byte for byte.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { greedy } from "../../../src/decode/greedy.js";
import { parseSafetensors } from "../../../src/io/safetensors.js";
import type { LlamaForCausalLM } from "../../../src/models/families/llama/model.js";
import { DecoderOnlyIncremental } from "../../../src/models/incremental.js";
import { attachAdapter, parseAdapterConfig } from "../../../src/models/peft.js";
import { fileState } from "../../../src/models/state.js";
import { loadAdapter, mergeAdapter, saveAdapter } from "../../../src/node/adapter.js";
import { loadModel } from "../../../src/node/model-dir.js";
import { noGrad } from "../../../src/tensor/index.js";
import { forEachBackend } from "../../helpers/backends.js";
import { assertForward, ids, readCase } from "../../helpers/hf-ref.js";
import { tempDir } from "../../helpers/tmp.js";

const c = readCase("llama_lora");
const ADAPTER = join(c.dir, "adapter");
type Nested = { shape: number[]; data: unknown };
const lora = c.expected.lora as {
  logits: Nested;
  loss_f64_recomputed: number;
  scaling: number;
  adapter_tensors: Record<string, { shape: number[] }>;
  merged: { logits: Nested; loss_f64_recomputed: number; merged_state_dict_keys: string[] };
};
// transformers shifts the labels inside the model; maskwise's are aligned with the positions
// that predict them.
const batch = () => ({
  input_ids: ids(c.batch.input_ids),
  attention_mask: ids(c.batch.attention_mask),
  labels: ids((c.batch.labels as number[][]).map((row) => [...row.slice(1), -100])),
});
const adapted = () => {
  const model = loadModel(c.dir, "decoder-only") as LlamaForCausalLM;
  const config = loadAdapter(model, ADAPTER);
  return { model, config };
};

forEachBackend("HF llama_lora", (backend) => {
  test("base plus adapter gives PeftModel's logits and loss", () => {
    const { model, config } = adapted();
    assert.equal(config.spec.alpha / config.spec.r, lora.scaling);
    const worst = assertForward(c, model, batch(), {
      logits: lora.logits,
      loss: lora.loss_f64_recomputed,
    });
    console.log(`# llama_lora [${backend.name}] worst logits difference ${worst.toExponential(2)}`);
  });

  test("merged, it gives merge_and_unload()'s logits, loss and state-dict names", () => {
    const { model } = adapted();
    assert.equal(mergeAdapter(model).length, 4);
    assertForward(c, model, batch(), {
      logits: lora.merged.logits,
      loss: lora.merged.loss_f64_recomputed,
    });
    assert.deepEqual(
      fileState(model)
        .map(([n]) => n)
        .sort(),
      [...lora.merged.merged_state_dict_keys].sort(),
    );
  });

  test("decoding on the KV cache applies the adapter as the merged weights do", () => {
    const g = c.expected.generate as {
      prompt_input_ids: number[][];
      prompt_attention_mask: number[][];
    };
    const run = (model: LlamaForCausalLM) => {
      const steps: Float32Array[] = [];
      const inner = new DecoderOnlyIncremental(
        model,
        ids(g.prompt_input_ids),
        ids(g.prompt_attention_mask),
      );
      const recording = {
        get rows() {
          return inner.rows;
        },
        get vocabSize() {
          return inner.vocabSize;
        },
        next(tokens: Int32Array) {
          const out = inner.next(tokens);
          steps.push(out.slice());
          return out;
        },
        reorder(keep: readonly number[]) {
          inner.reorder(keep);
        },
      };
      const eos = model.config.eos_token_id;
      const hyps = noGrad(() =>
        greedy(recording, { startToken: eos, eosToken: eos, maxLength: 6 }),
      );
      return { tokens: hyps.map((h) => h.tokens), steps };
    };
    const withAdapter = run(adapted().model);
    const { model: merged } = adapted();
    mergeAdapter(merged);
    const plain = run(merged);
    assert.deepEqual(withAdapter.tokens, plain.tokens);
    assert.equal(withAdapter.steps.length, plain.steps.length);
    withAdapter.steps.forEach((s, i) => {
      const d = s.reduce((m, x, j) => Math.max(m, Math.abs(x - plain.steps[i][j])), 0);
      assert.ok(d < 1e-4, `step ${i}: ${d}`);
    });
    const base = run(loadModel(c.dir, "decoder-only") as LlamaForCausalLM);
    assert.notDeepEqual(base.steps[0], withAdapter.steps[0], "the adapter changes the steps");
  });
});

test("the adapter written back is PEFT's files byte for byte", () => {
  const { model } = adapted();
  const out = tempDir("llama-lora-adapter");
  saveAdapter(out, model);
  for (const f of ["adapter_config.json", "adapter_model.safetensors"])
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(ADAPTER, f))), `${f} differs`);
  const saved = parseSafetensors(readFileSync(join(out, "adapter_model.safetensors")), "saved");
  assert.deepEqual([...saved.tensors.keys()], Object.keys(lora.adapter_tensors));
  for (const [n, t] of saved.tensors) assert.deepEqual(t.shape, lora.adapter_tensors[n].shape, n);
  // And read again, the same tensors.
  const again = loadModel(c.dir, "decoder-only") as LlamaForCausalLM;
  loadAdapter(again, out);
  const a = model.namedParameters().filter(([n]) => n.includes("lora_"));
  const b = again.namedParameters().filter(([n]) => n.includes("lora_"));
  assert.deepEqual(
    a.map(([n, p]) => [n, Array.from(p.f32)]),
    b.map(([n, p]) => [n, Array.from(p.f32)]),
  );
});

test("PEFT's all-linear adapts every projection of the layers, not the head", () => {
  const model = loadModel(c.dir, "decoder-only") as LlamaForCausalLM;
  const config = parseAdapterConfig(
    readFileSync(join(ADAPTER, "adapter_config.json"), "utf8").replace(
      /"target_modules": \[[^\]]*\]/,
      '"target_modules": "all-linear"',
    ),
    "all-linear",
  );
  const layers = attachAdapter(model, config).map(([n]) => n);
  assert.equal(layers.length, 2 * 7);
  assert.ok(layers.every((n) => /^model\.layers\.\d\.(self_attn|mlp)\.[a-z]+_proj$/.test(n)));
});
