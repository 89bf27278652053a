// `generate` on a transformers directory (GPT-2) decodes as transformers' generate: the reference
// case's greedy ids (../shared/ref/hf/gpt2, expected.json "generate", prompts given as ids), its
// generation_config.json read for eos_token_id, max_new_tokens and max_length (flags override),
// and a text prompt encoded by the directory's own tokenizer with nothing put before it (GPT-2's
// tokenizer adds no <|endoftext|>).
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { buildModel, resolveModelConfig } from "../../src/models/registry.js";
import { saveModel } from "../../src/node/model-dir.js";
import { loadModelTokenizer } from "../../src/node/tokenizer-files.js";
import { HF_REF } from "../helpers/hf-ref.js";
import { maskwise } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

const CASE = join(HF_REF, "gpt2");
const expected = JSON.parse(readFileSync(join(CASE, "expected.json"), "utf8")).generate;
const promptIds: number[][] = expected.prompt_input_ids;
const promptMask: number[][] = expected.prompt_attention_mask;
/** Each prompt's real tokens (the case left-pads them). */
const prompts = promptIds.map((row, r) => row.filter((_, t) => promptMask[r][t] === 1));
const P = promptIds[0].length;
const input = `${prompts.map((p) => p.join(" ")).join("\n")}\n`;

const idsOut = (stdout: string) =>
  stdout
    .trim()
    .split("\n")
    .map((l) => l.split(" ").map(Number));

/** The case with another generation_config.json. */
function withGeneration(settings: Record<string, unknown>): string {
  const dir = tempDir("gpt2-gen");
  for (const f of ["config.json", "model.safetensors"]) copyFileSync(join(CASE, f), join(dir, f));
  writeFileSync(join(dir, "generation_config.json"), JSON.stringify(settings));
  return dir;
}

test("generate --ids gives transformers' greedy ids for the gpt2 case", () => {
  const r = maskwise(["generate", "--model", CASE, "--ids", "--max-new-tokens", "8"], input);
  assert.equal(r.status, 0, r.stderr);
  const want = (expected.default_generation_config.ids as number[][]).map((row) => row.slice(P));
  assert.deepEqual(idsOut(r.stdout), want);
});

test("generation_config.json sets eos, max_new_tokens and max_length; flags override", () => {
  const want = (expected.default_generation_config.ids as number[][]).map((row) => row.slice(P));
  // eos 14: each row stops at its first 14, which it keeps.
  const eos14 = maskwise(
    ["generate", "--model", withGeneration({ eos_token_id: 14, bos_token_id: 63 }), "--ids"],
    input,
  );
  assert.equal(eos14.status, 0, eos14.stderr);
  assert.deepEqual(
    idsOut(eos14.stdout),
    want.map((row) => row.slice(0, row.indexOf(14) + 1)),
  );
  const three = withGeneration({ eos_token_id: 63, max_new_tokens: 3 });
  const r3 = maskwise(["generate", "--model", three, "--ids"], input);
  assert.deepEqual(
    idsOut(r3.stdout),
    want.map((row) => row.slice(0, 3)),
  );
  const r5 = maskwise(["generate", "--model", three, "--ids", "--max-new-tokens", "5"], input);
  assert.deepEqual(
    idsOut(r5.stdout),
    want.map((row) => row.slice(0, 5)),
  );
  // max_length counts the (left-padded) prompt: 10 - 8 = 2 new tokens.
  const r2 = maskwise(["generate", "--model", withGeneration({ max_length: 10 }), "--ids"], input);
  assert.deepEqual(
    idsOut(r2.stdout),
    want.map((row) => row.slice(0, 2)),
  );
});

test("a GPT-2 text prompt is its tokenizer's ids alone, with no <|endoftext|> before it", () => {
  const tokDir = join(HF_REF, "..", "tokenizers", "gpt2_bytelevel");
  const dir = tempDir("gpt2-text");
  const raw = JSON.parse(readFileSync(join(CASE, "config.json"), "utf8"));
  const config = { ...raw, vocab_size: 2001, bos_token_id: 2000, eos_token_id: 2000 };
  saveModel(dir, buildModel(resolveModelConfig(config, "config.json"), 4));
  for (const f of ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt"])
    copyFileSync(join(tokDir, f), join(dir, f));
  const text = "It is DAUNTING.";
  const tok = loadModelTokenizer(tokDir);
  const ids = tok.encode(text, { addSpecialTokens: true }).ids;
  assert.ok(ids.length > 0 && ids[0] !== 2000);
  const byIds = maskwise(
    ["generate", "--model", dir, "--ids", "--max-new-tokens", "5"],
    `${ids.join(" ")}\n`,
  );
  assert.equal(byIds.status, 0, byIds.stderr);
  const byText = maskwise(["generate", "--model", dir, "--max-new-tokens", "5"], `${text}\n`);
  assert.equal(byText.status, 0, byText.stderr);
  const generated = idsOut(byIds.stdout)[0].filter((t) => t !== 2000);
  assert.ok(generated.length > 0, byIds.stdout);
  assert.equal(
    byText.stdout.trim(),
    tok.decode(generated, { skipSpecialTokens: true }).replace(/\n/g, " ").trim(),
  );
});

test("generate --ids refuses a token outside the vocabulary", () => {
  const r = maskwise(["generate", "--model", CASE, "--ids"], "3 64\n");
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^maskwise: '64' is not a token id below the vocabulary size 64/);
});
