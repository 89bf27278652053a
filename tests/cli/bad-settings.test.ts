// Bad settings are refused with one clear line (what, where, what to do) and status 2 instead of
// falling back silently, being ignored, or failing deep inside with a message about something
// else: each case here printed Node's parser text, a typed-array error, nothing at all, or ran.
import assert from "node:assert/strict";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { resolveConfig } from "../../src/models/config.js";
import { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { saveModel, saveTokenizer } from "../../src/node/model-dir.js";
import { trainTokenizer } from "../../src/tokenizer/index.js";
import { TINY_LINES } from "../helpers/tiny-model.js";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

/** Status 2, nothing on stdout, and one stderr line matching `message`. */
function refused(r: ReturnType<typeof maskwise>, message: RegExp): void {
  assert.equal(r.status, 2, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^maskwise: .+ \(.+\)(: .+)?$/);
  assert.match(lines[0], message);
}

test("MASKWISE_THREADS that is not a positive integer is an error, not the slow backend", () => {
  for (const threads of ["abc", "0", "-2", "1.5"]) {
    const r = maskwise(["masks", "show", "--spec", "causal", "--q-len", "2"], undefined, {
      MASKWISE_THREADS: threads,
    });
    refused(r, new RegExp(`MASKWISE_THREADS must be a positive integer, got '${threads}'`));
  }
  const ok = maskwise(["masks", "show", "--spec", "causal", "--q-len", "2"], undefined, {
    MASKWISE_THREADS: "2",
  });
  assert.equal(ok.status, 0, ok.stderr);
});

test("a negative number is read as the flag's value and checked by the flag", () => {
  const { dir, flags } = tinyTranslation("negative");
  refused(
    maskwise(["train", ...flags, "--out", join(dir, "r"), "--max-steps", "-3"]),
    /--max-steps must be an integer >= 1 \(maskwise train --max-steps -3\)/,
  );
  assert.ok(!existsSync(join(dir, "r")));
});

test("masks show refuses a mask too large to draw", () => {
  refused(
    maskwise(["masks", "show", "--spec", "causal", "--q-len", "100000"]),
    /mask has more than 4194304 cells/,
  );
});

test("train: empty validation data, a model directory as --model, a huge vocabulary", () => {
  const { dir, flags } = tinyTranslation("trainbad");
  const out = join(dir, "r");
  const empty = join(dir, "empty");
  writeFileSync(empty, "");
  refused(
    maskwise(["train", ...flags, "--valid-src", empty, "--valid-tgt", empty, "--out", out]),
    /the validation data is empty \(.*empty\)/,
  );
  refused(
    maskwise(["train", ...flags, "--model", dir, "--out", out]),
    /--model takes a preset .* not a model directory .*--init-from/,
  );
  refused(
    maskwise(["train", ...flags, "--vocab-size", "1e9", "--out", out]),
    /--vocab-size must be at most 1000000/,
  );
  assert.ok(!existsSync(out));
});

test("--resume keeps what the run is and reads its own data files", () => {
  const { dir, flags, config } = tinyTranslation("resumeflags");
  const out = join(dir, "r");
  const first = maskwise(["train", ...flags, "--out", out, "--max-steps", "2"]);
  assert.equal(first.status, 0, first.stderr);
  refused(
    maskwise(["train", "--resume", "--out", out, "--task", "lm"]),
    /was started with --task translation/,
  );
  refused(
    maskwise(["train", "--resume", "--out", out, "--model", "tiny"]),
    /was started with --model .*config\.json/,
  );
  refused(
    maskwise(["train", "--resume", "--out", out, "--tokenizer", join(dir, "x.json")]),
    /was not started with --tokenizer/,
  );
  // The same --model as the run was started with is no change.
  const same = maskwise(["train", "--resume", "--out", out, "--model", config, "--max-steps", "3"]);
  assert.equal(same.status, 0, same.stderr);
  // No data flags: the run's own files.
  const more = maskwise(["train", "--resume", "--out", out, "--max-steps", "4"]);
  assert.equal(more.status, 0, more.stderr);
  assert.equal(JSON.parse(more.stdout.trim().split("\n").at(-1) ?? "{}").step, 4);
});

test("generate: sampling flags need --sample and sensible values", () => {
  const dir = tempDir("genbad");
  const tok = trainTokenizer(TINY_LINES, { vocabSize: 60 });
  const config = resolveConfig({
    maskwise_arch: "decoder-only",
    vocab_size: tok.vocabSize,
    d_model: 16,
    decoder_layers: 1,
    decoder_attention_heads: 2,
    decoder_ffn_dim: 32,
  });
  saveModel(dir, new DecoderOnlyModel(config, 1));
  saveTokenizer(dir, tok);
  const gen = (args: string[]) => maskwise(["generate", "--model", dir, ...args], "a dog\n");
  refused(gen(["--sample", "--top-p", "2"]), /--top-p must be above 0 and at most 1/);
  refused(gen(["--sample", "--temperature", "0"]), /--temperature must be above 0/);
  refused(gen(["--top-k", "5"]), /--top-k only applies with --sample/);
  refused(gen(["--sample", "--beam", "3"]), /--sample and --beam/);
  const ok = gen(["--sample", "--top-p", "0.9", "--max-new-tokens", "3"]);
  assert.equal(ok.status, 0, ok.stderr);
});

test("pretrain --resume needs neither --objective nor the training files", () => {
  const { dir, config } = tinyTranslation("pretrainresume");
  const out = join(dir, "r");
  const first = maskwise([
    ...["pretrain", "--objective", "clm", "--train", join(dir, "text.txt"), "--model", config],
    ...["--vocab-size", "50", "--max-tokens", "24", "--max-steps", "1", "--out", out],
  ]);
  assert.equal(first.status, 0, first.stderr);
  const more = maskwise(["pretrain", "--resume", "--out", out, "--max-steps", "2"]);
  assert.equal(more.status, 0, more.stderr);
  const line = JSON.parse(more.stdout.trim().split("\n").at(-1) ?? "{}");
  assert.equal(line.step, 2);
  assert.equal(line.objective, "clm");
});
