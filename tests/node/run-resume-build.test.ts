// A resumed run's model is built for its checkpoint's load (runModel): no random weight is drawn
// only to be overwritten, and the model holds the checkpoint's weights exactly.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { buildModel, familyOf } from "../../src/models/registry.js";
import { saveModel } from "../../src/node/model-dir.js";
import { type RunDir, runModel } from "../../src/node/train-run.js";
import { Rng } from "../../src/util/rng.js";
import { TINY_CONFIG } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

test("--resume builds the model for its checkpoint: no weight drawn, the checkpoint's values", () => {
  const config = resolveConfig({ ...TINY_CONFIG, vocab_size: 40 });
  const saved = buildModel(config, 3);
  const out = tempDir("run-resume-build");
  const lastDir = join(out, "checkpoints", "last");
  mkdirSync(lastDir, { recursive: true });
  saveModel(lastDir, saved);
  const specials = ["<pad>", "<s>", "</s>", "<unk>"];
  const tok = { vocabSize: 40, tokenToId: (t: string) => specials.indexOf(t) };
  const run = { command: "train", out, lastDir, resume: true, saved: { seed: 3 } } as RunDir;

  const proto = Rng.prototype;
  const normal = proto.normal;
  let draws = 0;
  proto.normal = function (this: Rng) {
    draws++;
    return normal.call(this);
  };
  let model: ReturnType<typeof runModel>;
  try {
    model = runModel(run, {}, tok, familyOf(config), 7);
  } finally {
    proto.normal = normal;
  }
  assert.equal(draws, 0, "random draws while building a resumed model");
  const want = new Map(saved.namedParameters().map(([n, p]) => [n, p.f32]));
  for (const [name, p] of model.namedParameters())
    assert.deepEqual(p.f32, want.get(name), `parameter ${name}`);
});
