// Decoder-only generation on the KV cache: left-padded prompts in one batch give the same tokens
// as each prompt alone by full recomputation, and `maskwise generate` runs a saved model.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { greedy } from "../../src/decode/greedy.js";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { DecoderOnlyIncremental } from "../../src/models/incremental.js";
import { saveModel, saveTokenizer } from "../../src/node/model-dir.js";
import * as T from "../../src/tensor/index.js";
import { trainTokenizer } from "../../src/tokenizer/index.js";
import { Rng } from "../../src/util/rng.js";
import { tempDir } from "../helpers/tmp.js";

function tinyModel(vocab: number) {
  const cfg = resolveConfig({
    maskwise_arch: "decoder-only",
    vocab_size: vocab,
    d_model: 16,
    encoder_layers: 0,
    decoder_layers: 2,
    decoder_attention_heads: 2,
    decoder_ffn_dim: 32,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
  });
  const model = new DecoderOnlyModel(cfg, 4).eval();
  const rng = new Rng(8);
  for (const p of model.parameters())
    for (let i = 0; i < p.size; i++) p.f32[i] += rng.normal() * 0.3;
  return model;
}

test("batched left-padded prompts generate what each prompt alone does", () => {
  const model = tinyModel(24);
  const prompts = [
    [0, 5, 6, 7, 8],
    [0, 9],
    [0, 10, 11],
  ];
  const P = 5;
  const ids = new Int32Array(3 * P).fill(1);
  const mask = new Int32Array(3 * P);
  prompts.forEach((p, r) => {
    ids.set(p, r * P + P - p.length);
    mask.fill(1, r * P + P - p.length, (r + 1) * P);
  });
  const opts = { startToken: 0, eosToken: 2, maxLength: 6 };
  const batched = greedy(
    new DecoderOnlyIncremental(model, T.intTensor(ids, [3, P]), T.intTensor(mask, [3, P])),
    opts,
  );
  prompts.forEach((p, r) => {
    const seq = [...p];
    const expected: number[] = [];
    for (let step = 0; step < opts.maxLength; step++) {
      const logits = T.noGrad(() =>
        model.forward({ input_ids: T.intTensor(seq, [1, seq.length]) }),
      ).logits;
      const row = logits.f32.subarray((seq.length - 1) * 24, seq.length * 24);
      let best = 0;
      for (let j = 1; j < 24; j++) if (row[j] > row[best]) best = j;
      expected.push(best);
      seq.push(best);
      if (best === 2) break;
    }
    assert.deepEqual(batched[r].tokens, expected, `prompt ${r}`);
  });
});

test("maskwise generate continues stdin prompts", () => {
  const dir = tempDir("gen");
  const tok = trainTokenizer(
    ["the cat sat on the mat", "a dog ran in the park", "the sun is warm"],
    { vocabSize: 40 },
  );
  const model = tinyModel(tok.vocabSize);
  saveModel(dir, model);
  saveTokenizer(dir, tok);
  const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
  const r = spawnSync(
    process.execPath,
    [bin, "generate", "--model", dir, "--max-new-tokens", "5"],
    { input: "the cat\na dog ran\n", encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.split("\n").length, 3);
  const s = spawnSync(
    process.execPath,
    [bin, "generate", "--model", dir, "--sample", "--seed", "3", "--max-new-tokens", "5"],
    { input: "the cat\n", encoding: "utf8" },
  );
  const s2 = spawnSync(
    process.execPath,
    [bin, "generate", "--model", dir, "--sample", "--seed", "3", "--max-new-tokens", "5"],
    { input: "the cat\n", encoding: "utf8" },
  );
  assert.equal(s.status, 0, s.stderr);
  assert.equal(s.stdout, s2.stdout, "the same seed gives the same text");
  const bad = spawnSync(process.execPath, [bin, "generate", "--model", dir, "--top-k", "-1"], {
    input: "x\n",
    encoding: "utf8",
  });
  assert.equal(bad.status, 2);
});
