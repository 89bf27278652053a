// `maskwise pretrain` on a terminal draws the same progress bar as `maskwise train` (bar,
// percentage, step, epoch, loss, tok/s, time left), run here under a pseudo-terminal (script(1)).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const hasScript = spawnSync("script", ["--version"]).status === 0;
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

test("pretrain draws the training progress bar on a terminal", { skip: !hasScript }, () => {
  const dir = tempDir("pretrain-bar");
  const text = join(dir, "text.txt");
  writeFileSync(text, "the cat sat on the mat\nthe dog sat on the log\na bird sang in a tree\n");
  const config = join(dir, "config.json");
  writeFileSync(
    config,
    JSON.stringify({
      d_model: 16,
      decoder_layers: 1,
      decoder_attention_heads: 2,
      decoder_ffn_dim: 32,
      encoder_layers: 1,
      encoder_attention_heads: 2,
      encoder_ffn_dim: 32,
    }),
  );
  const args = [
    ...[process.execPath, bin, "pretrain", "--objective", "clm", "--train", text],
    ...["--out", join(dir, "run"), "--model", config, "--vocab-size", "50"],
    ...["--max-steps", "3", "--max-tokens", "40", "--warmup", "2"],
  ];
  const r = spawnSync("script", ["-qec", args.map(quote).join(" "), "/dev/null"], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, COLUMNS: "120" },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // The bar (filled and empty cells), then "NN.N% step N epoch N loss X N tok/s M:SS left".
  assert.match(r.stdout, /pretrain clm [█░]+ +\d+\.\d% step \d+ epoch \d+ loss [\d.]+ \d+ tok\/s/);
  assert.match(r.stdout, /left/);
  assert.doesNotMatch(r.stdout, /pretrain clm: step/); // the old one-line progress is gone
});
