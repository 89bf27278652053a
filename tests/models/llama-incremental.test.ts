// Incremental decoding of the Llama family on KV caches that hold the grouped key/value heads:
// every step's logits equal those of full recomputation of the left-padded batch, with rows
// reordered as beam search does, past the first growth of the cache and of the keep mask, for
// grouped-query attention (4 query heads on 2 kv heads), multi-query attention with a sliding
// window (Mistral), Qwen2's biases and a head width that is not d_model / H. The caches hold
// H_kv heads, not H. Also: training on kept rows equals the padded pass; a prefix LM's prompt
// read bidirectionally; steps on bfloat16 weight copies.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AttentionCache } from "../../src/attention/cache.js";
import { type LlamaKind, llamaConfig } from "../../src/models/families/llama/config.js";
import { LlamaForCausalLM } from "../../src/models/families/llama/model.js";
import { DecoderOnlyIncremental, decodingBf16Weights } from "../../src/models/incremental.js";
import * as T from "../../src/tensor/index.js";
import { promptDecoder } from "../../src/train/generate.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { countAndGrids } from "../helpers/mask-grids.js";

function model(kind: LlamaKind, extra: Record<string, unknown>): LlamaForCausalLM {
  const cfg = llamaConfig(
    kind,
    {
      model_type: kind,
      vocab_size: 40,
      hidden_size: 16,
      intermediate_size: 24,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      rms_norm_eps: 1e-6,
      bos_token_id: 0,
      eos_token_id: 2,
      pad_token_id: 1,
      rope_parameters: { rope_type: "default", rope_theta: 100 },
      ...extra,
    },
    "test config",
  );
  const m = new LlamaForCausalLM(cfg, 6).eval();
  // Norm weights and biases away from 1 and 0, so that every parameter matters.
  const rng = new Rng(10);
  for (const p of m.parameters()) for (let i = 0; i < p.size; i++) p.f32[i] += rng.normal() * 0.1;
  return m;
}

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

const VARIANTS: [string, LlamaKind, Record<string, unknown>, number][] = [
  ["grouped-query attention 4:2", "llama", { num_key_value_heads: 2 }, 2],
  [
    "multi-query attention with a sliding window of 3",
    "mistral",
    { num_key_value_heads: 1, head_dim: 6, sliding_window: 3 },
    1,
  ],
  ["Qwen2's q/k/v biases, 4:2", "qwen2", { num_key_value_heads: 2 }, 2],
];

forEachBackend("Llama incremental decoding", () => {
  for (const [name, kind, extra, Hkv] of VARIANTS) {
    test(`cached steps equal full recomputation: ${name}`, () => {
      const m = model(kind, extra);
      const prompts = [
        [0, 5, 6, 7],
        [0, 9],
        [0, 10, 11],
      ];
      const P = 4;
      const ids = new Int32Array(3 * P).fill(1);
      const mask = new Int32Array(3 * P);
      prompts.forEach((p, r) => {
        ids.set(p, r * P + P - p.length);
        mask.fill(1, r * P + P - p.length, (r + 1) * P);
      });
      const dec = new DecoderOnlyIncremental(
        m,
        T.intTensor(ids, [3, P]),
        T.intTensor(mask, [3, P]),
      );
      // The caches hold the kv heads only.
      const caches = (dec as unknown as { caches: { self: AttentionCache }[] }).caches;
      assert.equal(caches[0].self.view().H, Hkv);
      let rows = prompts.map((_, r) => ({
        ids: Array.from(ids.subarray(r * P, (r + 1) * P)),
        mask: Array.from(mask.subarray(r * P, (r + 1) * P)),
      }));
      const plan: (number[] | null)[] = [null, null, [2, 0, 0], null, [1, 2]];
      for (let step = 0; step < 20; step++) {
        const keep = plan[step];
        if (keep) {
          dec.reorder(keep);
          rows = keep.map((r) => ({ ids: [...rows[r].ids], mask: [...rows[r].mask] }));
        }
        const tokens = rows.map((_, i) => 3 + ((5 * i + step) % 30));
        if (step > 0)
          rows.forEach((row, i) => {
            row.ids.push(tokens[i]);
            row.mask.push(1);
          });
        const got = dec.next(Int32Array.from(tokens));
        const len = rows[0].ids.length;
        const full = T.noGrad(
          () =>
            m.forward({
              input_ids: T.intTensor(
                rows.flatMap((r) => r.ids),
                [rows.length, len],
              ),
              attention_mask: T.intTensor(
                rows.flatMap((r) => r.mask),
                [rows.length, len],
              ),
            }).logits,
        );
        const V = full.shape[2];
        const expected = new Float32Array(rows.length * V);
        rows.forEach((_, r) => {
          expected.set(full.f32.subarray((r * len + len - 1) * V, (r * len + len) * V), r * V);
        });
        assert.ok(maxDiff(got, expected) < 1e-5, `step ${step}: ${maxDiff(got, expected)}`);
      }
    });
  }

  test("the sliding window changes the logits (the test above would see a missing window)", () => {
    const windowed = model("mistral", { num_key_value_heads: 1, sliding_window: 2 });
    const full = model("mistral", { num_key_value_heads: 1, sliding_window: null });
    const batch = {
      input_ids: T.intTensor([0, 5, 6, 7, 8, 9], [1, 6]),
      attention_mask: T.intTensor([1, 1, 1, 1, 1, 1], [1, 6]),
    };
    const a = T.noGrad(() => windowed.forward(batch).logits.f32);
    const b = T.noGrad(() => full.forward(batch).logits.f32);
    const V = 40;
    // Positions 0 and 1 see at most 2 keys either way; position 5 sees 2 of 6.
    assert.ok(maxDiff(a.subarray(0, 2 * V), b.subarray(0, 2 * V)) < 1e-6);
    assert.ok(maxDiff(a.subarray(5 * V), b.subarray(5 * V)) > 1e-3);
  });
});

forEachBackend("Llama training on kept rows", () => {
  test("the loss and gradients of the unpadded training pass equal the padded pass's", () => {
    const run = (train: boolean) => {
      const m = model("mistral", { num_key_value_heads: 2, sliding_window: 3 });
      if (train) m.train();
      // Row 0 left padded, row 1 right padded; labels aligned with positions.
      const batch = {
        input_ids: T.intTensor([1, 1, 0, 5, 6, 7, 0, 8, 9, 10, 1, 1], [2, 6]),
        attention_mask: T.intTensor([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [2, 6]),
        labels: T.intTensor([-100, -100, 5, 6, 7, -100, 8, 9, 10, -100, -100, -100], [2, 6]),
      };
      const { loss } = m.forward(batch, { unpad: train });
      assert.ok(loss);
      T.backward(loss);
      const grads = [...m.namedParameters()].map(([n, p]) => [n, p.grad?.f32.slice()] as const);
      return { loss: loss.item(), grads };
    };
    const padded = run(false);
    const kept = run(true);
    assert.ok(Math.abs(padded.loss - kept.loss) < 1e-5, `${padded.loss} vs ${kept.loss}`);
    padded.grads.forEach(([name, g], i) => {
      const h = kept.grads[i][1];
      assert.ok(g && h, `${name} has a gradient`);
      assert.ok(maxDiff(g, h) < 1e-5, `${name}: ${maxDiff(g, h)}`);
    });
  });
});

test("the layers share one mask object: its grid is built once per forward, however many layers", () => {
  const count = (layers: number) =>
    countAndGrids(/window|causal/, () => {
      const m = model("mistral", { sliding_window: 3, num_hidden_layers: layers }).train();
      const { loss } = m.forward({
        input_ids: T.intTensor([1, 1, 0, 5, 6, 7, 0, 8, 9, 10, 1, 1], [2, 6]),
        attention_mask: T.intTensor([0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [2, 6]),
        labels: T.intTensor([-100, -100, 5, 6, 7, -100, 8, 9, 10, -100, -100, -100], [2, 6]),
      });
      assert.ok(loss && Number.isFinite(loss.item()));
    });
  const one = count(1);
  assert.ok(one >= 1, "the sliding-window mask's grid is built");
  assert.equal(count(3), one);
});

forEachBackend("Llama prefix-LM prompts and bfloat16 steps", () => {
  test("a prefix LM's prompt is read bidirectionally, its steps causally, as recomputation", () => {
    const m = model("llama", { num_key_value_heads: 2 });
    const prompts = [
      [0, 5, 6, 7],
      [0, 9],
    ];
    const dec = promptDecoder(m, prompts, "prefix");
    // The prompts left padded with the pad id 1, each row then gaining one token.
    const ids = [0, 5, 6, 7, 1, 1, 0, 9];
    const mask = [1, 1, 1, 1, 0, 0, 1, 1];
    const tokens = [12, 13];
    const first = dec.next(Int32Array.of(0, 0)).slice();
    const second = dec.next(Int32Array.from(tokens));
    const full = (cols: number, withTokens: boolean) =>
      T.noGrad(
        () =>
          m.forward({
            input_ids: T.intTensor(
              withTokens ? [...ids.slice(0, 4), 12, ...ids.slice(4), 13] : ids,
              [2, cols],
            ),
            attention_mask: T.intTensor(
              withTokens ? [...mask.slice(0, 4), 1, ...mask.slice(4), 1] : mask,
              [2, cols],
            ),
            prefix_lengths: [4, 4],
          }).logits,
      );
    const at = (logits: T.Tensor, t: number) => {
      const [, cols, V] = logits.shape;
      const out = new Float32Array(2 * V);
      for (let r = 0; r < 2; r++)
        out.set(logits.f32.subarray((r * cols + t) * V, (r * cols + t + 1) * V), r * V);
      return out;
    };
    assert.ok(maxDiff(first, at(full(4, false), 3)) < 1e-5, "the prompt's last logits");
    assert.ok(maxDiff(second, at(full(5, true), 4)) < 1e-5, "the first step's logits");
    // A causal read of the same prompt differs: the prefix mattered.
    const causalFirst = promptDecoder(m, prompts, "causal").next(Int32Array.of(0, 0));
    assert.ok(maxDiff(first, causalFirst) > 1e-4);
  });

  test("steps on bfloat16 copies of the weights stay close to float32", () => {
    const m = model("qwen2", { num_key_value_heads: 1 });
    const ids = T.intTensor([0, 5, 6, 1, 0, 9], [2, 3]);
    const mask = T.intTensor([1, 1, 1, 0, 1, 1], [2, 3]);
    const plain = new DecoderOnlyIncremental(m, ids, mask);
    const half = new DecoderOnlyIncremental(m, ids, mask, { weights: decodingBf16Weights(m) });
    plain.next(Int32Array.of(0, 0));
    half.next(Int32Array.of(0, 0));
    const a = plain.next(Int32Array.of(7, 8)).slice();
    const b = half.next(Int32Array.of(7, 8));
    const d = maxDiff(a, b);
    assert.ok(d > 0 && d < 0.05, `bfloat16 steps differ by ${d}`);
  });
});
