// A frozen base's token embedding held in bfloat16 (`--base-precision bfloat16`; Embedding.
// holdWeightBf16 through holdFrozenWeightsBf16), with the head tied to it multiplying by the same
// bits: the lookup against the float32 lookup of the widened table, the logits of Llama (tied
// and untied) and GPT-2 (learned positions, tied head) against a float32 twin with the same
// rounded weights and against the float32 base within bfloat16's tolerance, decoding steps
// against the full pass, and the bytes the model holds: its frozen weights' halve.
import assert from "node:assert/strict";
import { test } from "node:test";
import { llamaConfig } from "../../src/models/families/llama/config.js";
import { LlamaForCausalLM } from "../../src/models/families/llama/model.js";
import type { FamilyModel } from "../../src/models/family.js";
import { type DecoderOnlyDecodable, DecoderOnlyIncremental } from "../../src/models/incremental.js";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { heldWeightBytes, holdFrozenWeightsBf16 } from "../../src/nn/frozen-bf16.js";
import { Embedding, Linear } from "../../src/nn/layers.js";
import type { Module } from "../../src/nn/module.js";
import { fromBf16, toBf16 } from "../../src/tensor/bf16.js";
import { embeddingBf16 } from "../../src/tensor/ops/embedding-bf16.js";
import { embedding } from "../../src/tensor/ops/select.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { causalLogits } from "../helpers/causal-logits.js";

const V = 40;
const IDS = [5, 9, 3, 17, 22, 8, 30, 4];

function llama(tied: boolean): LlamaForCausalLM {
  const cfg = llamaConfig(
    "qwen2",
    {
      model_type: "qwen2",
      vocab_size: V,
      hidden_size: 16,
      intermediate_size: 24,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      tie_word_embeddings: tied,
      bos_token_id: 0,
      eos_token_id: 2,
      pad_token_id: 1,
    },
    "test config",
  );
  return new LlamaForCausalLM(cfg, 6);
}

function gpt2(): FamilyModel {
  const raw = {
    model_type: "gpt2",
    vocab_size: V,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
    n_inner: 32,
    n_positions: 64,
    bos_token_id: 0,
    eos_token_id: 2,
    activation_function: "gelu_new",
    layer_norm_epsilon: 1e-5,
    tie_word_embeddings: true,
  };
  return buildModel(resolveModelConfig(raw, "config.json"), 6);
}

/** Wide random weights (logits of order 1, so bfloat16's rounding shows), then all frozen. */
function widenAndFreeze(m: Module): void {
  for (const [, p] of m.namedParameters()) {
    const r = new Rng(11 + p.size);
    for (let i = 0; i < p.size; i++) p.f32[i] = 0.3 * r.normal();
    p.requiresGrad = false;
  }
}

/** Rounds to bfloat16 values, in float32, what holdFrozenWeightsBf16 holds. */
function roundHeld(m: Module): void {
  for (const [, l] of m.namedModules())
    if (l instanceof Embedding || (l instanceof Linear && !l.tied))
      l.weight.f32.set(fromBf16(toBf16(l.weight.f32)));
}

type CausalLM = FamilyModel & DecoderOnlyDecodable;

function logits(m: CausalLM, ids = IDS): Float32Array {
  return causalLogits(m, ids);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

forEachBackend("bfloat16 embedding", () => {
  test("a lookup in a held table is the float32 lookup of the widened table", () => {
    const rng = new Rng(3);
    const table = new Float32Array(7 * 5).map(() => rng.normal());
    const bits = toBf16(table);
    const ids = new Tensor(Int32Array.from([6, 0, 3, 3, 1, 5]), [2, 3]);
    const got = embeddingBf16(bits, 7, 5, ids);
    const want = embedding(new Tensor(fromBf16(bits), [7, 5]), ids);
    assert.deepEqual(got.shape, [2, 3, 5]);
    assert.deepEqual(Array.from(got.f32), Array.from(want.f32));
    assert.throws(() => embeddingBf16(bits, 7, 5, new Tensor(Int32Array.of(7), [1])), /outside/);
  });

  for (const tied of [true, false]) {
    test(`Llama (${tied ? "tied" : "untied"} head): the held base's logits, steps and bytes`, () => {
      const f32 = llama(tied);
      const held = llama(tied);
      const twin = llama(tied);
      for (const m of [f32, held, twin]) widenAndFreeze(m);
      roundHeld(twin);
      const before = heldWeightBytes(held);
      // The frozen base weights: every Linear's own weight and the table, float32.
      let base = held.model.embed_tokens.weight.f32.byteLength;
      for (const [, l] of held.namedModules())
        if (l instanceof Linear && !l.tied) base += l.weight.f32.byteLength;
      const res = holdFrozenWeightsBf16(held);
      assert.deepEqual(res.tables, ["model.embed_tokens"]);
      assert.equal(res.layers.length, 15);
      assert.equal(held.lm_head.weightBf16 === held.model.embed_tokens.weightBf16, tied);
      assert.ok(held.lm_head.weightBf16 && held.model.embed_tokens.weightBf16);
      // Half the bytes of every held weight; the norms stay as they were.
      assert.equal(res.freed, base / 2);
      assert.equal(heldWeightBytes(held), before - base / 2);
      assert.ok(!held.namedParameters().some(([n]) => n.startsWith("model.embed_tokens")));

      const got = logits(held);
      const exact = logits(twin);
      const full = logits(f32);
      const scale = maxAbs(full);
      assert.ok(scale > 1, `logits of order 1 (${scale})`);
      // The float32 model of the rounded weights, up to float32 sums.
      assert.ok(maxDiff(got, exact) < 1e-5 * scale, `vs rounded twin: ${maxDiff(got, exact)}`);
      // bfloat16's rounding: near the float32 base, and visibly not it.
      const d = maxDiff(got, full);
      assert.ok(d < 0.05 * scale && d > 1e-6, `vs float32 base: ${d} (scale ${scale})`);

      // Cached steps read the rows and the head from the bits; they agree with the full pass.
      const dec = new DecoderOnlyIncremental(
        held,
        new Tensor(Int32Array.from(IDS.slice(0, 5)), [1, 5]),
        new Tensor(new Int32Array(5).fill(1), [1, 5]),
      );
      dec.next(Int32Array.of(0));
      for (let t = 5; t < IDS.length; t++) {
        const step = dec.next(Int32Array.of(IDS[t]));
        const row = got.subarray(t * V, (t + 1) * V);
        // A step rounds its inputs to bfloat16 for the bits (Backend.gemmBf16).
        assert.ok(maxDiff(step, row) < 0.05 * scale, `step ${t}: ${maxDiff(step, row)}`);
      }
    });
  }

  test("GPT-2: token and position tables held, the tied head on the table's bits", () => {
    const f32 = gpt2() as CausalLM;
    const held = gpt2() as CausalLM;
    const twin = gpt2() as CausalLM;
    for (const m of [f32, held, twin]) widenAndFreeze(m);
    roundHeld(twin);
    const res = holdFrozenWeightsBf16(held);
    assert.deepEqual(res.tables.sort(), [
      "model.decoder.embed_positions",
      "model.decoder.embed_tokens",
    ]);
    assert.ok(res.layers.includes("lm_head"));
    const got = logits(held);
    const scale = maxAbs(logits(f32));
    assert.ok(maxDiff(got, logits(twin)) < 1e-5 * scale);
    assert.ok(maxDiff(got, logits(f32)) < 0.05 * scale);
    const dec = new DecoderOnlyIncremental(
      held,
      new Tensor(Int32Array.from(IDS.slice(0, 6)), [1, 6]),
      new Tensor(new Int32Array(6).fill(1), [1, 6]),
    );
    dec.next(Int32Array.of(0));
    const step = dec.next(Int32Array.of(IDS[6]));
    assert.ok(maxDiff(step, got.subarray(6 * V, 7 * V)) < 0.05 * scale);
  });
});
