// What the attention-on-rows tests share: the kept-row layouts (queries in 3 batch rows of 5
// positions: right padding, left padding, a hole; keys in 3 rows of 4) and a run that returns an
// attention's output and its inputs' gradients.
import { Unpadded } from "../../src/attention/unpadded.js";
import * as T from "../../src/tensor/index.js";

export const qMask = T.intTensor([1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 0], [3, 5]);
export const kMask = T.intTensor([1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1], [3, 4]);
export const qRows = Unpadded.of(qMask) as Unpadded;
export const kRows = Unpadded.of(kMask) as Unpadded;

/**
 * The output of attend(q, k, v, bias) and the gradients of q, k, v (and the bias) of
 * sum(out * w), on copies of `inputs`, with fresh gradients or with existing ones added to.
 */
export function outputAndGradients(
  attend: (q: T.Tensor, k: T.Tensor, v: T.Tensor, bias: T.Tensor | null) => T.Tensor,
  inputs: T.Tensor[],
  w: T.Tensor,
  existing: boolean,
): Float32Array[] {
  const leaves = inputs.map((x) => new T.Tensor(x.f32.slice(), x.shape, true));
  if (existing)
    for (const x of leaves)
      x.grad = new T.Tensor(
        x.f32.map((_, i) => i * 0.01),
        x.shape,
      );
  const [q, k, v, bias] = leaves;
  const out = attend(q, k, v, bias ?? null);
  T.backward(T.sum(T.mul(out, w)));
  return [out.f32, ...leaves.map((x) => (x.grad as T.Tensor).f32)];
}
