// The family a training run names (runFamily): a transformers config.json given with --config is
// its own family (a Llama config.json trains a llama model, not maskwise's decoder-only), as an
// --init-from directory's config is; a preset, a maskwise config.json or nothing leaves the
// job's default family; --arch and a resumed run's checkpoint come first.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { type RunDir, runFamily } from "../../src/node/train-run.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { tempDir } from "../helpers/tmp.js";

const HF = HF_REF;
/** Only `resume` is read by runFamily. */
const FRESH = { resume: false } as RunDir;
const CLM = { objective: "clm" };

test("--config <transformers config.json> names the config's family, pretraining or chat SFT", () => {
  for (const kind of ["llama", "qwen2", "mistral"]) {
    const config = join(HF, kind, "config.json");
    assert.equal(runFamily(FRESH, { model: config }, CLM, "pretrain").name, kind);
    assert.equal(runFamily(FRESH, { model: config }, { task: "chat" }, "train").name, kind);
  }
  // --config before --init-from: the model is built from --config (runModel).
  const both = { model: join(HF, "qwen2", "config.json"), "init-from": join(HF, "llama") };
  assert.equal(runFamily(FRESH, both, CLM, "pretrain").name, "qwen2");
});

test("--init-from alone, a preset, a maskwise config and nothing keep their families", () => {
  assert.equal(runFamily(FRESH, { "init-from": join(HF, "mistral") }, CLM, "p").name, "mistral");
  const preset = { model: "tiny", "init-from": join(HF, "llama") };
  assert.equal(runFamily(FRESH, preset, CLM, "p").name, "llama");
  assert.equal(runFamily(FRESH, { model: "tiny" }, CLM, "p").name, "decoder-only");
  const own = join(tempDir("run-family"), "config.json");
  writeFileSync(own, JSON.stringify({ d_model: 16, decoder_layers: 1 }));
  assert.equal(runFamily(FRESH, { model: own }, CLM, "p").name, "decoder-only");
  assert.equal(runFamily(FRESH, {}, CLM, "p").name, "decoder-only");
});

test("--arch and a resumed run come before --config; a family that cannot do the job is refused", () => {
  const llama = join(HF, "llama", "config.json");
  assert.equal(
    runFamily(FRESH, { model: llama, arch: "decoder-only" }, CLM, "p").name,
    "decoder-only",
  );
  assert.equal(
    runFamily({ resume: true } as RunDir, { model: llama }, CLM, "p").name,
    "decoder-only",
  );
  assert.throws(
    () => runFamily(FRESH, { model: llama }, { objective: "mlm" }, "maskwise pretrain"),
    (e: unknown) =>
      e instanceof MaskwiseError &&
      e.code === "E_ARG" &&
      /a llama model does not train on the objective 'mlm'/.test(e.message) &&
      (e.where ?? "").includes(llama),
  );
});
