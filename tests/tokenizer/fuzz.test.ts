// Random text from many scripts and whitespace kinds (combining marks, full-width and
// compatibility forms, emoji with modifiers, control characters, special tokens glued to words),
// encoded by maskwise and by tokenizers 0.23 with the same file: ids must agree everywhere.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { tokenizerToString, trainTokenizer } from "../../src/tokenizer/index.js";
import { Rng } from "../../src/util/rng.js";
import { multi30k, oracle, tatoeba } from "./oracle.js";

const dir = mkdtempSync(join(tmpdir(), "maskwise-tok-fuzz-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Code point ranges to draw from. */
const RANGES: [number, number][] = [
  [0x20, 0x7e], // ASCII
  [0x09, 0x0d], // tab, newline, vertical tab, form feed, carriage return
  [0xa0, 0xff], // Latin-1: no-break space, ß, umlauts, ½
  [0x300, 0x36f], // combining marks
  [0x391, 0x3c9], // Greek
  [0x410, 0x44f], // Cyrillic
  [0x2000, 0x200d], // spaces of every width, zero-width joiner
  [0x2160, 0x2188], // Roman numerals (NFKC expands them)
  [0x3000, 0x3003], // ideographic space and punctuation
  [0x4e00, 0x4fff], // CJK
  [0xff01, 0xff5e], // full-width forms
  [0xfb00, 0xfb06], // ligatures
  [0x1f300, 0x1f64f], // emoji
  [0x1f3fb, 0x1f3ff], // skin tone modifiers
  [0x0085, 0x0085], // next line
  [0xfeff, 0xfeff], // zero-width no-break space (BOM)
];

function randomText(rng: Rng, words: string[]): string {
  let s = "";
  const n = 1 + rng.int(40);
  for (let k = 0; k < n; k++) {
    const r = rng.uniform();
    if (r < 0.3) s += words[rng.int(words.length)];
    else if (r < 0.4) s += " ";
    else if (r < 0.43) s += ["<mask>", "</s>", "<extra_id_0>", "<s>"][rng.int(4)];
    else {
      const [lo, hi] = RANGES[rng.int(RANGES.length)];
      s += String.fromCodePoint(lo + rng.int(hi - lo + 1));
    }
  }
  return s;
}

const CONFIGS = [
  { name: "metaspace", preTokenizer: "metaspace" },
  { name: "byte-level", preTokenizer: "byte-level" },
  {
    name: "metaspace+byte-fallback",
    preTokenizer: "metaspace",
    byteFallback: true,
    characterCoverage: 0.99,
  },
  { name: "wordpiece", model: "wordpiece" },
  { name: "wordpiece-uncased", model: "wordpiece", lowercase: true },
] as const;

for (const { name, ...options } of CONFIGS) {
  const kind = name;
  test(`${kind}: 1,500 random strings encode and decode as in tokenizers 0.23`, async () => {
    const { zh } = tatoeba(3000);
    const corpus = [...multi30k("train.de").slice(0, 3000), ...zh];
    const tok = trainTokenizer(corpus, {
      vocabSize: 3000,
      ...options,
      specialTokens: ["<s>", "<pad>", "</s>", "<unk>", "<mask>", "<extra_id_0>"],
    });
    const path = join(dir, `${kind}.json`);
    writeFileSync(path, tokenizerToString(tok));
    const ref = oracle.Tokenizer.fromFile(path);
    const rng = new Rng(CONFIGS.findIndex((c) => c.name === name) + 1);
    const words = corpus.slice(0, 500).flatMap((l) => l.split(" "));
    const texts = Array.from({ length: 1500 }, () => randomText(rng, words));
    const encs = await ref.encodeBatch(texts, { addSpecialTokens: false });
    const bad: string[] = [];
    texts.forEach((t, i) => {
      const got = tok.encode(t).join(" ");
      const want = encs[i].getIds().join(" ");
      if (got !== want && bad.length < 3) bad.push(`${JSON.stringify(t)}\n  ${got}\n  ${want}`);
    });
    assert.deepEqual(bad, []);
    const ids = encs.map((e) => e.getIds());
    const decoded = await ref.decodeBatch(ids, false);
    assert.deepEqual(
      ids.map((x) => tok.decode(x)),
      decoded,
    );
    // Random ids: byte-level pieces that are not whole UTF-8 characters become U+FFFD alike.
    const randomIds = Array.from({ length: 500 }, () =>
      Array.from({ length: 1 + rng.int(12) }, () => rng.int(tok.vocabSize)),
    );
    for (const skip of [false, true]) {
      assert.deepEqual(
        randomIds.map((x) => tok.decode(x, { skipSpecialTokens: skip })),
        await ref.decodeBatch(randomIds, skip),
      );
    }
  });
}
