// The browser-safe core (src/core.ts) offers the chart builder: a page can turn the lines of a
// run's metrics.jsonl into the same curves.svg and curves.png a run directory keeps.
import assert from "node:assert/strict";
import { test } from "node:test";
import { train } from "../../src/core.js";
import { curvesSvg } from "../../src/train/curves.js";
import { decodePng } from "../helpers/pictures.js";

test("core.train draws curves from metrics.jsonl text", () => {
  const text = [
    { step: 1, epoch: 0, loss: 3, lr: 1e-4 },
    { step: 2, epoch: 0, loss: 2.5, lr: 2e-4 },
    { step: 2, epoch: 0, valid_loss: 2.7 },
  ]
    .map((r) => JSON.stringify(r))
    .join("\n");
  const records = train.parseMetricsJsonl(text, "metrics.jsonl");
  assert.equal(records.length, 3);
  assert.deepEqual(train.collectSeries(records).get("valid_loss"), [[2, 2.7]]);
  const svg = train.curvesSvg(records, "run");
  assert.equal(svg, curvesSvg(records, "run"));
  assert.match(svg, /^<svg/);
  assert.equal(decodePng(train.curvesPng(records, "run")).width, 960);
  assert.ok(train.curvesScene(records, "run").width > 0);
  assert.equal(typeof train.continuePrompts, "function");
});
