// Greedy continuation of a prefix LM on the KV cache equals decoding without a cache, where every
// step reruns the whole sequence under causal | prefix(prompt length).
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { continuePrompts } from "../../src/train/generate.js";

const cfg = resolveConfig({
  maskwise_arch: "decoder-only",
  vocab_size: 20,
  d_model: 16,
  decoder_layers: 2,
  decoder_attention_heads: 2,
  decoder_ffn_dim: 32,
  dropout: 0,
  // Large weights, so attention (not the token's own embedding) decides the next token.
  init_std: 0.5,
});
const ids = (tokens: readonly number[]) => tokens.join(" ");
const prompts = [
  [1, 5, 9, 12, 2],
  [1, 7, 2],
  [1, 13, 8, 6, 11, 4, 2],
];
const codec = { decode: ids };

function uncached(model: DecoderOnlyModel, prompt: number[], prefix: boolean, steps: number) {
  const seq = [...prompt];
  const out: number[] = [];
  for (let s = 0; s < steps; s++) {
    const { logits } = model.forward({
      input_ids: new Tensor(Int32Array.from(seq), [1, seq.length]),
      ...(prefix ? { prefix_lengths: [prompt.length] } : {}),
    });
    const V = cfg.vocab_size;
    const row = logits.f32.subarray((seq.length - 1) * V, seq.length * V);
    let best = 0;
    for (let j = 1; j < V; j++) if (row[j] > row[best]) best = j;
    if (best === cfg.eos_token_id) break;
    out.push(best);
    seq.push(best);
  }
  return out;
}

test("prefix and causal continuations match uncached decoding, and differ", () => {
  const model = new DecoderOnlyModel(cfg, 4).eval();
  for (const mask of ["prefix", "causal"] as const) {
    const got = continuePrompts(model, codec, prompts, { mask, maxNewTokens: 6 });
    const want = prompts.map((p) => ids(uncached(model, p, mask === "prefix", 6)));
    assert.deepEqual(got, want, mask);
  }
  const p = continuePrompts(model, codec, prompts, { mask: "prefix", maxNewTokens: 6 });
  const c = continuePrompts(model, codec, prompts, { mask: "causal", maxNewTokens: 6 });
  assert.notDeepEqual(p, c);
});

test("noRepeatNgramSize reaches the continuation: no generated bigram twice", () => {
  const model = new DecoderOnlyModel(cfg, 4).eval();
  const bigrams = (line: string) => {
    const t = line.split(" ");
    return t.slice(1).map((x, i) => `${t[i]} ${x}`);
  };
  const repeats = (line: string) => bigrams(line).length - new Set(bigrams(line)).size;
  const free = continuePrompts(model, codec, prompts, { maxNewTokens: 16 });
  // Sixteen greedy tokens from a 20-token vocabulary loop: the check below can fail.
  assert.ok(
    free.some((l) => repeats(l) > 0),
    `no loop to block: ${free.join(" | ")}`,
  );
  const blocked = continuePrompts(model, codec, prompts, {
    maxNewTokens: 16,
    noRepeatNgramSize: 2,
  });
  for (const line of blocked) assert.equal(repeats(line), 0, line);
});
