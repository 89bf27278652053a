// `maskwise serve` inspects encoder-decoder models only: a decoder-only or encoder-only model
// directory is refused with one line naming the directory and the kind it supports.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { saveModel } from "../../src/node/model-dir.js";
import { startServer } from "../../src/node/server.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const small = {
  vocab_size: 20,
  d_model: 8,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 16,
  decoder_ffn_dim: 16,
};

test("serve refuses a decoder-only model directory in one line", async () => {
  const dir = tempDir("serve-lm");
  saveModel(dir, new DecoderOnlyModel(resolveConfig({ ...small, maskwise_arch: "decoder-only" })));
  await assert.rejects(
    startServer({ modelDir: dir, host: "127.0.0.1", port: 0 }),
    (e: unknown) =>
      e instanceof MaskwiseError &&
      e.where === dir &&
      /encoder-decoder models only; this is a decoder-only model/.test(e.message),
  );
  const r = spawnSync(process.execPath, [bin, "serve", "--model", dir, "--port", "0"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].includes(dir), lines[0]);
  assert.match(lines[0], /encoder-decoder models only/);
  assert.match(lines[0], /maskwise generate/);
});

test("serve refuses an encoder-only model directory, reading no more than its config", async () => {
  const dir = tempDir("serve-mlm");
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify({ ...small, maskwise_arch: "encoder-only" }),
  );
  await assert.rejects(
    startServer({ modelDir: dir, host: "127.0.0.1", port: 0 }),
    (e: unknown) =>
      e instanceof MaskwiseError &&
      e.where === dir &&
      /this is an encoder-only model/.test(e.message),
  );
});
