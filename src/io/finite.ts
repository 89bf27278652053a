// Weights that are not finite (NaN, Infinity) are what a diverged run leaves behind; a model made
// of them decodes blank lines or garbage without any error, so they are refused where weights are
// saved (the trainer) and where they are loaded (model directories, --init-from, --resume).
import { MaskwiseError } from "../util/errors.js";

/** The first weight that is not finite: its tensor's name, its flat index and its value. */
export function firstNonFinite(
  named: Iterable<readonly [string, { readonly f32: Float32Array }]>,
): { name: string; index: number; value: number } | null {
  for (const [name, t] of named) {
    const w = t.f32;
    for (let i = 0; i < w.length; i++) {
      // x - x is 0 for every finite x and NaN otherwise: one comparison per weight.
      if (w[i] - w[i] !== 0) return { name, index: i, value: w[i] };
    }
  }
  return null;
}

/** Throws E_WEIGHTS naming the file and the tensor when a loaded weight is not finite. */
export function checkFiniteWeights(
  named: Iterable<readonly [string, { readonly f32: Float32Array }]>,
  source: string,
): void {
  const bad = firstNonFinite(named);
  if (bad) {
    throw new MaskwiseError(`${bad.name} holds ${bad.value} (element ${bad.index})`, {
      code: "E_WEIGHTS",
      where: source,
      hint: "the model diverged when it was trained; use an earlier checkpoint or train again with a lower --lr",
    });
  }
}
