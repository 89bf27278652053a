// maskwise-written tokenizer.json files encode and decode exactly as the Rust `tokenizers`
// package (0.23) does: Multi30k de+en at 8,000 tokens (the acceptance test), Chinese from
// Tatoeba, emoji and other hard text, for both pre-tokenizers.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  type Tokenizer,
  tokenizerFromString,
  tokenizerToString,
  trainTokenizer,
} from "../../src/tokenizer/index.js";
import { HARD_TEXT, multi30k, oracle, shared, tatoeba } from "./oracle.js";

const dir = mkdtempSync(join(tmpdir(), "maskwise-tok-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function viaOracle(tok: Tokenizer, name: string) {
  const path = join(dir, `${name}.json`);
  writeFileSync(path, tokenizerToString(tok));
  return oracle.Tokenizer.fromFile(path);
}

/** Compares with the reference reading maskwise's file, or `refPath` when given. */
async function assertSameEncoding(tok: Tokenizer, name: string, texts: string[], refPath?: string) {
  const ref = refPath ? oracle.Tokenizer.fromFile(refPath) : viaOracle(tok, name);
  for (const addSpecialTokens of [false, true]) {
    const encs = await ref.encodeBatch(texts, { addSpecialTokens });
    let mismatches = 0;
    const first: string[] = [];
    texts.forEach((t, i) => {
      const got = tok.encode(t, { addSpecialTokens });
      const want = encs[i].getIds();
      if (got.join(" ") !== want.join(" ")) {
        mismatches++;
        if (first.length < 3) first.push(`${JSON.stringify(t)}: ${got} vs ${want}`);
      }
    });
    assert.equal(
      mismatches,
      0,
      `${name} addSpecialTokens=${addSpecialTokens}: ${first.join("; ")}`,
    );
  }
  const ids = texts.map((t) => tok.encode(t));
  for (const skip of [false, true]) {
    const want = await ref.decodeBatch(ids, skip);
    const got = ids.map((x) => tok.decode(x, { skipSpecialTokens: skip }));
    assert.deepEqual(got, want, `${name} decode skipSpecialTokens=${skip}`);
  }
}

const train = [...multi30k("train.de"), ...multi30k("train.en")];
const valid = [...multi30k("val.de"), ...multi30k("val.en")];

for (const kind of ["metaspace", "byte-level"] as const) {
  test(`${kind}: 8,000 tokens from Multi30k train encode val like tokenizers 0.23`, async () => {
    const tok = trainTokenizer(train, { vocabSize: 8000, preTokenizer: kind });
    assert.equal(tok.vocabSize, 8000);
    await assertSameEncoding(tok, `m30k-${kind}`, [
      ...valid,
      ...multi30k("test_2016_flickr.de"),
      ...HARD_TEXT,
    ]);
  });

  test(`${kind}: Chinese from Tatoeba, emoji and hard text encode like tokenizers 0.23`, async () => {
    const { en, zh } = tatoeba(12000);
    const tok = trainTokenizer([...zh.slice(0, 10000), ...en.slice(0, 10000), ...HARD_TEXT], {
      vocabSize: 6000,
      preTokenizer: kind,
      specialTokens: ["<pad>", "<s>", "</s>", "<unk>", "<mask>", "<extra_id_0>", "zh_CN", "en_XX"],
    });
    await assertSameEncoding(tok, `zh-${kind}`, [
      ...zh.slice(10000),
      ...en.slice(10000),
      ...HARD_TEXT,
      "zh_CN 你好 en_XX hello <extra_id_0> world",
    ]);
  });
}

test("metaspace with character coverage 0.999: rare Chinese characters become <unk> alike", async () => {
  const { en, zh } = tatoeba(12000);
  const tok = trainTokenizer([...zh.slice(0, 10000), ...en.slice(0, 10000)], {
    vocabSize: 5000,
    characterCoverage: 0.999,
  });
  const unk = tok.tokenToId("<unk>") as number;
  const test = [...zh.slice(10000), ...en.slice(10000), ...HARD_TEXT];
  assert.ok(
    test.some((t) => tok.encode(t).includes(unk)),
    "some characters are left out",
  );
  await assertSameEncoding(tok, "zh-coverage", test);
});

test("files trained by tokenizers 0.23 itself load and encode and decode the same", async () => {
  const inputs = ["val.de", "val.en"].map((f) => join(shared, "data", "multi30k", f));
  const configs: [string, (t: InstanceType<typeof oracle.Tokenizer>) => void][] = [
    [
      "hf-byte-level",
      (t) => {
        t.setNormalizer(oracle.nfkcNormalizer());
        t.setPreTokenizer(oracle.byteLevelPreTokenizer(false));
      },
    ],
    [
      "hf-metaspace",
      (t) => {
        t.setNormalizer(oracle.nfkcNormalizer());
        t.setPreTokenizer(oracle.metaspacePreTokenizer());
        t.setDecoder(oracle.metaspaceDecoder());
        t.addSpecialTokens(["<unk>", "<mask>"]);
      },
    ],
  ];
  for (const [name, setup] of configs) {
    const ref = new oracle.Tokenizer(oracle.BPE.empty());
    setup(ref);
    ref.train(inputs);
    const path = join(dir, `${name}.json`);
    ref.save(path, false);
    const tok = tokenizerFromString(readFileSync(path, "utf8"), path);
    const { zh } = tatoeba(300);
    await assertSameEncoding(
      tok,
      name,
      [...multi30k("test_2016_flickr.en"), ...zh, ...HARD_TEXT],
      path,
    );
  }
});
