// --precision auto|float32|bfloat16 on the commands that multiply matrices (train, pretrain,
// quickstart, translate, generate), --bf16 as its older spelling, and `maskwise info` showing
// what auto would take on this CPU.
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { greedy } from "../../src/decode/greedy.js";
import type { DecoderOnlyModel } from "../../src/models/decoder-only.js";
import { decodingBf16Weights } from "../../src/models/incremental.js";
import { loadDecoderOnly } from "../../src/node/model-dir.js";
import { autoPrecision } from "../../src/node/precision.js";
import { loadTokenizer } from "../../src/node/training-setup.js";
import { withMatmulPrecision } from "../../src/tensor/precision.js";
import { promptDecoder } from "../../src/train/generate.js";
import { maskwise, tinyTranslation } from "../helpers/tiny-run.js";
import { tempDir } from "../helpers/tmp.js";

test("maskwise info prints both probe figures and auto's choice", () => {
  const r = maskwise(["info"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^probe_float32_gflops: (\d+(\.\d)?|n\/a)$/m);
  assert.match(r.stdout, /^probe_bfloat16_gflops: (\d+(\.\d)?|n\/a)$/m);
  assert.match(r.stdout, /^precision_auto: (float32|bfloat16)$/m);
  const j = JSON.parse(maskwise(["info", "--json"]).stdout);
  // The choice follows the figures it printed (each process measures once).
  assert.equal(
    j.precision_auto,
    autoPrecision({
      float32Gflops: j.probe_float32_gflops,
      bfloat16Gflops: j.probe_bfloat16_gflops,
    }),
  );
  if (j.probe_float32_gflops === null) assert.match(j.probe_note, /.+/);
  else assert.ok(j.probe_float32_gflops > 0 && j.probe_bfloat16_gflops > 0);
  const ref = JSON.parse(
    maskwise(["info", "--json"], undefined, { MASKWISE_BACKEND: "reference" }).stdout,
  );
  assert.equal(ref.precision_auto, "float32");
  assert.equal(ref.probe_bfloat16_gflops, null);
  assert.match(ref.probe_note, /reference backend/);
});

test("every command that multiplies takes --precision, and a bad value is one line, exit 2", () => {
  for (const cmd of [["train"], ["pretrain"], ["quickstart"], ["translate"], ["generate"]]) {
    const help = maskwise([...cmd, "--help"]);
    assert.match(help.stdout, /--precision/, cmd.join(" "));
  }
  const { flags } = tinyTranslation("prec-bad");
  const out = tempDir("prec-bad-run");
  for (const args of [
    ["train", ...flags, "--out", join(out, "t"), "--max-steps", "1", "--precision", "half"],
    ["translate", "--model", out, "--precision", "half"],
    ["generate", "--model", out, "--precision", "half"],
    ["quickstart", "--out", join(out, "q"), "--precision", "half"],
  ]) {
    const r = maskwise(args);
    assert.equal(r.status, 2, `${args[0]}: ${r.stderr}`);
    assert.match(
      r.stderr,
      /^maskwise: --precision must be auto, float32(,| or) bfloat16( or int8)?, got 'half' \(maskwise \w+ --precision\): /,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  }
  // Refused before anything is written.
  assert.ok(!existsSync(join(out, "t")) && !existsSync(join(out, "q")));
  const both = maskwise(["translate", "--model", out, "--bf16", "--precision", "float32"]);
  assert.equal(both.status, 2);
  assert.match(both.stderr, /--bf16 is --precision bfloat16, not float32/);
});

test("--bf16 trains and translates exactly as --precision bfloat16; auto says what it took", () => {
  const { flags } = tinyTranslation("prec-alias");
  const dir = tempDir("prec-alias-run");
  const train = (name: string, extra: string[]) => {
    const out = join(dir, name);
    const r = maskwise([
      "train",
      ...flags,
      "--out",
      out,
      "--max-steps",
      "3",
      "--log-every",
      "1",
      "--seed",
      "3",
      ...extra,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const losses = readFileSync(join(out, "metrics.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l))
      .filter((m) => m.loss !== undefined)
      .map((m) => m.loss);
    const state = JSON.parse(
      readFileSync(join(out, "checkpoints", "last", "trainer_state.json"), "utf8"),
    );
    return { out, losses, precision: state.options.matmulPrecision, stderr: r.stderr };
  };
  const alias = train("bf16", ["--bf16"]);
  const named = train("named", ["--precision", "bfloat16"]);
  const f32 = train("f32", ["--precision", "float32"]);
  assert.equal(alias.precision, "bfloat16");
  assert.deepEqual(alias.losses, named.losses);
  assert.ok(alias.losses.length > 0);
  assert.equal(f32.precision, undefined);
  const auto = train("auto", ["--precision", "auto"]);
  const said = auto.stderr.match(/^maskwise: precision auto: (float32|bfloat16) \(.+\)$/m);
  assert.ok(said, auto.stderr);
  assert.equal(auto.precision, said[1] === "bfloat16" ? "bfloat16" : undefined);

  const model = join(alias.out, "checkpoints", "last");
  const input = "ein hund läuft\nzwei hunde spielen\n";
  const tr = (extra: string[]) => {
    const r = maskwise(["translate", "--model", model, "--beam", "2", ...extra], input);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  assert.equal(tr(["--bf16"]), tr(["--precision", "bfloat16"]));
  assert.equal(tr(["--precision", "float32"]), tr([]));
});

test("generate --precision bfloat16 decodes on the weights' bfloat16 copies, as --bf16", () => {
  const dir = tempDir("prec-gen");
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
  const gen = (extra: string[]) => {
    const r = maskwise(
      ["generate", "--model", last, "--max-new-tokens", "5", "--mask", "causal", ...extra],
      prompts.join("\n"),
    );
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split("\n").slice(0, prompts.length);
  };
  // The same decoding in this process: the prompt pass in bfloat16 products, the steps on the
  // bfloat16 copies of every Linear a step reads.
  const model = loadDecoderOnly(last) as DecoderOnlyModel;
  const tok = loadTokenizer(join(last, "tokenizer.json"));
  const { bos_token_id: bos, eos_token_id: eos } = model.config;
  const ids = prompts.map((p) => [bos, ...tok.encode(p)]);
  const bf16 = decodingBf16Weights(model);
  const want = withMatmulPrecision("bfloat16", () =>
    greedy(promptDecoder(model, ids, "causal", { weights: bf16 }), {
      startToken: bos,
      eosToken: eos,
      maxLength: 5,
    }),
  ).map((h) =>
    tok.decode(
      h.tokens.filter((x) => x !== eos),
      { skipSpecialTokens: true },
    ),
  );
  assert.deepEqual(gen(["--precision", "bfloat16"]), want);
  assert.deepEqual(gen(["--bf16"]), want);
  // Every Linear of the decoder layers and the head has its copy.
  assert.equal(bf16.of(model.lm_head.weight.f32)?.length, model.lm_head.weight.size);
  assert.ok(bf16.of(model.decoder.layers.items[0].fc2.weight.f32));
});
