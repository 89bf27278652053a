// Llama, Qwen2 and Mistral from transformers' layout (../shared/ref/hf/{llama, llama_tied,
// qwen2, mistral}): grouped-query attention (2:1, and multi-query in llama_tied), rotary
// positions, RMS norms, SwiGLU, Qwen2's q/k/v biases, tied and untied heads, Mistral's sliding
// window of 3 over sequences of 8. Each case loads as it is, matches transformers' logits with
// the positions generate builds from the mask (one row right padded, one left padded) and the
// loss; greedy decoding on the KV cache from left-padded prompts gives transformers' ids, with
// each step's logits equal to those transformers' cache produced; training on the kept rows
// gives that loss and the padded forward's gradients; written back byte for byte.
import assert from "node:assert/strict";
import { test } from "node:test";
import { greedy } from "../../../src/decode/greedy.js";
import type { IncrementalDecoder } from "../../../src/decode/types.js";
import type { LlamaForCausalLM } from "../../../src/models/families/llama/model.js";
import { DecoderOnlyIncremental } from "../../../src/models/incremental.js";
import { familyOf } from "../../../src/models/registry.js";
import { loadModel } from "../../../src/node/model-dir.js";
import { backward, noGrad } from "../../../src/tensor/index.js";
import { forEachBackend } from "../../helpers/backends.js";
import {
  assertForward,
  assertGreedyRows,
  assertWrittenBack,
  flat,
  ids,
  readCase,
} from "../../helpers/hf-ref.js";

const CASES = [
  ["llama", "llama"],
  ["llama_tied", "llama"],
  ["qwen2", "qwen2"],
  ["mistral", "mistral"],
] as const;

/** Records a copy of every step's logits, by sentence (rows are dropped as they finish). */
class Recording implements IncrementalDecoder {
  readonly steps: Map<number, Float32Array>[] = [];
  private live: number[];
  constructor(private readonly inner: DecoderOnlyIncremental) {
    this.live = Array.from({ length: inner.rows }, (_, i) => i);
  }
  get rows() {
    return this.inner.rows;
  }
  get vocabSize() {
    return this.inner.vocabSize;
  }
  next(tokens: Int32Array): Float32Array {
    const out = this.inner.next(tokens);
    const V = this.vocabSize;
    const step = new Map<number, Float32Array>();
    this.live.forEach((s, r) => {
      step.set(s, out.slice(r * V, (r + 1) * V));
    });
    this.steps.push(step);
    return out;
  }
  reorder(keep: readonly number[]): void {
    this.inner.reorder(keep);
    this.live = keep.map((r) => this.live[r]);
  }
}

for (const [name, familyName] of CASES) {
  forEachBackend(`HF ${name}`, (backend) => {
    const c = readCase(name);
    const withMask = c.expected.with_position_ids_from_mask as {
      logits: { shape: number[]; data: unknown };
      loss_f64_recomputed: number;
    };

    test("loads as it is and matches transformers' logits and loss", () => {
      const model = loadModel(c.dir, "decoder-only") as LlamaForCausalLM;
      assert.equal(familyOf(model.config).name, familyName);
      const b = c.batch;
      // transformers shifts the labels inside the model; maskwise's are aligned with the
      // positions that predict them: position t is scored against labels[t + 1].
      const shifted = (b.labels as number[][]).map((row) => [...row.slice(1), -100]);
      const worst = assertForward(
        c,
        model,
        {
          input_ids: ids(b.input_ids),
          attention_mask: ids(b.attention_mask),
          labels: ids(shifted),
        },
        { logits: withMask.logits, loss: withMask.loss_f64_recomputed },
      );
      // RoPE sees only relative offsets: transformers' arange positions give the same logits.
      const plain = assertForward(
        c,
        model,
        {
          input_ids: ids(b.input_ids),
          attention_mask: ids(b.attention_mask),
          labels: ids(shifted),
        },
        { logits: c.expected.logits, loss: withMask.loss_f64_recomputed },
      );
      console.log(
        `# ${name} [${backend.name}] worst logits difference ${Math.max(worst, plain).toExponential(2)}`,
      );
    });

    test("training on the kept rows (grouped-query attention in the row kernel): transformers' loss, the padded forward's gradients", () => {
      const model = loadModel(c.dir, "decoder-only") as LlamaForCausalLM;
      const b = c.batch;
      const shifted = (b.labels as number[][]).map((row) => [...row.slice(1), -100]);
      const batch = {
        input_ids: ids(b.input_ids),
        attention_mask: ids(b.attention_mask),
        labels: ids(shifted),
      };
      const step = (unpad: boolean) => {
        model.train();
        for (const p of model.parameters()) p.grad = null;
        const { loss } = model.forward(batch, { unpad });
        assert.ok(loss);
        backward(loss);
        return {
          loss: loss.item(),
          grads: model.parameters().map((p) => (p.grad ? p.grad.f32.slice() : null)),
        };
      };
      const padded = step(false);
      const rows = step(true);
      assert.ok(
        Math.abs(rows.loss - withMask.loss_f64_recomputed) <= 1e-5,
        `loss ${rows.loss} vs transformers' ${withMask.loss_f64_recomputed}`,
      );
      let worst = 0;
      let compared = 0;
      padded.grads.forEach((g, i) => {
        const h = rows.grads[i];
        assert.equal(g === null, h === null, `parameter ${i} has a gradient on one side only`);
        if (!g || !h) return;
        for (let j = 0; j < g.length; j++) {
          worst = Math.max(worst, Math.abs(g[j] - h[j]) / (1e-3 + Math.abs(g[j])));
          if (g[j] !== 0) compared++;
        }
      });
      assert.ok(compared > 1000, "the gradients compared are not all zero");
      assert.ok(worst < 1e-3, `largest relative gradient difference ${worst}`);
    });

    test("greedy decoding on the KV cache from left-padded prompts gives transformers' ids and step logits", () => {
      const model = loadModel(c.dir, "decoder-only") as LlamaForCausalLM;
      const g = c.expected.generate as {
        prompt_input_ids: number[][];
        prompt_attention_mask: number[][];
        plain_greedy: { ids: number[][]; step_logits: { shape: number[]; data: unknown } };
      };
      const P = g.prompt_input_ids[0].length;
      const eos = model.config.eos_token_id;
      const decoder = new Recording(
        new DecoderOnlyIncremental(model, ids(g.prompt_input_ids), ids(g.prompt_attention_mask)),
      );
      const hyps = noGrad(() => greedy(decoder, { startToken: eos, eosToken: eos, maxLength: 8 }));
      assertGreedyRows(hyps, g.plain_greedy.ids, P, eos);
      // Each step's logits of each running row: transformers' within the logits tolerance.
      const [, B, V] = g.plain_greedy.step_logits.shape;
      const want = flat(g.plain_greedy.step_logits);
      const tol = Math.max(1e-4, 10 * c.expected.checks.f32_vs_f64_max_abs_diff_valid);
      let worst = 0;
      let compared = 0;
      decoder.steps.forEach((rows, s) => {
        for (const [row, got] of rows) {
          compared++;
          for (let v = 0; v < V; v++)
            worst = Math.max(worst, Math.abs(got[v] - want[(s * B + row) * V + v]));
        }
      });
      assert.ok(compared >= B, "at least one step compared per row");
      assert.ok(worst <= tol, `step logits differ by ${worst} (tolerance ${tol})`);
    });

    test("written back byte for byte, with the same config.json", () => {
      assertWrittenBack(c);
    });
  });
}
