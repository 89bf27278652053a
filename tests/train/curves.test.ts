import assert from "node:assert/strict";
import { test } from "node:test";
import {
  curvesPng,
  curvesSvg,
  formatStep,
  MAX_POINTS,
  smooth,
  thin,
  tickLabels,
} from "../../src/train/curves.js";
import { collectSeries, parseMetricsJsonl } from "../../src/train/metrics-log.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { assertWellFormedSvg, decodePng, polylinePoints } from "../helpers/pictures.js";

function run(steps: number, evalEvery: number) {
  const recs: Record<string, unknown>[] = [];
  for (let s = 10; s <= steps; s += 10) {
    recs.push({ step: s, epoch: 0, loss: 5 - s / steps, lr: 1e-4 * s, tokens_per_s: 900 });
    if (s % evalEvery === 0)
      recs.push({ step: s, epoch: 0, valid_loss: 6 - s / steps, valid_ppl: 9, valid_bleu: s / 10 });
  }
  return recs;
}

test("curves SVG: well formed, one polyline per series with one point per logged step", () => {
  const svg = curvesSvg(run(200, 50), "my-run");
  assertWellFormedSvg(svg);
  assert.match(svg, /<title>my-run: training curves<\/title>/);
  assert.match(svg, />my-run</);
  for (const [series, n] of [
    ["loss", 20],
    ["loss (smoothed)", 20],
    ["valid_loss", 4],
    ["lr", 20],
    ["valid_bleu", 4],
  ] as const) {
    const lines = polylinePoints(svg, series);
    assert.equal(lines.length, 1, series);
    assert.equal(lines[0].length, n, series);
    for (const [x, y] of lines[0]) assert.ok(Number.isFinite(x) && Number.isFinite(y), series);
  }
  // Perplexity is the validation loss again: no panel of its own.
  assert.equal(polylinePoints(svg, "valid_ppl").length, 0);
  // Axis labels and panel titles.
  for (const t of [
    "training loss",
    "validation loss",
    "learning rate",
    "validation BLEU",
    ">step<",
  ])
    assert.ok(svg.includes(t), t);
  // x grows with the step, and a lower loss is drawn higher up (y grows downward).
  const loss = polylinePoints(svg, "loss")[0];
  for (let i = 1; i < loss.length; i++) {
    assert.ok(loss[i][0] > loss[i - 1][0]);
    assert.ok(loss[i][1] > loss[i - 1][1]);
  }
});

test("curves: each validation metric present gets its own panel", () => {
  const svg = curvesSvg(
    [
      { step: 5, loss: 3, lr: 1e-3 },
      {
        step: 5,
        valid_loss: 3.5,
        valid_rouge1: 20,
        valid_rouge2: 8,
        valid_rougeL: 18,
        valid_mlm_accuracy: 0.4,
      },
      {
        step: 9,
        valid_loss: 3.1,
        valid_rouge1: 22,
        valid_rouge2: 9,
        valid_rougeL: 19,
        valid_mlm_accuracy: 0.45,
      },
    ],
    "r",
  );
  assertWellFormedSvg(svg);
  for (const k of ["valid_rouge1", "valid_rouge2", "valid_rougeL", "valid_mlm_accuracy"]) {
    assert.equal(polylinePoints(svg, k)[0].length, 2, k);
  }
  for (const t of ["ROUGE-1", "ROUGE-2", "ROUGE-L", "MLM accuracy"]) assert.ok(svg.includes(t), t);
  assert.equal(polylinePoints(svg, "valid_bleu").length, 0);
});

test("curves: a single record, missing fields, NaN/Infinity and nothing at all", () => {
  const one = curvesSvg([{ step: 1, epoch: 0, loss: 2.5 }], "one");
  assertWellFormedSvg(one);
  assert.equal(polylinePoints(one, "loss")[0].length, 1);
  assert.match(one, /<circle data-series="loss"/); // a lone point still shows
  assert.ok(one.includes("no data yet")); // validation loss and lr panels
  // JSON turns NaN and Infinity into null; records may also carry strings or nothing.
  const odd = curvesSvg(
    [
      { step: 1, loss: null, lr: 1e-3 },
      { step: 2, loss: Number.NaN },
      { step: 3, loss: Number.POSITIVE_INFINITY },
      { step: 4, loss: 2 },
      { step: 5, loss: "3" },
      { loss: 1 },
      { step: 6, loss: 1.5 },
    ],
    "odd",
  );
  assertWellFormedSvg(odd);
  assert.equal(polylinePoints(odd, "loss")[0].length, 2);
  assert.ok(!odd.includes("NaN") && !odd.includes("Infinity"));
  const empty = curvesSvg([], "empty");
  assertWellFormedSvg(empty);
  assert.equal(polylinePoints(empty, "loss").length, 0);
});

test("curves: a resumed run keeps the last value logged for a step", () => {
  const recs = [
    { step: 10, loss: 4 },
    { step: 20, loss: 3.9 },
    { step: 30, loss: 3.8 },
    // resumed from the checkpoint of step 10
    { step: 20, loss: 3.5 },
    { step: 30, loss: 3.4 },
    { step: 40, loss: 3.3 },
  ];
  const s = collectSeries(recs).get("loss");
  assert.deepEqual(s, [
    [10, 4],
    [20, 3.5],
    [30, 3.4],
    [40, 3.3],
  ]);
  assert.equal(polylinePoints(curvesSvg(recs, "r"), "loss")[0].length, 4);
});

test("curves: long runs are thinned to at most MAX_POINTS, keeping the extremes", () => {
  const pts: [number, number][] = Array.from({ length: 50_000 }, (_, i) => [i, Math.sin(i)]);
  pts[31_337][1] = 9;
  const t = thin(pts);
  assert.ok(t.length <= MAX_POINTS);
  assert.ok(t.some((p) => p[1] === 9));
  assert.deepEqual(t[0], pts[0]);
  assert.deepEqual(t.at(-1), pts.at(-1));
  for (let i = 1; i < t.length; i++) assert.ok(t[i][0] > t[i - 1][0]);
  // A whole long log through the chart: nothing spreads 300k values into one call.
  const long = Array.from({ length: 300_000 }, (_, i) => ({
    step: i + 1,
    loss: 5 - i / 1e5,
    lr: 1e-4,
  }));
  const svg = curvesSvg(long, "long");
  assert.ok(polylinePoints(svg, "loss")[0].length <= MAX_POINTS);
  const short: [number, number][] = [[1, 2]];
  assert.equal(thin(short), short);
});

test("smooth: a constant stays constant (debiased), the result has one point per input", () => {
  const flat: [number, number][] = Array.from({ length: 100 }, (_, i) => [i, 3]);
  for (const [, v] of smooth(flat)) assert.ok(Math.abs(v - 3) < 1e-12);
  const steps: [number, number][] = Array.from({ length: 100 }, (_, i) => [i, i < 50 ? 0 : 1]);
  const sm = smooth(steps);
  assert.equal(sm.length, 100);
  assert.ok(sm[60][1] > 0 && sm[60][1] < 1);
});

test("tick labels: digits follow the spacing; one form per axis; steps in k", () => {
  assert.deepEqual(tickLabels([0.1, 0.2, 0.30000000000000004], 0.1), ["0.1", "0.2", "0.3"]);
  assert.deepEqual(tickLabels([1.5, 2, 2.5], 0.5), ["1.5", "2.0", "2.5"]);
  assert.deepEqual(tickLabels([10, 15, 20], 5), ["10", "15", "20"]);
  // A learning-rate axis: exponent form throughout, even for 1e-3 itself.
  assert.deepEqual(tickLabels([2e-4, 4e-4, 6e-4, 8e-4, 1e-3], 2e-4), [
    "2e-4",
    "4e-4",
    "6e-4",
    "8e-4",
    "1e-3",
  ]);
  assert.deepEqual(tickLabels([2.5e-4, 3e-4], 5e-5), ["2.5e-4", "3e-4"]);
  assert.deepEqual(tickLabels([-1e-20, 1], 0.5), ["0", "1.0"]);
  assert.deepEqual(tickLabels([2e6, 3e6], 1e6), ["2e6", "3e6"]);
  assert.equal(formatStep(500), "500");
  assert.equal(formatStep(12000), "12k");
  assert.equal(formatStep(12500), "12500");
});

test("curves PNG: valid chunks and CRCs, inflates to the IHDR size, same bytes every time", () => {
  const recs = run(300, 100);
  const png = curvesPng(recs, "my-run");
  const { width, height, raw } = decodePng(png);
  assert.equal(width, 960);
  assert.ok(height > 200);
  assert.equal(raw.length, height * (1 + width * 3));
  for (let y = 0; y < height; y++) assert.ok(raw[y * (1 + width * 3)] <= 2, "filter type");
  assert.ok(png.length < raw.length / 10, `compressed: ${png.length} of ${raw.length}`);
  assert.deepEqual(curvesPng(recs, "my-run"), png);
  assert.notDeepEqual(curvesPng(run(300, 50), "my-run"), png);
});

test("parseMetricsJsonl: blank lines skipped; a bad line names the file and the line", () => {
  assert.deepEqual(parseMetricsJsonl('{"step":1}\n\n{"step":2}\n', "m.jsonl"), [
    { step: 1 },
    { step: 2 },
  ]);
  for (const bad of ['{"step":1}\n{"step":2,\n', '{"step":1}\n[1,2]\n', '{"step":1}\n42\n']) {
    assert.throws(
      () => parseMetricsJsonl(bad, "runs/x/metrics.jsonl"),
      (e: unknown) => e instanceof MaskwiseError && e.where === "runs/x/metrics.jsonl:2",
    );
  }
});
