// translate's read-ahead (src/node/read-ahead.ts): windows of consecutive lines, every line once
// and in order, a pause handing on what has arrived where asked, a failing flush stopping the
// reading. Then translation through it: sentences sorted by length within a window of several
// batches come out in input order, each as it is translated alone. Alone is the comparison on
// the reference backend, whose products give a row the same bits whatever rows it is batched
// with; the native GEMM sums in an order that depends on the product's row count (a few rows
// stream the weight, more use packed panels), so there the batched results are compared with the
// reference backend's one-by-one translations, token for token.
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { describe, test } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { readAhead } from "../../src/node/read-ahead.js";
import { withBackend } from "../../src/tensor/dispatch.js";
import { translateLines } from "../../src/train/translate.js";
import { Rng } from "../../src/util/rng.js";
import { availableBackends } from "../helpers/backends.js";
import { numberCodec, toyTranslator } from "../helpers/toy-translator.js";

function streamOf(text: string): PassThrough {
  const s = new PassThrough();
  s.end(text);
  return s;
}

describe("readAhead", () => {
  test("windows of at most N consecutive lines, every line once, the last one short", async () => {
    const lines = Array.from({ length: 23 }, (_, i) => `line ${i}`);
    lines[4] = "";
    const windows: string[][] = [];
    await readAhead(streamOf(`${lines.join("\n")}\n`), { window: 5, idleMs: null }, (w) =>
      windows.push(w),
    );
    assert.deepEqual(
      windows.map((w) => w.length),
      [5, 5, 5, 5, 3],
    );
    assert.deepEqual(windows.flat(), lines);
  });

  test("without a pause rule, a slow input still waits for a full window", async () => {
    const input = new PassThrough();
    const windows: string[][] = [];
    const done = readAhead(input, { window: 4, idleMs: null }, (w) => windows.push(w));
    input.write("a\nb\n");
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(windows.length, 0, "two lines of four: nothing handed on yet");
    input.end("c\n");
    await done;
    assert.deepEqual(windows, [["a", "b", "c"]]);
  });

  test("with a pause rule, a pause hands on what has arrived (a terminal's line)", async () => {
    const input = new PassThrough();
    const windows: string[][] = [];
    const done = readAhead(input, { window: 100, idleMs: 20 }, (w) => windows.push(w));
    input.write("first\n");
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(windows, [["first"]], "answered before more input");
    input.write("second\nthird\n");
    await new Promise((r) => setTimeout(r, 150));
    input.end();
    await done;
    assert.deepEqual(windows, [["first"], ["second", "third"]]);
  });

  test("a flush that throws rejects and stops the reading", async () => {
    let calls = 0;
    const text = `${Array.from({ length: 50 }, (_, i) => `${i}`).join("\n")}\n`;
    await assert.rejects(
      readAhead(streamOf(text), { window: 10, idleMs: null }, () => {
        calls++;
        if (calls === 2) throw new Error("decoding failed");
      }),
      /decoding failed/,
    );
    assert.equal(calls, 2, "no window after the failing one");
  });
});

const codec = numberCodec;

function model() {
  // eos likely enough that outputs end at different steps.
  return toyTranslator({ seed: 31, noiseSeed: 8, noise: 0.5, eosBias: 2.5 });
}

// 30 sources of 1 to 19 tokens in shuffled lengths: batches of 3 sorted within windows of 4
// batches mix sentences from far apart in the input.
const rng = new Rng(11);
const SOURCES = Array.from({ length: 30 }, (_, i) => {
  const n = 1 + ((i * 11) % 19);
  return Array.from({ length: n }, () => 3 + rng.int(36)).join(" ");
});

describe("translation read ahead and sorted by length", () => {
  const m = model();
  for (const beam of [1, 3]) {
    // A fixed length limit: A * source length + B takes the batch's longest source (fairseq),
    // which would make a sentence's limit depend on its companions.
    const options = { beam, batchSize: 3, maxLenA: 0, maxLenB: 12 };
    // Each sentence alone, on the reference backend: text and score.
    const alone = withBackend(new ReferenceBackend(), () =>
      SOURCES.map((s) => translateLines(m, codec, [s], options)[0][0]),
    );
    for (const backend of availableBackends()) {
      test(`beam ${beam} [${backend.name}]: input order, each as translated alone`, async () => {
        const out: { text: string; hypothesis: { score: number } }[] = [];
        const text = `${SOURCES.join("\n")}\n`;
        await readAhead(
          streamOf(text),
          { window: 4 * options.batchSize, idleMs: null },
          (lines) => {
            const results = withBackend(backend, () => translateLines(m, codec, lines, options));
            out.push(...results.map((r) => r[0]));
          },
        );
        assert.equal(out.length, SOURCES.length);
        assert.deepEqual(
          out.map((o) => o.text),
          alone.map((o) => o.text),
        );
        const exact = backend.name === "reference";
        out.forEach((o, i) => {
          const [got, want] = [o.hypothesis.score, alone[i].hypothesis.score];
          assert.ok(
            exact ? Object.is(got, want) : Math.abs(got - want) < 1e-4,
            `sentence ${i}: score ${got} vs ${want}`,
          );
        });
        // The sentences' scores differ: the order is not checked on copies of one result.
        const scores = new Set(alone.map((o) => o.hypothesis.score));
        assert.ok(scores.size >= SOURCES.length / 2, `${scores.size} distinct scores`);
      });
    }
  }
});
