// `maskwise train` on fielded data: DialogSum (JSON lines, fields by name) with ROUGE, a TSV file
// with a header (columns by name) as a prefix LM, and clear errors for unknown fields and tasks.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";

const bin = join(import.meta.dirname, "..", "..", "bin", "maskwise.mjs");
const run = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000 });
const dialogsum = join(import.meta.dirname, "..", "..", "..", "shared", "data", "dialogsum");

const tiny = [
  "--model",
  "tiny",
  "--max-tokens",
  "1024",
  "--warmup",
  "2",
  "--lr",
  "3e-3",
  "--dropout",
  "0",
];
const metricsOf = (out: string) =>
  readFileSync(join(out, "metrics.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

test("summarization on DialogSum JSON lines: valid loss and ROUGE", (t) => {
  if (!existsSync(join(dialogsum, "dialogsum.train.jsonl"))) {
    t.skip("../shared/data/dialogsum is absent");
    return;
  }
  const dir = tempDir("sum");
  // A few short dialogues, in a temporary file (the data itself stays in ../shared).
  const lines = readFileSync(join(dialogsum, "dialogsum.train.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.length > 0 && l.length < 900)
    .slice(0, 24);
  writeFileSync(join(dir, "train.jsonl"), `${lines.join("\n")}\n`);
  writeFileSync(join(dir, "valid.jsonl"), `${lines.slice(0, 4).join("\n")}\n`);
  const out = join(dir, "run");
  const r = run([
    "train",
    "--task",
    "summarization",
    "--train",
    join(dir, "train.jsonl"),
    "--valid",
    join(dir, "valid.jsonl"),
    "--source-field",
    "dialogue",
    "--target-field",
    "summary",
    "--out",
    out,
    "--vocab-size",
    "300",
    "--max-steps",
    "30",
    "--eval-every",
    "15",
    "--rouge-sample",
    "2",
    "--max-len",
    "200",
    ...tiny,
  ]);
  assert.equal(r.status, 0, r.stderr);
  const evals = metricsOf(out).filter((m) => "valid_loss" in m);
  assert.equal(evals.length, 2);
  for (const m of evals)
    for (const k of ["valid_rouge1", "valid_rouge2", "valid_rougeL"])
      assert.ok(typeof m[k] === "number" && m[k] >= 0 && m[k] <= 100, `${k} ${m[k]}`);
  assert.ok(evals[1].valid_loss < evals[0].valid_loss, JSON.stringify(evals));
  const cfg = JSON.parse(readFileSync(join(out, "checkpoints", "last", "config.json"), "utf8"));
  assert.equal(cfg.maskwise_arch, "encoder-decoder");
});

test("a TSV task with a header trains a decoder-only prefix LM; bad fields fail clearly", () => {
  const dir = tempDir("tsv");
  const rows = [
    ["what is red", "an apple is red"],
    ["what is blue", "the sky is blue"],
    ["what is green", "the grass is green"],
    ["what is white", "the snow is white"],
  ];
  writeFileSync(
    join(dir, "qa.tsv"),
    `question\tanswer\n${rows.map((r) => r.join("\t")).join("\n")}\n`,
  );
  const out = join(dir, "run");
  const common = [
    "train",
    "--task",
    "lm",
    "--train",
    join(dir, "qa.tsv"),
    "--valid",
    join(dir, "qa.tsv"),
    "--source-field",
    "question",
    "--target-field",
    "answer",
    "--out",
    out,
    "--vocab-size",
    "80",
    ...tiny,
  ];
  const r = run([...common, "--max-steps", "20", "--eval-every", "10"]);
  assert.equal(r.status, 0, r.stderr);
  const evals = metricsOf(out).filter((m) => "valid_loss" in m);
  assert.equal(evals.length, 2);
  assert.ok(evals[1].valid_loss < evals[0].valid_loss, JSON.stringify(evals));
  const last = join(out, "checkpoints", "last");
  assert.equal(
    JSON.parse(readFileSync(join(last, "config.json"), "utf8")).maskwise_arch,
    "decoder-only",
  );
  assert.equal(
    JSON.parse(readFileSync(join(last, "trainer_state.json"), "utf8")).options.mask,
    "prefix",
  );

  // Interrupted at step 8 and resumed without the task flags: the same curve as a straight run.
  const cut = join(dir, "cut");
  const withOut = (o: string) => common.map((a) => (a === out ? o : a));
  const first = run([...withOut(cut), "--max-steps", "8", "--eval-every", "10"]);
  assert.equal(first.status, 0, first.stderr);
  const again = run([
    "train",
    "--out",
    cut,
    "--resume",
    "--max-steps",
    "20",
    "--train",
    join(dir, "qa.tsv"),
    "--valid",
    join(dir, "qa.tsv"),
  ]);
  assert.equal(again.status, 0, again.stderr);
  const curve = (o: string) =>
    metricsOf(o)
      .filter((m) => m.step !== 8)
      .map(({ step, loss, valid_loss }) => ({ step, loss, valid_loss }));
  assert.deepEqual(curve(cut), curve(out));

  const bad = run([...common.slice(0, -10), "--source-field", "query", "--out", join(dir, "r2")]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /no column named 'query'/);
  const task = run(["train", "--task", "poetry", "--out", join(dir, "r3")]);
  assert.equal(task.status, 2);
  assert.match(task.stderr, /unknown task 'poetry'/);
});
