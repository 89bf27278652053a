// T5 v1.0 and v1.1 from transformers' layout (../shared/ref/hf: t5, t5_v1_1, t5_hfbuckets): each
// case loads as it is (config.json, model.safetensors without the tied copies), matches
// transformers' logits at the valid positions, its loss and its greedy ids, and is written back
// with the same tensor names, shapes and config.json.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { beamSearch } from "../../../src/decode/beam.js";
import { greedy } from "../../../src/decode/greedy.js";
import { parseSafetensors } from "../../../src/io/safetensors.js";
import type { StoredTensor } from "../../../src/models/families/file-layout.js";
import type { T5Model } from "../../../src/models/families/t5/model.js";
import { decodingBf16Weights, Seq2SeqIncremental } from "../../../src/models/incremental.js";
import { buildModel, familyOf, resolveModelConfig } from "../../../src/models/registry.js";
import { configJson, loadFileState } from "../../../src/models/state.js";
import { loadModel } from "../../../src/node/model-dir.js";
import { fromBf16, toBf16 } from "../../../src/tensor/bf16.js";
import * as T from "../../../src/tensor/index.js";
import { noGrad } from "../../../src/tensor/index.js";
import { translateLines } from "../../../src/train/translate.js";
import { Rng } from "../../../src/util/rng.js";
import { forEachBackend } from "../../helpers/backends.js";
import { gradcheckParameter } from "../../helpers/gradcheck.js";
import {
  assertForward,
  assertGreedyRows,
  assertWrittenBack,
  flat,
  ids,
  readCase,
  scalar,
} from "../../helpers/hf-ref.js";

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function maxAbs(a: Float32Array): number {
  return a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
}

interface GreedyCase {
  ids: number[][];
  step_logits: { shape: number[]; data: unknown };
}

for (const name of ["t5", "t5_v1_1", "t5_hfbuckets"]) {
  forEachBackend(`HF ${name}`, (backend) => {
    const c = readCase(name);

    test("loads as it is and matches transformers' logits and loss", () => {
      const model = loadModel(c.dir, "encoder-decoder") as T5Model;
      assert.equal(familyOf(model.config).name, "t5");
      const b = c.batch;
      const worst = assertForward(c, model, {
        input_ids: ids(b.input_ids),
        attention_mask: ids(b.attention_mask),
        decoder_input_ids: ids(b.decoder_input_ids),
        labels: ids(b.labels),
      });
      console.log(`# ${name} [${backend.name}] worst logits difference ${worst.toExponential(2)}`);
    });

    test("greedy decoding on the KV cache gives transformers' ids", () => {
      const model = loadModel(c.dir, "encoder-decoder") as T5Model;
      const g = (c.expected.generate as Record<string, { ids: number[][] }>).plain_greedy;
      const cfg = model.config;
      const hyps = noGrad(() =>
        greedy(new Seq2SeqIncremental(model, ids(c.batch.input_ids), ids(c.batch.attention_mask)), {
          startToken: cfg.decoder_start_token_id,
          eosToken: cfg.eos_token_id,
          maxLength: 8,
        }),
      );
      // transformers' rows: the start token, then the new tokens, padded after eos.
      assertGreedyRows(hyps, g.ids, 1, cfg.eos_token_id);
    });

    test("a decoding step's logits are transformers' step logits", () => {
      const model = loadModel(c.dir, "encoder-decoder") as T5Model;
      const g = (c.expected.generate as Record<string, GreedyCase>).plain_greedy;
      const [steps, B, V] = g.step_logits.shape;
      const want = flat(g.step_logits);
      const inc = noGrad(
        () => new Seq2SeqIncremental(model, ids(c.batch.input_ids), ids(c.batch.attention_mask)),
      );
      let worst = 0;
      for (let t = 0; t < steps; t++) {
        // transformers feeds each row's previous id, the pad id again once a row has finished.
        const logits = inc.next(Int32Array.from(g.ids, (row) => row[t]));
        for (let i = 0; i < B * V; i++)
          worst = Math.max(worst, Math.abs(logits[i] - want[t * B * V + i]));
      }
      const tol = Math.max(1e-4, 10 * c.expected.checks.f32_vs_f64_max_abs_diff_valid);
      assert.ok(worst <= tol, `step logits differ by ${worst} (tolerance ${tol})`);
    });

    test("beam search on the reordered caches: each hypothesis's log-probability is the forward pass's", () => {
      const model = loadModel(c.dir, "encoder-decoder") as T5Model;
      const cfg = model.config;
      const src = ids(c.batch.input_ids);
      const mask = ids(c.batch.attention_mask);
      const beams = noGrad(() =>
        beamSearch(new Seq2SeqIncremental(model, src, mask), {
          startToken: cfg.decoder_start_token_id,
          eosToken: cfg.eos_token_id,
          maxLength: 6,
          beamSize: 3,
          nBest: 3,
        }),
      );
      const [N, S] = src.shape;
      beams.forEach((hyps, r) => {
        assert.equal(hyps.length, 3);
        for (const h of hyps) {
          // The hypothesis fed after the start token, scored by one uncached forward pass.
          const fed = [cfg.decoder_start_token_id, ...h.tokens.slice(0, -1)];
          const row = (t: T.Tensor) =>
            T.intTensor(Array.from(t.i32.subarray(r * S, (r + 1) * S)), [1, S]);
          const logits = noGrad(
            () =>
              model.forward({
                input_ids: row(src),
                attention_mask: row(mask),
                decoder_input_ids: T.intTensor(fed, [1, fed.length]),
                decoder_attention_mask: T.intTensor(
                  fed.map(() => 1),
                  [1, fed.length],
                ),
              }).logits,
          );
          const V = cfg.vocab_size;
          let logProb = 0;
          h.tokens.forEach((tok, t) => {
            const z = logits.f32.subarray(t * V, (t + 1) * V);
            const m = Math.max(...z);
            const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
            logProb += z[tok] - lse;
          });
          assert.ok(Math.abs(logProb - h.logProb) < 1e-4, `row ${r}: ${h.logProb} vs ${logProb}`);
        }
      });
      assert.equal(beams.length, N);
    });

    test("translateLines decodes with T5 (greedy and beam)", () => {
      const model = loadModel(c.dir, "encoder-decoder") as T5Model;
      const cfg = model.config;
      // Lines of ids; the source convention appends eos, as the case's rows end in it.
      const codec = {
        encode: (l: string) => l.split(" ").map(Number),
        decode: (t: readonly number[]) => t.join(" "),
      };
      const rows = (c.batch.input_ids as number[][]).map((row) => {
        const eos = row.indexOf(cfg.eos_token_id);
        return row.slice(0, eos).join(" ");
      });
      const g = (c.expected.generate as Record<string, GreedyCase>).plain_greedy;
      const greedyOut = noGrad(() =>
        translateLines(model, codec, rows, { beam: 1, maxLenA: 0, maxLenB: 8 }),
      );
      greedyOut.forEach(([best], r) => {
        const stop = g.ids[r].indexOf(cfg.eos_token_id, 1);
        assert.deepEqual(
          best.hypothesis.tokens,
          g.ids[r].slice(1, stop < 0 ? undefined : stop + 1),
          `row ${r}`,
        );
      });
      const beamOut = noGrad(() =>
        translateLines(model, codec, rows, { beam: 3, maxLenA: 0, maxLenB: 8 }),
      );
      assert.equal(beamOut.length, rows.length);
      for (const [best] of beamOut) assert.ok(best.hypothesis.tokens.length > 0);
    });

    test("bfloat16 decoding: near float32 decoding on the rounded weights", () => {
      const model = loadModel(c.dir, "encoder-decoder") as T5Model;
      const rounded = loadModel(c.dir, "encoder-decoder") as T5Model;
      for (const lin of rounded.decodingLinears())
        if (lin) lin.weight.f32.set(fromBf16(toBf16(lin.weight.f32)));
      const src = ids(c.batch.input_ids);
      const mask = ids(c.batch.attention_mask);
      const bf16 = decodingBf16Weights(model);
      const half = noGrad(() => new Seq2SeqIncremental(model, src, mask, { weights: bf16 }));
      const wide = noGrad(() => new Seq2SeqIncremental(rounded, src, mask));
      const plain = noGrad(() => new Seq2SeqIncremental(model, src, mask));
      const g = (c.expected.generate as Record<string, GreedyCase>).plain_greedy;
      for (let t = 0; t < 4; t++) {
        const tokens = Int32Array.from(g.ids, (row) => row[t]);
        const got = half.next(tokens).slice();
        const near = maxDiff(got, wide.next(tokens));
        // The products' inputs are rounded too (relative error up to 2^-9): near, not equal.
        assert.ok(near < 5e-2 * Math.max(1, maxAbs(got)), `step ${t}: ${near}`);
        assert.ok(maxDiff(got, plain.next(tokens)) > 1e-6, `step ${t}: bfloat16 path not taken`);
      }
    });

    test("training on kept rows gives the loss of the padded computation", () => {
      const model = loadModel(c.dir, "encoder-decoder") as T5Model;
      const b = c.batch;
      model.train();
      const { loss } = model.forward({
        input_ids: ids(b.input_ids),
        attention_mask: ids(b.attention_mask),
        decoder_input_ids: ids(b.decoder_input_ids),
        labels: ids(b.labels),
      });
      const want = scalar(c.expected.loss);
      assert.ok(loss && Math.abs(loss.item() - want) <= 1e-5, `loss ${loss?.item()} vs ${want}`);
    });

    test("written back byte for byte, with the same config.json", () => {
      assertWrittenBack(c);
    });
  });
}

test("the unused cross-attention bias table of the original checkpoints is ignored on load", () => {
  const c = readCase("t5");
  const model = loadModel(c.dir) as T5Model;
  const file = new Map<string, StoredTensor>(
    parseSafetensors(readFileSync(join(c.dir, "model.safetensors")), "ref").tensors,
  );
  const name = "decoder.block.0.layer.1.EncDecAttention.relative_attention_bias.weight";
  file.set(name, { shape: [8, 4], data: new Float32Array(32).fill(1) });
  loadFileState(model, file, "with the unused table");
  file.set("decoder.block.0.layer.1.EncDecAttention.other.weight", file.get(name) as StoredTensor);
  assert.throws(() => loadFileState(model, file, "with an unknown tensor"), /unexpected tensors/);
});

/** A tiny T5 config.json: inner width H * d_kv (6) unlike d_model (8), gated-gelu, no dropout. */
function tinyRaw(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: "t5",
    vocab_size: 13,
    d_model: 8,
    d_kv: 3,
    d_ff: 10,
    num_layers: 2,
    num_decoder_layers: 1,
    num_heads: 2,
    relative_attention_num_buckets: 8,
    relative_attention_max_distance: 6,
    dropout_rate: 0,
    feed_forward_proj: "gated-gelu",
    tie_word_embeddings: false,
    ...extra,
  };
}

forEachBackend("T5 tiny model", () => {
  test("the loss's gradient reaches both stacks' bucket tables (finite differences)", () => {
    const config = resolveModelConfig(tinyRaw(), "tiny");
    const model = buildModel(config, 3) as T5Model;
    // Larger tables than the default initialisation, so the bias matters to the loss.
    for (const stack of [model.encoder, model.decoder])
      stack.biasTable.f32.forEach((_, i, a) => {
        a[i] = Math.sin(i * 1.7);
      });
    model.train();
    const batch = {
      input_ids: T.intTensor([3, 4, 5, 6, 7, 1, 8, 9, 1, 0, 0, 0], [2, 6]),
      decoder_input_ids: T.intTensor([0, 5, 6, 7, 2, 0, 9, 1, 0, 0], [2, 5]),
      labels: T.intTensor([5, 6, 7, 2, 1, 9, 1, -100, -100, -100], [2, 5]),
    };
    const loss = () => model.forward(batch).loss as T.Tensor;
    for (const [name, stack] of [
      ["encoder", model.encoder],
      ["decoder", model.decoder],
    ] as const) {
      gradcheckParameter(`${name} relative_attention_bias`, loss, stack.biasTable, {
        h: 1e-2,
        samples: 16,
      });
      assert.ok(
        (stack.biasTable.grad?.f32 ?? []).some((g) => g !== 0),
        `${name} table got a zero gradient`,
      );
    }
  });

  test("a training step with dropout reaches every parameter, and its randomness is the rng's", () => {
    const config = resolveModelConfig(tinyRaw({ dropout_rate: 0.3 }), "tiny");
    const model = buildModel(config, 4) as T5Model;
    model.train();
    const batch = {
      input_ids: T.intTensor([3, 4, 5, 6, 7, 1, 8, 9, 1, 0, 0, 0], [2, 6]),
      decoder_input_ids: T.intTensor([0, 5, 6, 7, 2, 0, 9, 1, 0, 0], [2, 5]),
      labels: T.intTensor([5, 6, 7, 2, 1, 9, 1, -100, -100, -100], [2, 5]),
    };
    const plain = noGrad(() => model.forward(batch).loss?.item() ?? Number.NaN);
    const dropped = (seed: number) => model.forward(batch, { rng: new Rng(seed) }).loss as T.Tensor;
    const a = dropped(7);
    assert.equal(
      noGrad(() => dropped(7).item()),
      a.item(),
    );
    assert.notEqual(a.item(), plain);
    T.backward(a);
    for (const [name, p] of model.namedParameters())
      assert.ok(
        p.grad?.f32.some((g) => g !== 0),
        `${name} got no gradient`,
      );
  });

  test("the decoding step computes what the forward pass computes", () => {
    const config = resolveModelConfig(tinyRaw({ feed_forward_proj: "relu" }), "tiny");
    const model = buildModel(config, 5) as T5Model;
    for (const stack of [model.encoder, model.decoder])
      stack.biasTable.f32.forEach((_, i, a) => {
        a[i] = Math.cos(i);
      });
    const src = T.intTensor([3, 4, 5, 6, 7, 1, 8, 9, 1, 0, 0, 0], [2, 6]);
    const srcMask = T.intTensor([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0], [2, 6]);
    const dec = [
      [0, 5, 6, 7, 2, 11, 4],
      [0, 9, 2, 12, 3, 3, 10],
    ];
    const full = noGrad(
      () =>
        model.forward({ input_ids: src, attention_mask: srcMask, decoder_input_ids: ids(dec) })
          .logits,
    );
    const inc = noGrad(() => new Seq2SeqIncremental(model, src, srcMask));
    const V = 13;
    const T_ = dec[0].length;
    for (let t = 0; t < T_; t++) {
      const step = inc.next(Int32Array.from(dec, (row) => row[t]));
      for (let r = 0; r < 2; r++)
        for (let v = 0; v < V; v++) {
          const want = full.f32[(r * T_ + t) * V + v];
          assert.ok(Math.abs(step[r * V + v] - want) < 1e-4, `row ${r} step ${t} id ${v}`);
        }
    }
  });
});

test("a transformers 4 config: tie_word_embeddings false unties the head and drops the rescale", () => {
  const raw = tinyRaw({ feed_forward_proj: "relu", my_key: [1, 2] });
  const config = resolveModelConfig(raw, "tiny");
  const model = buildModel(config, 1) as T5Model;
  assert.equal(model.outputScale, 1);
  assert.notEqual(model.lm_head.weight, model.shared.weight);
  assert.deepEqual(configJson(model), raw);
  const tied = buildModel(
    resolveModelConfig(tinyRaw({ tie_word_embeddings: undefined }), "t"),
    1,
  ) as T5Model;
  assert.equal(tied.lm_head.weight, tied.shared.weight);
  assert.equal(tied.outputScale, 8 ** -0.5);
});

test("an activation T5 does not compute is an error naming feed_forward_proj", () => {
  assert.throws(
    () => resolveModelConfig(tinyRaw({ feed_forward_proj: "gated-swish" }), "tiny"),
    /feed_forward_proj/,
  );
  assert.throws(() => resolveModelConfig(tinyRaw({ d_kv: 2.5 }), "tiny"), /d_kv/);
  assert.throws(() => resolveModelConfig(tinyRaw({ d_kv: 0 }), "tiny"), /d_kv/);
});
