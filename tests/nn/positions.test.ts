// Sinusoidal positions: the cached table gives exactly the directly computed encodings, for -1
// (left padding), for positions that grow the table, beyond the table's range, and odd widths;
// a decoding step's scaled rows plus their encodings, read from the table in place, the same.
import assert from "node:assert/strict";
import { test } from "node:test";
import { addScaledSinusoids, sinusoidalPositions } from "../../src/nn/positions.js";
import { Tensor } from "../../src/tensor/tensor.js";

function direct(p: number, D: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < D; c++) {
    const angle = p * 10000 ** (-(2 * Math.floor(c / 2)) / D);
    out.push(Math.fround(c % 2 === 0 ? Math.sin(angle) : Math.cos(angle)));
  }
  return out;
}

test("sinusoidal positions equal the formula, through the table and without it", () => {
  for (const D of [7, 16, 256]) {
    for (const ps of [
      [-1, 0, 1, 5, 31],
      [200, -1, 3],
      [1000, 70000],
      [70000, -1],
    ]) {
      const y = sinusoidalPositions(new Tensor(Int32Array.from(ps), [1, ps.length]), D);
      assert.deepEqual(y.shape, [1, ps.length, D]);
      ps.forEach((p, r) => {
        assert.deepEqual(
          Array.from(y.f32.subarray(r * D, (r + 1) * D)),
          direct(p, D),
          `p=${p} D=${D}`,
        );
      });
    }
  }
});

test("position 0 is sin 0 = 0 and cos 0 = 1 on alternate channels", () => {
  const y = sinusoidalPositions(new Tensor(Int32Array.of(0), [1]), 6);
  assert.deepEqual(Array.from(y.f32), [0, 1, 0, 1, 0, 1]);
});

test("addScaledSinusoids: the scaled rows plus sinusoidalPositions' encodings, bit for bit", () => {
  const scale = Math.fround(Math.sqrt(256));
  for (const layout of ["interleaved", "halves"] as const) {
    for (const D of [7, 256]) {
      for (const ps of [[-1, 0, 3, 40], [7, 100_000, 2], [90_000]]) {
        const R = ps.length;
        const rows = Float32Array.from({ length: R * D }, (_, i) => Math.sin(i * 0.37) * 0.1);
        const pos = sinusoidalPositions(new Tensor(Int32Array.from(ps), [R]), D, layout).f32;
        const want = rows.map((v, i) => Math.fround(v * scale) + pos[i]);
        const got = Float32Array.from(rows);
        addScaledSinusoids(got, Int32Array.from(ps), D, scale, layout);
        assert.deepEqual(got, want, `${layout} D ${D} positions ${ps}`);
      }
    }
  }
});
