// The files every checkpoint of a training run carries beside its weights, for the three kinds
// of run tokenizer (one maskwise trained or was given, a transformers directory's, a chat
// model's): the tokenizer's files as they were, and the generation_config.json of the directory
// the run started from when it has one (never one made up when it has none).
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { chatCheckpointFiles } from "../../src/node/chat-data.js";
import {
  pretrainedCheckpointHooks,
  readPretrainedRunTokenizer,
} from "../../src/node/pretrained-run-tokenizer.js";
import {
  tokenizerCheckpointHooks,
  tokenizerHash,
  withGenerationConfig,
} from "../../src/node/training-setup.js";
import { trainTokenizer } from "../../src/tokenizer/index.js";
import { QWEN_DIR } from "../helpers/chat-tokenizers.js";
import { tempDir } from "../helpers/tmp.js";

const GENERATION = '{"num_beams": 4, "max_length": 64}\n';

/** A directory with a chat tokenizer's files and, when asked, a generation_config.json. */
function modelDir(withGeneration: boolean): string {
  const dir = tempDir("ckpt-files");
  for (const f of ["tokenizer.json", "tokenizer_config.json"])
    copyFileSync(join(QWEN_DIR, f), join(dir, f));
  if (withGeneration) writeFileSync(join(dir, "generation_config.json"), GENERATION);
  return dir;
}

test("withGenerationConfig adds the start directory's generation_config.json, as it is", () => {
  const files = { "tokenizer.json": "{}" };
  assert.deepEqual(withGenerationConfig(files, modelDir(true)), {
    "tokenizer.json": "{}",
    "generation_config.json": GENERATION,
  });
  assert.deepEqual(withGenerationConfig(files, modelDir(false)), files);
  assert.deepEqual(withGenerationConfig(files, undefined), files);
  // The caller's record stays as it was.
  assert.deepEqual(Object.keys(files), ["tokenizer.json"]);
});

test("the three kinds of run tokenizer carry their files and the generation settings", () => {
  const from = modelDir(true);
  const json = readFileSync(join(from, "tokenizer.json"), "utf8");

  const chat = chatCheckpointFiles(from, from);
  assert.equal(chat.extraFiles["tokenizer.json"], json);
  assert.equal(chat.extraFiles["generation_config.json"], GENERATION);
  assert.equal(chat.weightsMetadata.tokenizer_sha256, tokenizerHash(json));
  assert.equal(chatCheckpointFiles(from).extraFiles["generation_config.json"], undefined);

  const pretrained = pretrainedCheckpointHooks(readPretrainedRunTokenizer(from), from);
  assert.deepEqual(Object.keys(pretrained.extraFiles).sort(), [
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
  ]);
  assert.equal(pretrained.extraFiles["generation_config.json"], GENERATION);
  assert.equal(Buffer.from(pretrained.extraFiles["tokenizer.json"]).toString("utf8"), json);

  const tok = trainTokenizer(["a b c", "b c d"], { vocabSize: 40 });
  const own = tokenizerCheckpointHooks(tok, from);
  assert.equal(own.extraFiles["generation_config.json"], GENERATION);
  assert.equal(
    own.weightsMetadata.tokenizer_sha256,
    tokenizerHash(own.extraFiles["tokenizer.json"]),
  );
  assert.deepEqual(Object.keys(tokenizerCheckpointHooks(tok, modelDir(false)).extraFiles), [
    "tokenizer.json",
  ]);
});
