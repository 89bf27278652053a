// The buffer pool and backward()'s freeIntermediates: recycled memory must never change a result.
import assert from "node:assert/strict";
import { test } from "node:test";
import { trainStepBatch } from "../../src/cli/commands/bench-train-step.js";
import { resolveConfig } from "../../src/models/config.js";
import { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { AdamW } from "../../src/optim/adamw.js";
import { noGrad } from "../../src/tensor/autograd.js";
import * as T from "../../src/tensor/index.js";
import {
  allocF32,
  clearF32Pool,
  freshF32Bytes,
  poisonUnzeroedF32,
  pooledF32Bytes,
  releaseF32,
  withScratch,
} from "../../src/tensor/pool.js";
import { Rng } from "../../src/util/rng.js";

test("pool: a released buffer is handed out again, zeroed unless asked otherwise", () => {
  const a = allocF32(10_000);
  a.fill(7);
  const before = pooledF32Bytes();
  releaseF32(a);
  assert.ok(pooledF32Bytes() >= before + 40_000);
  releaseF32(a); // a second release of the same buffer is refused
  assert.equal(pooledF32Bytes(), before + a.buffer.byteLength);
  const b = allocF32(9_900, false); // a slightly smaller request fits the same size class
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, 9_900);
  assert.equal(b[0], 7);
  releaseF32(b);
  const c = allocF32(10_000);
  assert.equal(c.buffer, a.buffer);
  assert.ok(c.every((v) => v === 0));
});

test("pool: arrays it did not allocate, and small ones, are never taken", () => {
  const before = pooledF32Bytes();
  releaseF32(new Float32Array(100_000));
  releaseF32(allocF32(16));
  assert.equal(pooledF32Bytes(), before);
});

test("training with freeIntermediates gives bit-identical losses and parameters", () => {
  // Big enough that activations, gradients and logits go through the pool (>= 16 KB each), with
  // dropout on; the two runs interleave, so each reuses buffers the other released. Unzeroed
  // buffers come filled with NaN, so memory an op promised to write and did not would show.
  poisonUnzeroedF32(true);
  const config = resolveConfig({
    vocab_size: 200,
    d_model: 32,
    encoder_layers: 2,
    decoder_layers: 2,
    encoder_attention_heads: 4,
    decoder_attention_heads: 4,
    encoder_ffn_dim: 64,
    decoder_ffn_dim: 64,
    dropout: 0.1,
  });
  const batch = trainStepBatch(new Rng(3), 8, 16, 16, 200);
  const runs = [true, false].map((free) => {
    const model = new EncoderDecoderModel(config, 1);
    model.train();
    const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0 });
    return { free, model, opt, losses: [] as number[] };
  });
  for (let step = 0; step < 4; step++) {
    for (const run of runs) {
      run.opt.zeroGrad();
      const { loss } = run.model.forward(batch, { rng: new Rng(100 + step) });
      assert.ok(loss);
      run.losses.push(loss.item());
      T.backward(loss, undefined, { freeIntermediates: run.free });
      run.opt.update();
    }
  }
  assert.ok(pooledF32Bytes() > 0, "the pool took part");
  assert.deepEqual(runs[0].losses, runs[1].losses);
  assert.ok(runs[0].losses[3] < runs[0].losses[0], "the model learned");
  const [pa, pb] = runs.map((r) => r.model.parameters());
  assert.equal(pa.length, pb.length);
  for (let i = 0; i < pa.length; i++) assert.deepEqual(pa[i].f32, pb[i].f32, pa[i].name);
  poisonUnzeroedF32(false);
});

test("poisoned pool: unzeroed arrays are NaN, zeroed ones are zeros", () => {
  poisonUnzeroedF32(true);
  try {
    for (const n of [8, 100_000]) {
      const a = allocF32(n, false);
      assert.ok(a.every((v) => Number.isNaN(v)));
      releaseF32(a);
      assert.ok(allocF32(n).every((v) => v === 0));
    }
  } finally {
    poisonUnzeroedF32(false);
  }
});

test("withScratch: gives back what its function took, except what it keeps", () => {
  const n = 50_000; // a size class no other test here uses
  const outside = allocF32(n);
  let scratch: Float32Array | null = null;
  let inner: Float32Array | null = null;
  const kept = withScratch(
    () => {
      scratch = allocF32(n);
      const k = allocF32(n);
      // A nested scope's kept array belongs to the outer scope, which gives it back.
      inner = withScratch(
        () => allocF32(n),
        (a) => [a],
      );
      return k;
    },
    (k) => [k],
  );
  assert.ok(scratch && inner);
  // Two buffers went back (scratch and inner); the kept one and the one from outside did not.
  const taken = [allocF32(n, false), allocF32(n, false), allocF32(n, false)];
  const buffers = new Set(taken.map((a) => a.buffer));
  assert.ok(buffers.has((scratch as Float32Array).buffer));
  assert.ok(buffers.has((inner as Float32Array).buffer));
  assert.ok(!buffers.has(kept.buffer));
  assert.ok(!buffers.has(outside.buffer));
  // A function that throws gives nothing back.
  let lost: Float32Array | null = null;
  assert.throws(() =>
    withScratch(
      () => {
        lost = allocF32(n);
        throw new Error("boom");
      },
      () => [],
    ),
  );
  const after = allocF32(n, false);
  assert.notEqual(after.buffer, (lost as unknown as Float32Array).buffer);
});

test("pool: a request takes an idle buffer up to twice its size, not a larger one", () => {
  clearF32Pool();
  const big = allocF32(300_000, false);
  releaseF32(big);
  // 800 KB from an idle 1.2 MB buffer (two size classes up): no fresh memory.
  const fresh = freshF32Bytes();
  const smaller = allocF32(200_000, false);
  assert.equal(smaller.buffer, big.buffer);
  assert.equal(smaller.length, 200_000);
  assert.equal(freshF32Bytes(), fresh);
  releaseF32(smaller);
  // A third of it: fresh memory, the large buffer stays for a large request.
  const small = allocF32(100_000, false);
  assert.notEqual(small.buffer, big.buffer);
  assert.ok(freshF32Bytes() >= fresh + 400_000);
  assert.equal(allocF32(300_000, false).buffer, big.buffer);
});

test("an encoder without a tape gives each layer's intermediate values back as it goes", () => {
  // The fresh memory of one encoding through 2 and through 6 layers (an empty pool each time):
  // layer by layer, layers 2..6 reuse the first one's buffers and add only their outputs;
  // kept to the end, 6 layers would take about three times what 2 take.
  const batch = trainStepBatch(new Rng(5), 8, 32, 8, 200);
  const encode = (layers: number, grad: boolean) => {
    const config = resolveConfig({
      vocab_size: 200,
      d_model: 64,
      encoder_layers: layers,
      decoder_layers: 1,
      encoder_attention_heads: 4,
      decoder_attention_heads: 4,
      encoder_ffn_dim: 256,
      decoder_ffn_dim: 256,
      dropout: 0,
    });
    const model = new EncoderDecoderModel(config, 1);
    model.eval();
    clearF32Pool();
    const before = freshF32Bytes();
    const run = () =>
      withScratch(
        () => model.encode(batch.input_ids, batch.attention_mask as T.Tensor),
        (m) => [m.f32],
      );
    const memory = grad ? run() : noGrad(run);
    return { memory: Float32Array.from(memory.f32), fresh: freshF32Bytes() - before };
  };
  const two = encode(2, false);
  const six = encode(6, false);
  assert.ok(
    six.fresh < 1.6 * two.fresh,
    `6 layers took ${six.fresh} bytes of fresh memory, 2 layers ${two.fresh}`,
  );
  // The same values as with a tape, which keeps every intermediate value.
  const taped = encode(6, true);
  assert.ok(taped.fresh > 2 * two.fresh, "the taped encoding keeps what it computed");
  assert.deepEqual(six.memory, taped.memory);
});
