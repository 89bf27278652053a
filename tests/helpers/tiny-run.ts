// The smallest `maskwise train --task translation` the CLI tests run: four sentence pairs, a
// 16-wide one-layer model and a 50-token BPE, so a child process trains a step in milliseconds.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./tmp.js";

export const BIN = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");

/** Runs `maskwise ARGS` in a child process (stdin `input`), as the user would. */
export const maskwise = (args: string[], input?: string, env?: NodeJS.ProcessEnv) =>
  spawnSync(process.execPath, [BIN, ...args], {
    encoding: "utf8",
    input,
    timeout: 120_000,
    env: env ? { ...process.env, ...env } : process.env,
  });

/** The tiny model's config.json (translation, or any kind the command gives it). */
export const TINY_CONFIG = {
  d_model: 16,
  encoder_layers: 1,
  decoder_layers: 1,
  encoder_attention_heads: 2,
  decoder_attention_heads: 2,
  encoder_ffn_dim: 32,
  decoder_ffn_dim: 32,
};

/**
 * A folder with train/valid text (train.de, train.en, valid.de, valid.en, text.txt) and the
 * tiny config, and the train flags that use them (all but --out and the limits).
 */
export function tinyTranslation(name: string): { dir: string; flags: string[]; config: string } {
  const dir = tempDir(name);
  const src = ["ein hund läuft", "eine katze schläft", "zwei hunde spielen", "ein mann liest"];
  const tgt = ["a dog runs", "a cat sleeps", "two dogs play", "a man reads"];
  for (const [file, lines] of [
    ["train.de", src],
    ["train.en", tgt],
    ["valid.de", src.slice(0, 2)],
    ["valid.en", tgt.slice(0, 2)],
    ["text.txt", [...src, ...tgt]],
  ] as const) {
    writeFileSync(join(dir, file), `${lines.join("\n")}\n`);
  }
  const config = join(dir, "config.json");
  writeFileSync(config, JSON.stringify(TINY_CONFIG));
  const flags = [
    ...["--task", "translation", "--model", config, "--vocab-size", "50"],
    ...["--train-src", join(dir, "train.de"), "--train-tgt", join(dir, "train.en")],
    ...["--valid-src", join(dir, "valid.de"), "--valid-tgt", join(dir, "valid.en")],
    ...["--max-tokens", "24", "--warmup", "5", "--bleu-sample", "1"],
  ];
  return { dir, flags, config };
}
