// A model and a tokenizer that do not belong together are refused by name: a training run records
// its tokenizer's SHA-256 in model.safetensors (tokenizer_sha256), and translate, --resume and
// --init-from check it; a tokenizer with more ids than the model has embedding rows is refused
// naming both files (before: garbage from a same-sized one, an index error from a gather for a
// larger one).
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { saveTokenizer } from "../../src/node/model-dir.js";
import { safetensorsMetadata, tokenizerHash } from "../../src/node/training-setup.js";
import { trainTokenizer } from "../../src/tokenizer/index.js";
import { makeTinyModelDir, TINY_LINES } from "../helpers/tiny-model.js";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";

test("a tokenizer.json from another run is refused by translate, --resume and --init-from", () => {
  const { dir, flags } = tinyTranslation("belongs");
  const a = join(dir, "a");
  const b = join(dir, "b");
  const ta = maskwise(["train", ...flags, "--out", a, "--max-steps", "1"]);
  assert.equal(ta.status, 0, ta.stderr);
  // Another tokenizer of the same size: trained on the targets only.
  const tb = maskwise([
    ...["train", ...flags, "--out", b, "--max-steps", "1"],
    ...["--train-src", join(dir, "train.en"), "--valid-src", join(dir, "valid.en")],
  ]);
  assert.equal(tb.status, 0, tb.stderr);
  const best = join(a, "checkpoints", "best");
  const own = readFileSync(join(best, "tokenizer.json"), "utf8");
  assert.equal(
    safetensorsMetadata(join(best, "model.safetensors")).tokenizer_sha256,
    tokenizerHash(own),
  );
  const other = readFileSync(join(b, "checkpoints", "best", "tokenizer.json"), "utf8");
  assert.notEqual(other, own);

  // Reformatted by hand, the same tokenizer still belongs.
  writeFileSync(join(best, "tokenizer.json"), JSON.stringify(JSON.parse(own), null, 4));
  const fine = maskwise(["translate", "--model", best, "--beam", "1"], "ein hund\n");
  assert.equal(fine.status, 0, fine.stderr);

  for (const ckpt of ["best", "last"])
    copyFileSync(
      join(b, "checkpoints", ckpt, "tokenizer.json"),
      join(a, "checkpoints", ckpt, "tokenizer.json"),
    );
  const tr = maskwise(["translate", "--model", best], "ein hund\n");
  assert.equal(tr.status, 2, tr.stderr);
  assert.match(
    tr.stderr,
    /^maskwise: tokenizer\.json is not the tokenizer model\.safetensors was trained with \(.*\/checkpoints\/best\)/,
  );
  assert.equal(tr.stdout, "");
  const resumed = maskwise(["train", "--resume", "--out", a, "--max-steps", "2"]);
  assert.equal(resumed.status, 2, resumed.stderr);
  assert.match(resumed.stderr, /tokenizer\.json is not the tokenizer .* \(.*checkpoints\/last\)/);
  const init = maskwise(["train", ...flags, "--out", join(dir, "c"), "--init-from", best]);
  assert.equal(init.status, 2, init.stderr);
  assert.match(init.stderr, /tokenizer\.json is not the tokenizer .* \(.*checkpoints\/best\)/);
});

test("a tokenizer with more ids than the embedding is refused naming both files", () => {
  const dir = makeTinyModelDir();
  saveTokenizer(
    dir,
    trainTokenizer([...TINY_LINES, ...TINY_LINES.map((l) => l.toUpperCase())], { vocabSize: 200 }),
  );
  const r = maskwise(["translate", "--model", dir], "ein hund\n");
  assert.equal(r.status, 2, r.stderr);
  assert.match(
    r.stderr,
    /^maskwise: tokenizer\.json has \d+ tokens, more than the \d+ embedding rows of model\.safetensors \(/,
  );
});
