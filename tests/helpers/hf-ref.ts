// The Hugging Face reference cases in ../shared/ref/hf (transformers 5.18's layouts, with the
// logits, loss and greedy ids transformers computed): reading a case and comparing a model's
// outputs with it at the positions the case says are comparable, within its tolerance.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseSafetensors } from "../../src/io/safetensors.js";
import { floatPaths } from "../../src/models/families/json-numbers.js";
import { loadModel, saveModel } from "../../src/node/model-dir.js";
import * as T from "../../src/tensor/index.js";
import { tempDir } from "./tmp.js";

export const HF_REF = join(import.meta.dirname, "..", "..", "..", "shared", "ref", "hf");

interface Nested {
  shape: number[];
  data: unknown;
}

export interface HfCase {
  dir: string;
  batch: Record<string, unknown>;
  expected: Record<string, unknown> & {
    logits: Nested;
    /** [B, T] 1 where the logits are comparable. */
    valid_positions: number[][];
    loss: number | Nested;
    checks: { f32_vs_f64_max_abs_diff_valid: number };
  };
  header: {
    tensors: Record<string, { dtype: string; shape: number[] }>;
    header_key_order: string[];
  };
}

export function readCase(name: string): HfCase {
  const dir = join(HF_REF, name);
  const json = (f: string) => JSON.parse(readFileSync(join(dir, f), "utf8"));
  return {
    dir,
    batch: json("batch.json"),
    expected: json("expected.json"),
    header: json("safetensors_header.json"),
  };
}

/** An int32 [rows, cols] tensor of a batch field. */
export function ids(rows: unknown): T.Tensor {
  const r = rows as number[][];
  return T.intTensor(r.flat(), [r.length, r[0].length]);
}

/** A nested list's values, flattened in row-major order. */
export function flat(n: Nested): number[] {
  return (n.data as unknown[]).flat(Number.POSITIVE_INFINITY) as number[];
}

/** The scalar loss of a case (a number, or a 0-d tensor). */
export function scalar(v: number | Nested): number {
  return typeof v === "number" ? v : (flat(v)[0] ?? (v.data as number));
}

/**
 * Asserts logits [B, T, V] match the case's at its valid positions within
 * max(1e-4, 10 x transformers' own float32 gap) (the case README's tolerance); returns the worst
 * difference.
 */
export function assertLogits(c: HfCase, logits: T.Tensor, expected = c.expected.logits): number {
  assert.deepEqual(logits.shape, expected.shape, "logits shape");
  const want = flat(expected);
  const valid = c.expected.valid_positions.flat();
  const V = logits.shape[2];
  const tol = Math.max(1e-4, 10 * c.expected.checks.f32_vs_f64_max_abs_diff_valid);
  let worst = 0;
  for (let p = 0; p < valid.length; p++) {
    if (!valid[p]) continue;
    for (let v = 0; v < V; v++)
      worst = Math.max(worst, Math.abs(logits.f32[p * V + v] - want[p * V + v]));
  }
  assert.ok(worst <= tol, `logits differ by ${worst} (tolerance ${tol})`);
  return worst;
}

/**
 * Asserts the config.json in `out` holds what the case's does, and its floats as floats
 * (transformers refuses `0` where a field is a float, so `0.0` must stay `0.0`).
 */
export function assertSameConfig(out: string, caseDir: string): void {
  const text = (d: string) => readFileSync(join(d, "config.json"), "utf8");
  assert.deepEqual(JSON.parse(text(out)), JSON.parse(text(caseDir)));
  assert.deepEqual(floatPaths(text(out)).sort(), floatPaths(text(caseDir)).sort(), "float keys");
}

/**
 * Runs `model` on `batch` and asserts transformers' logits (`expected`, at the case's valid
 * positions) and loss within 1e-5; returns the worst logits difference.
 */
export function assertForward(
  c: HfCase,
  model: { forward(batch: never): { logits: T.Tensor; loss: T.Tensor | null } },
  batch: Record<string, unknown>,
  want: { logits?: HfCase["expected"]["logits"]; loss?: number } = {},
): number {
  const { logits, loss } = T.noGrad(() => model.forward(batch as never));
  const worst = assertLogits(c, logits, want.logits ?? c.expected.logits);
  const wantLoss = want.loss ?? scalar(c.expected.loss);
  assert.ok(
    loss && Math.abs(loss.item() - wantLoss) <= 1e-5,
    `loss ${loss?.item()} vs ${wantLoss}`,
  );
  return worst;
}

/**
 * Asserts hypotheses' tokens are transformers' greedy rows: each row from column `from` on (past
 * the start token or the prompt), cut after its first eos (the rest is padding).
 */
export function assertGreedyRows(
  hyps: readonly { tokens: readonly number[] }[],
  rows: readonly (readonly number[])[],
  from: number,
  eos: number,
): void {
  rows.forEach((row, r) => {
    const fresh = row.slice(from);
    const stop = fresh.indexOf(eos);
    assert.deepEqual(hyps[r].tokens, stop < 0 ? fresh : fresh.slice(0, stop + 1), `row ${r}`);
  });
}

/**
 * Loads the case and writes it into a fresh folder: the file must be transformers' own, byte for
 * byte (its tensor names, shapes, values, order and header), beside the same config.json.
 */
export function assertWrittenBack(c: HfCase): void {
  const out = tempDir(`hf-${basename(c.dir)}`);
  saveModel(out, loadModel(c.dir));
  const saved = parseSafetensors(readFileSync(join(out, "model.safetensors")), "saved");
  assert.deepEqual([...saved.tensors.keys()].sort(), [...c.header.header_key_order].sort());
  for (const [n, t] of saved.tensors)
    assert.deepEqual(t.shape, c.header.tensors[n].shape, `${n} shape`);
  assert.ok(
    readFileSync(join(out, "model.safetensors")).equals(
      readFileSync(join(c.dir, "model.safetensors")),
    ),
    "model.safetensors differs from transformers' bytes",
  );
  assertSameConfig(out, c.dir);
}
