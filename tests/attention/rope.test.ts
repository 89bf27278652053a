// Rotary position embeddings (src/attention/rope.ts): the rotate-half layout transformers uses
// (channel i pairs with i + Dh/2), written out by hand for one head; scores that depend on
// positions only through their difference; the gradient against finite differences (and with a
// gradient already accumulated); the step path equal to the tensor path; and the inverse
// frequencies of the default, linear and llama3 rope types from their definitions.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rope, ropeInverseFrequencies } from "../../src/attention/rope.js";
import { add, intTensor, noGrad, Tensor } from "../../src/tensor/index.js";
import { Rng } from "../../src/util/rng.js";
import { gradcheck, randomTensor } from "../helpers/gradcheck.js";

describe("rotary embeddings", () => {
  test("rotate-half layout: y = x cos + rotate_half(x) sin with cos/sin = cat(freqs, freqs)", () => {
    const Dh = 6;
    const rope = new Rope(Dh, { rope_type: "default", rope_theta: 100 });
    const rng = new Rng(1);
    const x = randomTensor([2, Dh], rng);
    const positions = intTensor([3, 7], [2]);
    const y = noGrad(() => rope.apply(x, positions, 1));
    for (let t = 0; t < 2; t++) {
      const p = positions.i32[t];
      const row = Array.from(x.f32.subarray(t * Dh, (t + 1) * Dh));
      // rotate_half(x) = cat(-x[d/2:], x[:d/2])
      const rot = [...row.slice(Dh / 2).map((v) => -v), ...row.slice(0, Dh / 2)];
      for (let i = 0; i < Dh; i++) {
        const freq = 1 / 100 ** ((2 * (i % (Dh / 2))) / Dh);
        const want = row[i] * Math.cos(p * freq) + rot[i] * Math.sin(p * freq);
        assert.ok(Math.abs(y.f32[t * Dh + i] - want) < 1e-5, `[${t}, ${i}]`);
      }
    }
  });

  test("q . k depends on positions only through their difference", () => {
    const Dh = 8;
    const rope = new Rope(Dh, { rope_type: "default", rope_theta: 10000 });
    const rng = new Rng(2);
    const q = randomTensor([1, Dh], rng);
    const k = randomTensor([1, Dh], rng);
    const score = (pq: number, pk: number) => {
      const a = rope.apply(q, intTensor([pq], [1]), 1).f32;
      const b = rope.apply(k, intTensor([pk], [1]), 1).f32;
      let s = 0;
      for (let i = 0; i < Dh; i++) s += a[i] * b[i];
      return s;
    };
    noGrad(() => {
      assert.ok(Math.abs(score(5, 2) - score(13, 10)) < 1e-4);
      assert.ok(Math.abs(score(0, 0) - score(40, 40)) < 1e-4);
      assert.ok(Math.abs(score(5, 2) - score(5, 3)) > 1e-3, "a different offset differs");
    });
  });

  test("gradient against finite differences, several heads, a left-padding position", () => {
    const rope = new Rope(4, { rope_type: "default", rope_theta: 50 });
    const rng = new Rng(3);
    const positions = intTensor([0, 1, 5, -1, 2, 9], [2, 3]);
    gradcheck("rope", (x) => rope.apply(x, positions, 3), [randomTensor([2, 3, 12], rng)], {
      h: 1e-2,
      samples: 72,
    });
    // Two uses of one input (3 heads of 4, one head of 12): the second gradient adds to the first.
    const wide = new Rope(12, { rope_type: "linear", rope_theta: 50, factor: 2 });
    gradcheck(
      "rope twice",
      (x) => add(rope.apply(x, positions, 3), wide.apply(x, positions, 1)),
      [randomTensor([2, 3, 12], rng)],
      { h: 1e-2, samples: 72 },
    );
  });

  test("the step path turns rows in place as the tensor path does", () => {
    const rope = new Rope(8, {
      rope_type: "llama3",
      rope_theta: 500000,
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 16,
    });
    const rng = new Rng(4);
    const x = randomTensor([3, 16], rng);
    const positions = Int32Array.of(0, 70, 3);
    const want = noGrad(() => rope.apply(x, new Tensor(positions, [3]), 2)).f32;
    const got = x.f32.slice();
    rope.into(got, positions, 3, 2);
    assert.deepEqual(got, want);
  });

  test("inverse frequencies of the default, linear and llama3 types", () => {
    const Dh = 16;
    const base = ropeInverseFrequencies(Dh, { rope_type: "default", rope_theta: 10000 });
    base.forEach((f, i) => {
      assert.ok(Math.abs(f - 1 / 10000 ** ((2 * i) / Dh)) <= 1e-7 * (1 / 10000 ** ((2 * i) / Dh)));
    });
    const linear = ropeInverseFrequencies(Dh, {
      rope_type: "linear",
      rope_theta: 10000,
      factor: 4,
    });
    linear.forEach((f, i) => {
      assert.ok(Math.abs(f - base[i] / 4) <= 1e-6 * base[i]);
    });
    // llama3 with a context of 64: wavelengths above 64 / low are divided by the factor, those
    // below 64 / high kept, the band between blended.
    const p = {
      rope_type: "llama3" as const,
      rope_theta: 10000,
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 64,
    };
    const l3 = ropeInverseFrequencies(Dh, p);
    let kept = 0;
    let scaled = 0;
    let blended = 0;
    base.forEach((f, i) => {
      const wavelen = (2 * Math.PI) / f;
      let want: number;
      if (wavelen < 64 / 4) {
        want = f;
        kept++;
      } else if (wavelen > 64 / 1) {
        want = f / 8;
        scaled++;
      } else {
        const s = (64 / wavelen - 1) / (4 - 1);
        want = (1 - s) * (f / 8) + s * f;
        blended++;
      }
      assert.ok(Math.abs(l3[i] - want) <= 1e-6 * want, `inv_freq[${i}] ${l3[i]} vs ${want}`);
    });
    assert.ok(kept > 0 && scaled > 0 && blended > 0, `${kept} kept, ${scaled} scaled, ${blended}`);
  });

  test("an odd head width is refused", () => {
    assert.throws(() => new Rope(5, { rope_type: "default", rope_theta: 10 }), /even head width/);
  });
});
