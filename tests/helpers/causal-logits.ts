// The logits [1, T, V] of a decoder-only model on one unpadded row of ids, in eval mode, as a
// plain array: what tests comparing two builds of one model look at.
import type { LMBatch } from "../../src/models/decoder-only.js";
import type { FamilyModel } from "../../src/models/family.js";
import { noGrad } from "../../src/tensor/index.js";
import { Tensor } from "../../src/tensor/tensor.js";

export function causalLogits(model: FamilyModel, ids: readonly number[]): Float32Array {
  model.eval();
  const lm = model as unknown as { forward(b: LMBatch): { logits: Tensor } };
  return noGrad(
    () =>
      lm.forward({
        input_ids: new Tensor(Int32Array.from(ids), [1, ids.length]),
        attention_mask: new Tensor(new Int32Array(ids.length).fill(1), [1, ids.length]),
      }).logits,
  ).f32.slice();
}
