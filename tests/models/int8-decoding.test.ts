// Decoding on int8 copies of the weights (`--precision int8`) on a small trained model: teacher-
// forced on float32's greedy output, every step's logits stay within a bound made of the
// quantization steps, and the top-1 token agrees with float32's on most steps; the CLI's
// translate and generate with --precision int8 print what the same decoding in this process
// gives; training refuses int8 in one line; `maskwise info` names the int8 kernel.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { command as benchDecode } from "../../src/cli/commands/bench-decode.js";
import { greedy } from "../../src/decode/greedy.js";
import { decodingInt8Weights, Seq2SeqIncremental } from "../../src/models/incremental.js";
import { loadDecoderOnly, loadEncoderDecoder, loadTokenizer } from "../../src/node/model-dir.js";
import { noGrad } from "../../src/tensor/autograd.js";
import { Tensor } from "../../src/tensor/tensor.js";
import { promptDecoder } from "../../src/train/generate.js";
import { translateLines } from "../../src/train/translate.js";
import { MaskwiseError } from "../../src/util/errors.js";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

const INPUT = ["ein hund läuft", "eine katze schläft", "zwei hunde spielen", "ein mann liest"];

function trainedModel(name: string): string {
  const { flags } = tinyTranslation(name);
  const out = join(tempDir(`${name}-run`), "run");
  const r = maskwise([
    ...["train", ...flags, "--out", out],
    ...["--max-steps", "40", "--seed", "1"],
  ]);
  assert.equal(r.status, 0, r.stderr);
  return join(out, "checkpoints", "last");
}

test("int8 steps: logits within the quantization bound, top-1 as float32 on most steps", () => {
  const dir = trainedModel("int8-steps");
  const model = loadEncoderDecoder(dir).eval();
  const tok = loadTokenizer(dir);
  assert.ok(tok);
  const int8 = decodingInt8Weights(model);
  // Every Linear a step reads has its copy: the head and the decoder's feed-forward.
  assert.ok(int8.of(model.lm_head.weight.f32));
  assert.ok(int8.of(model.decoder.layers.items[0].fc1.weight.f32));
  assert.equal(int8.of(model.lm_head.weight.f32)?.q.length, model.lm_head.weight.size);
  const cfg = model.config;
  const ids = INPUT.map((l) => [...tok.encode(l), cfg.eos_token_id]);
  const S = Math.max(...ids.map((x) => x.length));
  const N = ids.length;
  const src = new Int32Array(N * S).fill(cfg.pad_token_id);
  const mask = new Int32Array(N * S);
  ids.forEach((x, r) => {
    src.set(x, r * S);
    mask.fill(1, r * S, r * S + x.length);
  });
  const srcT = new Tensor(src, [N, S]);
  const maskT = new Tensor(mask, [N, S]);
  const steps = 8;
  // float32's greedy output, fed to both decoders (teacher forcing), so each step compares the
  // same prefix.
  const opts = { startToken: cfg.decoder_start_token_id, eosToken: -1, maxLength: steps };
  const hyps = noGrad(() => greedy(new Seq2SeqIncremental(model, srcT, maskT), opts));
  const f32 = noGrad(() => new Seq2SeqIncremental(model, srcT, maskT));
  const q8 = noGrad(() => new Seq2SeqIncremental(model, srcT, maskT, { weights: int8 }));
  const V = cfg.vocab_size;
  let agree = 0;
  let total = 0;
  let maxDiff = 0;
  let maxLogit = 0;
  for (let t = 0; t < steps; t++) {
    const tokens = Int32Array.from(hyps, (h) => (t === 0 ? opts.startToken : h.tokens[t - 1]));
    const want = noGrad(() => f32.next(tokens)).slice();
    const got = noGrad(() => q8.next(tokens));
    for (let r = 0; r < N; r++) {
      const argmax = (x: Float32Array) => {
        let best = 0;
        for (let v = 1; v < V; v++) if (x[r * V + v] > x[r * V + best]) best = v;
        return best;
      };
      if (argmax(got) === argmax(want)) agree++;
      total++;
      for (let v = 0; v < V; v++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[r * V + v] - want[r * V + v]));
        maxLogit = Math.max(maxLogit, Math.abs(want[r * V + v]));
      }
    }
  }
  // Both operands of every product are rounded to 1/254 of their rows' ranges (at most half a
  // step each), a relative error well under a percent per product; through a layer and the
  // head the logits move by about a percent of their size (this model: 0.7%), not by their
  // size, as a wrong scale or a wrong row would move them.
  assert.ok(maxDiff > 0, "the int8 path was not taken");
  assert.ok(maxDiff <= 0.03 * maxLogit, `logits moved by ${maxDiff} (largest |logit| ${maxLogit})`);
  assert.ok(agree >= 0.8 * total, `top-1 agrees on ${agree} of ${total} steps`);
});

test("translate --precision int8 prints the in-process int8 decoding; training refuses int8", () => {
  const dir = trainedModel("int8-cli");
  const model = loadEncoderDecoder(dir).eval();
  const tok = loadTokenizer(dir);
  assert.ok(tok);
  const want = translateLines(model, tok, INPUT, {
    beam: 2,
    maxLenA: 1.2,
    maxLenB: 10,
    weights: decodingInt8Weights(model),
  }).map((h) => h[0].text);
  const r = maskwise(
    ["translate", "--model", dir, "--beam", "2", "--precision", "int8"],
    `${INPUT.join("\n")}\n`,
  );
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.split("\n").slice(0, INPUT.length), want);

  const { flags } = tinyTranslation("int8-refuse");
  const out = join(tempDir("int8-refuse-run"), "run");
  for (const args of [
    ["train", ...flags, "--out", out, "--max-steps", "1", "--precision", "int8"],
    ["translate", "--model", dir, "--bf16", "--precision", "int8"],
  ]) {
    const t = maskwise(args);
    assert.equal(t.status, 2, t.stderr);
    assert.equal(t.stderr.trim().split("\n").length, 1, t.stderr);
    assert.match(
      t.stderr,
      /^maskwise: --(precision int8 is for decoding, not train|bf16 is --precision bfloat16, not int8)/,
    );
  }
  assert.match(maskwise(["generate", "--help"]).stdout, /--precision int8/);
  const info = maskwise(["info"]);
  assert.match(info.stdout, /^int8_kernel: (avx512-vnni|avx2|portable|reference)$/m);
  const ref = JSON.parse(
    maskwise(["info", "--json"], undefined, { MASKWISE_BACKEND: "reference" }).stdout,
  );
  assert.equal(ref.int8_kernel, "reference");
});

test("generate --precision int8: a causal LM's steps on the int8 copies, as in this process", () => {
  const dir = tempDir("int8-gen");
  const text = join(dir, "text.txt");
  writeFileSync(text, "a dog runs in the park\na cat sleeps on the mat\ntwo dogs play\n");
  const out = join(dir, "run");
  const t = maskwise([
    ...["train", "--task", "lm", "--train", text, "--valid", text, "--out", out],
    ...["--vocab-size", "60", "--model", "tiny", "--max-tokens", "256", "--max-steps", "3"],
  ]);
  assert.equal(t.status, 0, t.stderr);
  const last = join(out, "checkpoints", "last");
  const prompts = ["a dog", "two cats sleep"];
  const r = maskwise(
    [
      "generate",
      "--model",
      last,
      "--max-new-tokens",
      "5",
      "--mask",
      "causal",
      "--precision",
      "int8",
    ],
    prompts.join("\n"),
  );
  assert.equal(r.status, 0, r.stderr);
  const model = loadDecoderOnly(last);
  const tok = loadTokenizer(last);
  assert.ok(tok);
  const { bos_token_id: bos, eos_token_id: eos } = model.config;
  const ids = prompts.map((p) => [bos, ...tok.encode(p)]);
  const want = greedy(
    promptDecoder(model, ids, "causal", { weights: decodingInt8Weights(model) }),
    {
      startToken: bos,
      eosToken: eos,
      maxLength: 5,
    },
  ).map((h) =>
    tok.decode(
      h.tokens.filter((x) => x !== eos),
      { skipSpecialTokens: true },
    ),
  );
  assert.deepEqual(r.stdout.split("\n").slice(0, prompts.length), want);
});

test("bench decode takes --int8 or --bf16, not both", async () => {
  await assert.rejects(
    async () => benchDecode.run(["--bf16", "--int8"]),
    (e: unknown) => e instanceof MaskwiseError && /--bf16 and --int8/.test(e.message),
  );
});
