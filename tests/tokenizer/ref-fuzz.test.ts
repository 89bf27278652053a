// 5,000 seeded random strings per reference tokenizer.json (mixed scripts, emoji sequences,
// combining marks against precomposed letters, odd whitespace, control characters, special-token
// strings inside words, code points from anywhere), encoded by maskwise and by the Rust `tokenizers` package from the same
// file: ids, tokens and offsets with and without special tokens, and decoding, must be identical.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { pretrainedFromString } from "../../src/tokenizer/index.js";
import { Rng } from "../../src/util/rng.js";
import { randomText } from "./fuzz-text.js";
import { oracle } from "./oracle.js";
import { JSON_CASES, refFile } from "./ref.js";

const N = 5000;

JSON_CASES.forEach((c, caseIndex) => {
  test(`${c}: ${N} random strings encode and decode as the Rust tokenizers package`, async () => {
    const path = refFile(c, "tokenizer.json");
    const tok = pretrainedFromString(readFileSync(path, "utf8"), path);
    const ref = oracle.Tokenizer.fromFile(path);
    const rng = new Rng(2026 + caseIndex);
    const texts = Array.from({ length: N }, () => randomText(rng));
    let withSpecial: number[][] = [];
    for (const addSpecialTokens of [false, true]) {
      const encs = await ref.encodeBatch(texts, { addSpecialTokens });
      const bad: string[] = [];
      const ids: number[][] = [];
      texts.forEach((t, i) => {
        const e = tok.encode(t, null, { addSpecialTokens });
        const w = encs[i];
        ids.push(e.ids);
        const same =
          JSON.stringify(e.ids) === JSON.stringify(w.getIds()) &&
          JSON.stringify(e.tokens) === JSON.stringify(w.getTokens()) &&
          JSON.stringify(e.offsets) === JSON.stringify(w.getOffsets());
        if (!same && bad.length < 3)
          bad.push(
            `${JSON.stringify(t)}\n  ${JSON.stringify(e)}\n  ${JSON.stringify([w.getIds(), w.getTokens(), w.getOffsets()])}`,
          );
      });
      assert.deepEqual(bad, [], `${c} addSpecialTokens=${addSpecialTokens}`);
      if (addSpecialTokens) withSpecial = ids;
    }
    for (const skip of [false, true]) {
      const want = await ref.decodeBatch(withSpecial, skip);
      const got = withSpecial.map((x) => tok.decode(x, { skipSpecialTokens: skip }));
      const bad = got.flatMap((g, i) =>
        g === want[i] ? [] : [`${JSON.stringify(g)} vs ${JSON.stringify(want[i])}`],
      );
      assert.deepEqual(bad.slice(0, 3), [], `${c} decode skipSpecialTokens=${skip}`);
    }
  });
});
