// bench/marian-size.ts measures the model the issue names: the marian family at opus-mt's size
// (d_model 512, 6 + 6 layers, vocabulary 58,101), and both sides read the same inputs.
import assert from "node:assert/strict";
import { test } from "node:test";
import { MARIAN_SIZE, makeInputs } from "../../bench/marian-size.js";
import { familyOf, resolveModelConfig } from "../../src/models/registry.js";

test("the benchmark's model is a Marian-size marian model", () => {
  const c = resolveModelConfig(MARIAN_SIZE, "marian-size");
  assert.equal(familyOf(c).name, "marian");
  assert.equal(c.d_model, 512);
  assert.equal(c.encoder_layers, 6);
  assert.equal(c.decoder_layers, 6);
  assert.equal(c.vocab_size, 58101);
  assert.equal(c.decoder_start_token_id, 58100);
});

test("the inputs: sources and labels end with eos, decoder inputs start from <pad>", () => {
  const x = makeInputs(3, 5);
  const V = MARIAN_SIZE.vocab_size;
  assert.equal(x.source.length, 32);
  assert.equal(x.new_tokens, 5);
  assert.equal(x.batch.input_ids.length, 3);
  for (const row of [x.source, ...x.batch.input_ids, ...x.batch.labels]) {
    assert.equal(row[row.length - 1], 0);
    assert.ok(row.slice(0, -1).every((id) => id >= 1 && id < V - 1));
  }
  x.batch.labels.forEach((l, r) => {
    assert.deepEqual(x.batch.decoder_input_ids[r], [58100, ...l.slice(0, -1)]);
  });
  // The same flags give the same inputs (both sides read one file, and reruns compare).
  assert.deepEqual(makeInputs(3, 5), x);
});
