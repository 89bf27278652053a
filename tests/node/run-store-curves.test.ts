import assert from "node:assert/strict";
import { appendFileSync, existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DirectoryStore, readMetrics } from "../../src/node/run-store.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { assertWellFormedSvg, decodePng, polylinePoints } from "../helpers/pictures.js";
import { tempDir } from "../helpers/tmp.js";

const fresh = () => join(tempDir("store"), "run-a");

test("DirectoryStore draws curves.svg and curves.png when an evaluation line is appended", () => {
  const dir = fresh();
  const store = new DirectoryStore(dir);
  for (let s = 1; s <= 3; s++)
    store.appendMetrics({ step: s, epoch: 0, loss: 4 - s / 10, lr: 1e-4 });
  assert.ok(!existsSync(join(dir, "curves.svg")), "training lines alone draw nothing");
  store.appendMetrics({ step: 3, epoch: 0, valid_loss: 4.2, valid_ppl: 66, valid_bleu: 1.5 });
  const svg = readFileSync(join(dir, "curves.svg"), "utf8");
  assertWellFormedSvg(svg);
  assert.match(svg, />run-a</); // titled with the run directory's name
  assert.equal(polylinePoints(svg, "loss")[0].length, 3);
  assert.equal(polylinePoints(svg, "valid_bleu")[0].length, 1);
  const png = decodePng(readFileSync(join(dir, "curves.png")));
  assert.equal(png.width, 960);
  // Written atomically: no temporary files are left behind.
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.startsWith(".")),
    [],
  );

  // The next evaluation redraws with everything logged since.
  store.appendMetrics({ step: 4, epoch: 0, loss: 3.5, lr: 1e-4 });
  store.appendMetrics({ step: 4, epoch: 0, valid_loss: 4.0, valid_ppl: 55, valid_bleu: 2 });
  const svg2 = readFileSync(join(dir, "curves.svg"), "utf8");
  assert.equal(polylinePoints(svg2, "loss")[0].length, 4);
  assert.equal(polylinePoints(svg2, "valid_loss")[0].length, 2);
});

test("DirectoryStore continues the log of a resumed run; finish() draws the lines since the last evaluation", () => {
  const dir = fresh();
  const first = new DirectoryStore(dir);
  first.appendMetrics({ step: 1, loss: 3, lr: 1e-3 });
  first.appendMetrics({ step: 2, loss: 2.9, lr: 1e-3 });
  // A run killed while writing leaves a cut line; training goes on, the chart skips it.
  appendFileSync(join(dir, "metrics.jsonl"), '{"step":3,"lo\n');
  const resumed = new DirectoryStore(dir);
  resumed.appendMetrics({ step: 2, loss: 2.5, lr: 1e-3 }); // logged again after the resume
  resumed.appendMetrics({ step: 3, loss: Number.NaN, lr: 1e-3 });
  resumed.finish();
  const svg = readFileSync(join(dir, "curves.svg"), "utf8");
  assert.equal(polylinePoints(svg, "loss")[0].length, 2); // steps 1 and 2 (NaN is skipped)
  assert.equal(polylinePoints(svg, "lr")[0].length, 3);
  assert.ok(existsSync(join(dir, "curves.png")));
  // readMetrics (what `maskwise plot` uses) is strict and names the line.
  assert.throws(
    () => readMetrics(dir),
    (e: unknown) => e instanceof MaskwiseError && e.where === `${join(dir, "metrics.jsonl")}:3`,
  );
});

test("finish() on an empty run writes nothing", () => {
  const dir = fresh();
  new DirectoryStore(dir).finish();
  assert.ok(!existsSync(join(dir, "curves.svg")));
});
