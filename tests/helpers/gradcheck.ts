// Finite-difference gradient checks. The loss is L = sum_i f(inputs)_i * w_i with fixed random
// weights w (so every output element matters, each differently), summed in float64 so the only
// float32 rounding is inside f. Central differences with step h; inputs are chosen by the caller
// away from kinks (relu at 0, max ties).
import assert from "node:assert/strict";
import { backward, mul, noGrad, sum, Tensor, tensor } from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";

export function randomTensor(shape: number[], rng: Rng, scale = 1, awayFromZero = 0): Tensor {
  const n = shape.reduce((p, s) => p * s, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = rng.normal() * scale;
    if (awayFromZero > 0 && Math.abs(v) < awayFromZero)
      v = v < 0 ? -awayFromZero - rng.uniform() * 0.1 : awayFromZero + rng.uniform() * 0.1;
    data[i] = v;
  }
  return new Tensor(data, shape);
}

export interface GradcheckOptions {
  h?: number;
  atol?: number;
  rtol?: number;
  /** Check at most this many elements per input (chosen at random). */
  samples?: number;
  seed?: number;
}

export function gradcheck(
  name: string,
  f: (...xs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradcheckOptions = {},
): void {
  const { h = 1e-2, atol = 5e-3, rtol = 2e-2, samples = 24, seed = 1 } = options;
  const rng = new Rng(seed);
  const leaves = inputs.map((x) => (x.dtype === "float32" ? new Tensor(x.f32, x.shape, true) : x));
  const out = f(...leaves);
  const w = new Float32Array(out.size);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal();
  const loss = sum(mul(out, new Tensor(w, out.shape)));
  backward(loss);

  const lossAt = (): number => {
    const y = f(...leaves.map((x) => (x.dtype === "float32" ? new Tensor(x.f32, x.shape) : x)));
    let s = 0;
    for (let i = 0; i < y.size; i++) s += y.data[i] * w[i];
    return s;
  };
  leaves.forEach((x, xi) => {
    if (x.dtype !== "float32") return;
    assert.ok(x.grad, `${name}: input ${xi} got no gradient`);
    const picks =
      x.size <= samples
        ? [...Array(x.size).keys()]
        : Array.from({ length: samples }, () => rng.int(x.size));
    for (const i of picks) {
      const orig = x.f32[i];
      x.f32[i] = orig + h;
      const up = lossAt();
      x.f32[i] = orig - h;
      const down = lossAt();
      x.f32[i] = orig;
      const numeric = (up - down) / (2 * h);
      const analytic = x.grad.f32[i];
      const tol = atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic));
      assert.ok(
        Math.abs(numeric - analytic) <= tol,
        `${name}: d/d input${xi}[${i}] analytic ${analytic} vs numeric ${numeric}`,
      );
    }
  });
}

/**
 * The gradient a scalar `loss` leaves in a model's parameter `param` against central finite
 * differences of the same loss (recomputed without the tape) as that parameter's elements move.
 */
export function gradcheckParameter(
  name: string,
  loss: () => Tensor,
  param: Tensor,
  options: GradcheckOptions = {},
): void {
  const { h = 1e-2, atol = 5e-3, rtol = 2e-2, samples = 24, seed = 1 } = options;
  const rng = new Rng(seed);
  param.grad?.f32.fill(0);
  backward(loss());
  const grad = param.grad;
  assert.ok(grad, `${name}: no gradient`);
  const value = () => noGrad(() => loss().item());
  const picks =
    param.size <= samples
      ? [...Array(param.size).keys()]
      : Array.from({ length: samples }, () => rng.int(param.size));
  for (const i of picks) {
    const orig = param.f32[i];
    param.f32[i] = orig + h;
    const up = value();
    param.f32[i] = orig - h;
    const down = value();
    param.f32[i] = orig;
    const numeric = (up - down) / (2 * h);
    const analytic = grad.f32[i];
    const tol = atol + rtol * Math.max(Math.abs(numeric), Math.abs(analytic));
    assert.ok(
      Math.abs(numeric - analytic) <= tol,
      `${name}[${i}]: analytic ${analytic} vs numeric ${numeric}`,
    );
  }
}

export { tensor };
