// Each pretraining objective trains the model kind it belongs to: a tiny model's validation loss
// falls clearly on a small repetitive corpus within a couple of hundred updates.
import assert from "node:assert/strict";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { EncoderOnlyModel } from "../../src/models/encoder-only.js";
import { familyFor } from "../../src/models/registry.js";
import {
  DEFAULT_SPECIAL_TOKENS,
  sentinelTokens,
  trainTokenizer,
} from "../../src/tokenizer/index.js";
import { noisedExamples } from "../../src/train/examples.js";
import { OBJECTIVES, pretrainingObjective } from "../../src/train/pretraining.js";
import { MemoryStore } from "../../src/train/store.js";
import type { TrainableModel } from "../../src/train/tasks.js";
import { Trainer } from "../../src/train/trainer.js";
import { Rng } from "../../src/util/rng.js";

// A small corpus with a lot of structure: counting sequences and a few fixed sentences.
const words = ["one", "two", "three", "four", "five", "six", "seven", "eight"];
const rng = new Rng(3);
const corpus = Array.from({ length: 40 }, () => {
  const start = rng.int(4);
  return words.slice(start, start + 3 + rng.int(3)).join(" ");
});
const tok = trainTokenizer(corpus, {
  vocabSize: 40,
  specialTokens: [...DEFAULT_SPECIAL_TOKENS, ...sentinelTokens(8)],
});
const sequences = corpus.map((l) => tok.encode(l));

for (const name of OBJECTIVES) {
  test(`${name}: the loss falls clearly`, () => {
    const arch = familyFor({ objective: name }).name;
    const cfg = resolveConfig({
      maskwise_arch: arch,
      vocab_size: tok.vocabSize,
      d_model: 32,
      encoder_layers: 1,
      decoder_layers: arch === "decoder-only" ? 2 : 1,
      encoder_attention_heads: 2,
      decoder_attention_heads: 2,
      encoder_ffn_dim: 64,
      decoder_ffn_dim: 64,
      dropout: 0,
      pad_token_id: tok.tokenToId("<pad>") as number,
      bos_token_id: tok.tokenToId("<s>") as number,
      eos_token_id: tok.tokenToId("</s>") as number,
      decoder_start_token_id: tok.tokenToId("<s>") as number,
    });
    const model: TrainableModel =
      arch === "encoder-only"
        ? new EncoderOnlyModel(cfg, 1)
        : arch === "decoder-only"
          ? new DecoderOnlyModel(cfg, 1)
          : new EncoderDecoderModel(cfg, 1);
    const { objective } = pretrainingObjective(
      name,
      tok,
      name === "mlm" ? { wholeWord: true } : {},
    );
    const trainer = new Trainer(
      model,
      {
        train: noisedExamples(sequences, objective, 5, 2),
        valid: noisedExamples(sequences, objective, 6, 2),
      },
      {
        maxTokens: 128,
        schedule: { kind: "inverse-sqrt", lr: 1e-2, warmup: 10 },
        maxSteps: 150,
        evalEvery: 150,
        clipNorm: 1,
        seed: 2,
      },
      new MemoryStore(),
    );
    const before = trainer.validLoss() as number;
    trainer.run();
    const after = trainer.validLoss() as number;
    assert.ok(after < 0.6 * before, `${name}: valid loss ${before} -> ${after}`);
  });
}

test("whole-word masking masks every piece of a word or none", () => {
  // Long made-up words split into several pieces by a small vocabulary.
  const text = ["abcdefgh ijklmnop qrstuvwx", "ijklmnop abcdefgh yzabcdef qrstuvwx"];
  const t = trainTokenizer(text, { vocabSize: 40, specialTokens: [...DEFAULT_SPECIAL_TOKENS] });
  const { objective } = pretrainingObjective("mlm", t, { wholeWord: true, rate: 0.5 });
  const tokens = t.encode(text[1]);
  const starts = tokens.map((id) => (t.idToToken(id) ?? "").startsWith("\u2581"));
  assert.ok(starts.filter((s) => !s).length > 0, "some words have several pieces");
  for (let seed = 0; seed < 20; seed++) {
    const ex = objective(tokens, new Rng(seed));
    // Group positions by word; within a word, labels are all set or all -100.
    let word: boolean[] = [];
    const check = () =>
      assert.ok(
        word.every((m) => m === word[0]),
        `seed ${seed}`,
      );
    tokens.forEach((_, i) => {
      if (starts[i]) {
        check();
        word = [];
      }
      word.push(ex.labels[i] !== -100);
    });
    check();
  }
});
