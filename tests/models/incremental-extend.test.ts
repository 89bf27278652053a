// A decoder-only KV cache extended by several tokens at once (a conversation's next turn), or cut
// back first, gives the logits a fresh decoder over the whole sequence gives (transformers'
// GPT-2 case, both backends).
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import type { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { DecoderOnlyIncremental } from "../../src/models/incremental.js";
import { loadModel } from "../../src/node/model-dir.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { forEachBackend } from "../helpers/backends.js";
import { HF_REF } from "../helpers/hf-ref.js";

const seq = [5, 9, 13, 2, 40, 41, 7, 33, 12, 60, 1, 18];

function fresh(model: DecoderOnlyModel, ids: readonly number[]): Float32Array {
  const P = ids.length;
  const d = new DecoderOnlyIncremental(
    model,
    new Tensor(Int32Array.from(ids), [1, P]),
    new Tensor(new Int32Array(P).fill(1), [1, P]),
  );
  return Float32Array.from(d.next(Int32Array.of(0)));
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

forEachBackend("DecoderOnlyIncremental extend and truncate", () => {
  const model = loadModel(join(HF_REF, "gpt2")) as DecoderOnlyModel;

  test("prompt, steps, a chunk, a cut and another chunk match fresh decoders", () => {
    const d = new DecoderOnlyIncremental(
      model,
      new Tensor(Int32Array.from(seq.slice(0, 4)), [1, 4]),
      new Tensor(new Int32Array(4).fill(1), [1, 4]),
    );
    d.next(Int32Array.of(0));
    // Two single steps, then four tokens at once.
    d.next(Int32Array.of(seq[4]));
    const afterStep = Float32Array.from(d.next(Int32Array.of(seq[5])));
    assert.ok(maxDiff(afterStep, fresh(model, seq.slice(0, 6))) < 1e-5);
    d.extend([seq.slice(6, 10)]);
    assert.equal(d.length, 10);
    assert.ok(
      maxDiff(Float32Array.from(d.next(Int32Array.of(0))), fresh(model, seq.slice(0, 10))) < 1e-5,
    );
    // Cut back to 7 and go another way.
    d.truncate(7);
    const other = [...seq.slice(0, 7), 3, 4, 8];
    d.extend([other.slice(7)]);
    const got = Float32Array.from(d.next(Int32Array.of(0)));
    assert.ok(maxDiff(got, fresh(model, other)) < 1e-5, `${maxDiff(got, fresh(model, other))}`);
    // And a step after the chunk.
    const step = Float32Array.from(d.next(Int32Array.of(11)));
    assert.ok(maxDiff(step, fresh(model, [...other, 11])) < 1e-5);
  });
});
