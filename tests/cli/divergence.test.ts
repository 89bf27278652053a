// A diverging run (--lr 1e6) fails with one clear line and exit status 1 instead of logging null
// losses, exiting 0 and leaving NaN weights in checkpoints/best; a model directory whose weights
// are not finite is refused by name instead of translating to blank lines.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors, serializeSafetensors } from "../../src/io/safetensors.js";
import { makeTinyModelDir } from "../helpers/tiny-model.js";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", input, timeout: 120_000 });

const finite = (file: string) => {
  for (const t of parseSafetensors(readFileSync(file), file).tensors.values())
    for (const x of t.data) if (!Number.isFinite(x)) return false;
  return true;
};

test("train --lr 1e6 stops with 'training diverged', exit 1, and no NaN checkpoint", () => {
  const dir = tempDir("diverge");
  const src = ["ein hund läuft", "eine katze schläft", "zwei hunde spielen", "ein mann liest"];
  const tgt = ["a dog runs", "a cat sleeps", "two dogs play", "a man reads"];
  writeFileSync(join(dir, "s"), `${src.join("\n")}\n`);
  writeFileSync(join(dir, "t"), `${tgt.join("\n")}\n`);
  writeFileSync(
    join(dir, "m.json"),
    JSON.stringify({
      d_model: 16,
      encoder_layers: 1,
      decoder_layers: 1,
      encoder_attention_heads: 2,
      decoder_attention_heads: 2,
      encoder_ffn_dim: 32,
      decoder_ffn_dim: 32,
    }),
  );
  const out = join(dir, "run");
  const r = run([
    ...["train", "--task", "translation", "--model", join(dir, "m.json"), "--vocab-size", "50"],
    ...["--train-src", join(dir, "s"), "--train-tgt", join(dir, "t")],
    ...["--valid-src", join(dir, "s"), "--valid-tgt", join(dir, "t"), "--out", out],
    ...["--max-steps", "40", "--eval-every", "2", "--max-tokens", "24", "--bleu-sample", "1"],
    ...["--lr", "1e6", "--warmup", "1"],
  ]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /^maskwise: training diverged: .*--lr/m);
  assert.equal(r.stdout, "", "no summary line for a failed run");
  for (const name of ["best", "last"]) {
    const f = join(out, "checkpoints", name, "model.safetensors");
    if (existsSync(f)) assert.ok(finite(f), `checkpoints/${name} is finite`);
  }
  const lines = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n");
  const records = lines.map((l) => JSON.parse(l));
  assert.ok(records.some((m) => "skipped_update" in m));
  for (const m of records.filter((x) => "loss" in x)) assert.equal(typeof m.loss, "number");
});

test("translate refuses a model whose weights are not finite, naming the file and tensor", () => {
  const dir = makeTinyModelDir();
  const path = join(dir, "model.safetensors");
  const file = parseSafetensors(readFileSync(path), path);
  const [name, t] = [...file.tensors][3];
  const data = Float32Array.from(t.data);
  data[5] = Number.NaN;
  writeFileSync(
    path,
    serializeSafetensors(
      [...file.tensors].map(([n, x]) => [n, { shape: x.shape, data: n === name ? data : x.data }]),
      { format: "pt" },
    ),
  );
  const r = run(["translate", "--model", dir], "ein hund\n");
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`maskwise: ${name.replaceAll(".", "\\.")} holds NaN`));
  assert.match(r.stderr, /model\.safetensors/);
  assert.equal(r.stdout, "");
});
