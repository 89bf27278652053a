// translate from the command line beyond line counts: --n-best gives exactly N "score<TAB>text"
// lines an input (N empty lines for an empty one, not a lone tab), best first, and refuses more
// hypotheses than the beam keeps; --bf16 decodes close to float32 (same best translations, scores
// a few hundredths apart) without being float32.
import assert from "node:assert/strict";
import { test } from "node:test";
import { makeTinyModelDir } from "../helpers/tiny-model.js";
import { maskwise } from "../helpers/tiny-run.js";

const INPUT = [
  "a small dog runs in the park",
  "",
  "the cat sleeps on a red chair",
  "two men play football",
  "ein kleiner hund läuft im park",
  "die katze schläft",
];

/** Per input, its N [score, text] pairs. */
function nBest(stdout: string, n: number): [number, string][][] {
  const lines = stdout.split("\n");
  assert.equal(lines.pop(), "", "ends with a newline");
  assert.equal(lines.length, INPUT.length * n, stdout);
  return INPUT.map((_, i) =>
    lines.slice(i * n, (i + 1) * n).map((l): [number, string] => {
      if (l === "") return [Number.NaN, ""];
      const m = /^(-?\d+\.\d{4})\t(.+)$/.exec(l);
      assert.ok(m, `not "score<TAB>text": ${JSON.stringify(l)}`);
      return [Number(m[1]), m[2]];
    }),
  );
}

test("translate --n-best: N lines an input, best first; --bf16 stays close to float32", () => {
  const dir = makeTinyModelDir();
  const args = ["translate", "--model", dir, "--beam", "3", "--n-best", "2"];
  const f32 = maskwise(args, `${INPUT.join("\n")}\n`);
  assert.equal(f32.status, 0, f32.stderr);
  const full = nBest(f32.stdout, 2);
  assert.deepEqual(
    full[1],
    [
      [Number.NaN, ""],
      [Number.NaN, ""],
    ],
    "an empty input: empty lines",
  );
  for (const [i, hyps] of full.entries()) {
    if (INPUT[i] === "") continue;
    assert.ok(hyps[0][0] >= hyps[1][0], `input ${i}: best first`);
  }

  const bf16 = maskwise([...args, "--bf16"], `${INPUT.join("\n")}\n`);
  assert.equal(bf16.status, 0, bf16.stderr);
  assert.notEqual(bf16.stdout, f32.stdout, "--bf16 decodes with other numbers");
  const half = nBest(bf16.stdout, 2);
  let same = 0;
  for (const [i, hyps] of half.entries()) {
    if (INPUT[i] === "") continue;
    if (hyps[0][1] !== full[i][0][1]) continue;
    same++;
    assert.ok(
      Math.abs(hyps[0][0] - full[i][0][0]) < 0.05,
      `input ${i}: ${hyps[0][0]} vs ${full[i][0][0]}`,
    );
  }
  assert.ok(same >= 4, `${same} of 5 best translations agree with float32`);

  const tooMany = maskwise(["translate", "--model", dir, "--beam", "2", "--n-best", "5"], "x\n");
  assert.equal(tooMany.status, 2);
  assert.match(
    tooMany.stderr,
    /^maskwise: --n-best 5 is more than the --beam 2 hypotheses kept .*--beam 5/,
  );
  assert.equal(tooMany.stdout, "");
});
