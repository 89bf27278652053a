// The config.json of Llama, Qwen2 and Mistral as transformers writes it, old and new: 5.x's
// rope_parameters and the legacy top-level rope_theta with rope_scaling; head_dim authoritative
// when present, derived when absent (and then not written); grouped kv heads; Llama 3's list of
// eos ids; Qwen2's per-layer sliding windows; unknown keys (dtype or torch_dtype, ...) kept and
// written back unchanged; wrong values refused naming the key.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { llamaConfig, llamaConfigJson } from "../../../src/models/families/llama/config.js";
import { resolveModelConfig } from "../../../src/models/registry.js";
import { HF_REF } from "../../helpers/hf-ref.js";

const caseConfig = (name: string) =>
  JSON.parse(readFileSync(join(HF_REF, name, "config.json"), "utf8")) as Record<string, unknown>;

test("the reference cases read as transformers reads them", () => {
  const llama = llamaConfig("llama", caseConfig("llama"), "llama");
  assert.equal(llama.num_key_value_heads, 2);
  assert.equal(llama.head_dim, 8);
  assert.deepEqual(llama.rope, { rope_type: "default", rope_theta: 100 });
  assert.equal(llama.layer_norm_eps, 1e-5);
  assert.equal(llama.tie_word_embeddings, false);
  assert.deepEqual(llama.sliding_windows, [null, null]);
  assert.deepEqual(llama.attention_biases, [false, false, false, false]);
  const tied = resolveModelConfig(caseConfig("llama_tied"), "llama_tied") as typeof llama;
  assert.equal(tied.num_key_value_heads, 1);
  assert.equal(tied.tie_word_embeddings, true);
  const qwen2 = resolveModelConfig(caseConfig("qwen2"), "qwen2") as typeof llama;
  assert.equal(qwen2.maskwise_arch, "qwen2");
  assert.deepEqual(qwen2.attention_biases, [true, true, true, false]);
  assert.deepEqual(qwen2.sliding_windows, [null, null]);
  // No head_dim in Qwen2's file: hidden_size / heads.
  assert.equal(qwen2.head_dim, 8);
  const mistral = resolveModelConfig(caseConfig("mistral"), "mistral") as typeof llama;
  assert.deepEqual(mistral.sliding_windows, [3, 3]);
  for (const name of ["llama", "llama_tied", "qwen2", "mistral"]) {
    const raw = caseConfig(name);
    const kind = raw.model_type as "llama" | "qwen2" | "mistral";
    assert.deepEqual(llamaConfigJson(kind, llamaConfig(kind, raw, name)), raw, name);
  }
});

test("legacy keys: top-level rope_theta, rope_scaling, torch_dtype; unknown keys kept", () => {
  const raw = {
    model_type: "llama",
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 1,
    num_attention_heads: 8,
    num_key_value_heads: 2,
    rope_theta: 500000.0,
    rope_scaling: {
      type: "llama3",
      factor: 8.0,
      low_freq_factor: 1.0,
      high_freq_factor: 4.0,
      original_max_position_embeddings: 8192,
    },
    eos_token_id: [128001, 128008, 128009],
    torch_dtype: "bfloat16",
    some_future_key: { nested: [1, 2] },
    vocab_size: 128256,
  };
  const c = llamaConfig("llama", raw, "legacy");
  assert.equal(c.rope.rope_type, "llama3");
  assert.equal(c.rope.rope_theta, 500000);
  assert.equal(c.rope.factor, 8);
  assert.equal(c.rope.original_max_position_embeddings, 8192);
  assert.equal(c.head_dim, 8, "derived: hidden_size / heads");
  assert.equal(c.eos_token_id, 128001, "the first of several eos ids");
  const back = llamaConfigJson("llama", c);
  assert.deepEqual(back, raw, "written back as read: no head_dim added, the eos list kept");
  // transformers 5's rope_parameters win over a stray legacy rope_theta.
  const v5 = llamaConfig(
    "llama",
    {
      ...raw,
      rope_scaling: undefined,
      rope_parameters: { rope_type: "linear", rope_theta: 1000.0, factor: 2.0 },
    },
    "v5",
  );
  assert.deepEqual(v5.rope, { rope_type: "linear", rope_theta: 1000, factor: 2 });
  // head_dim, when present, is authoritative even where it is not hidden_size / heads.
  assert.equal(llamaConfig("llama", { ...raw, head_dim: 16 }, "hd").head_dim, 16);
});

test("Qwen2's layer_types and use_sliding_window give the windowed layers", () => {
  const base = {
    model_type: "qwen2",
    hidden_size: 32,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    sliding_window: 5,
  };
  const typed = llamaConfig(
    "qwen2",
    { ...base, layer_types: ["full_attention", "sliding_attention", "sliding_attention"] },
    "q",
  );
  assert.deepEqual(typed.sliding_windows, [null, 5, 5]);
  const legacy = llamaConfig(
    "qwen2",
    { ...base, use_sliding_window: true, max_window_layers: 2 },
    "q",
  );
  assert.deepEqual(legacy.sliding_windows, [null, null, 5]);
  const off = llamaConfig("qwen2", base, "q");
  assert.deepEqual(off.sliding_windows, [null, null, null]);
});

test("wrong values are refused, naming the key", () => {
  const raw = caseConfig("llama");
  const bad = (over: Record<string, unknown>, key: RegExp) =>
    assert.throws(
      () => llamaConfig("llama", { ...raw, ...over }, "cfg.json"),
      (e: unknown) =>
        e instanceof Error && key.test(e.message + String((e as { where?: string }).where)),
    );
  bad({ num_key_value_heads: "2" }, /num_key_value_heads/);
  bad({ num_key_value_heads: 3 }, /num_key_value_heads/);
  bad({ rope_parameters: { rope_type: "yarn", rope_theta: 10000.0, factor: 4.0 } }, /rope_type/);
  bad({ rope_parameters: { rope_type: "linear", rope_theta: 10000.0 } }, /factor/);
  bad({ rope_parameters: { rope_type: "default", rope_theta: -1 } }, /rope_theta/);
  bad({ rope_parameters: "default" }, /rope_parameters/);
  bad({ head_dim: 7 }, /head_dim/);
  bad({ hidden_act: "tanh" }, /hidden_act/);
  bad({ eos_token_id: [] }, /eos_token_id/);
  assert.throws(
    () => llamaConfig("mistral", { ...caseConfig("mistral"), sliding_window: 0 }, "m"),
    /sliding_window/,
  );
});
