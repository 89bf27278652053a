// A Llama model whose frozen base is held in bfloat16 under a LoRA adapter (its Linear layers,
// its token embedding and the head tied to it): a training step gives the loss of the float32
// model with the rounded weights and trains only the adapter,
// incremental decoding agrees with the full pass, and once the step, the optimizer and the decoding copies have
// run, no float32 array of a held weight is left alive (checked with the garbage collector).
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { llamaConfig } from "../../src/models/families/llama/config.js";
import { LlamaForCausalLM } from "../../src/models/families/llama/model.js";
import { DecoderOnlyIncremental, decodingBf16Weights } from "../../src/models/incremental.js";
import { attachAdapter, newAdapterConfig } from "../../src/models/peft.js";
import { holdFrozenWeightsBf16 } from "../../src/nn/frozen-bf16.js";
import { Embedding, Linear } from "../../src/nn/layers.js";
import { AdamW } from "../../src/optim/adamw.js";
import { fromBf16, toBf16 } from "../../src/tensor/bf16.js";
import { backward, noGrad } from "../../src/tensor/index.js";
import { Tensor } from "../../src/tensor/tensor.js";

function model(): LlamaForCausalLM {
  const cfg = llamaConfig(
    "qwen2",
    {
      model_type: "qwen2",
      vocab_size: 40,
      hidden_size: 16,
      intermediate_size: 24,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      tie_word_embeddings: true,
      bos_token_id: 0,
      eos_token_id: 2,
      pad_token_id: 1,
    },
    "test config",
  );
  const m = new LlamaForCausalLM(cfg, 6);
  attachAdapter(
    m,
    newAdapterConfig(m, { r: 2, alpha: 4, dropout: 0, targets: ["q_proj", "v_proj"], base: null }),
    3,
  );
  return m;
}

function batch() {
  const ids = new Int32Array([5, 9, 3, 17, 22, 8, 30, 4]);
  const labels = Int32Array.from(ids, (_, i) => (i + 1 < ids.length ? ids[i + 1] : -100));
  return {
    input_ids: new Tensor(ids, [1, 8]),
    attention_mask: new Tensor(new Int32Array(8).fill(1), [1, 8]),
    labels: new Tensor(labels, [1, 8]),
  };
}

test("a LoRA step on a base held in bfloat16: the rounded model's loss, only the adapter moves", () => {
  const held = model();
  const twin = model();
  // The twin keeps float32 weights, rounded to bfloat16 values (the tied head with its table).
  for (const [, m] of twin.namedModules())
    if ((m instanceof Embedding || (m instanceof Linear && !m.tied)) && !m.weight.requiresGrad)
      m.weight.f32.set(fromBf16(toBf16(m.weight.f32)));
  const res = holdFrozenWeightsBf16(held);
  // 2 layers x 7 projections and the head tied to the token embedding, which is held too.
  assert.equal(res.layers.length, 15);
  assert.ok(res.layers.includes("lm_head"));
  assert.deepEqual(res.tables, ["model.embed_tokens"]);
  assert.equal(held.lm_head.weightBf16, held.model.embed_tokens.weightBf16);
  held.train();
  twin.train();
  const a = held.forward(batch()).loss as Tensor;
  const b = twin.forward(batch()).loss as Tensor;
  assert.ok(Math.abs(a.item() - b.item()) < 1e-5, `${a.item()} vs ${b.item()}`);
  const params = held.parameters().filter((p) => p.requiresGrad);
  assert.equal(params.length, 2 * 2 * 2, "A and B of q_proj and v_proj in 2 layers");
  const opt = new AdamW(params, { lr: 1e-2 });
  backward(a);
  opt.update();
  const after = noGrad(() => held.forward(batch()).loss as Tensor).item();
  assert.ok(after < a.item(), `${a.item()} -> ${after}`);
});

test("nothing keeps the float32 weights alive: step, optimizer, decoding on bfloat16 copies", async () => {
  const m = model();
  const refs: WeakRef<Float32Array>[] = [];
  for (const [, l] of m.namedModules())
    if ((l instanceof Embedding || (l instanceof Linear && !l.tied)) && !l.weight.requiresGrad)
      refs.push(new WeakRef(l.weight.f32));
  holdFrozenWeightsBf16(m);
  m.train();
  const opt = new AdamW(
    m.parameters().filter((p) => p.requiresGrad),
    { lr: 1e-3 },
  );
  backward(m.forward(batch()).loss as Tensor, undefined, { freeIntermediates: true });
  opt.update();
  m.eval();
  // Cached decoding steps read the held weights; they agree with recomputing the whole prefix.
  const ids = new Tensor(new Int32Array([5, 9, 3]), [1, 3]);
  const dec = new DecoderOnlyIncremental(m, ids, new Tensor(new Int32Array(3).fill(1), [1, 3]), {
    weights: decodingBf16Weights(m),
  });
  dec.next(Int32Array.of(0));
  const step = dec.next(Int32Array.of(7)).slice();
  const full = noGrad(
    () =>
      m.forward({
        input_ids: new Tensor(new Int32Array([5, 9, 3, 7]), [1, 4]),
        attention_mask: new Tensor(new Int32Array(4).fill(1), [1, 4]),
      }).logits,
  ).f32.subarray(3 * 40, 4 * 40);
  let d = 0;
  for (let i = 0; i < 40; i++) d = Math.max(d, Math.abs(step[i] - full[i]));
  assert.ok(d < 0.05, `decoding step differs by ${d}`);
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  // WeakRefs read in this job stay alive to its end: collect on a later turn.
  await new Promise((r) => setImmediate(r));
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  assert.equal(refs.length, 15);
  assert.equal(refs.filter((r) => r.deref() !== undefined).length, 0);
});
