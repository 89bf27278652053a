// generation_config.json drives decoding as transformers' generate does: the bart and mbart
// cases' default generation settings (forced eos at the last allowed step) and mBART-50's
// convention (start from eos, force the language code first) give transformers' ids; banned
// sequences and bad settings.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  type GenerationSettings,
  generationOptions,
  maxNewTokens,
  parseGenerationConfig,
} from "../../../src/decode/generation-config.js";
import { greedy } from "../../../src/decode/greedy.js";
import { processLogProbs } from "../../../src/decode/processors.js";
import type { EncoderDecoderModel } from "../../../src/models/encoder-decoder.js";
import { Seq2SeqIncremental } from "../../../src/models/incremental.js";
import { loadModel } from "../../../src/node/model-dir.js";
import { noGrad } from "../../../src/tensor/index.js";
import { MaskwiseError } from "../../../src/util/errors.js";
import { ids, readCase } from "../../helpers/hf-ref.js";

function decode(name: string, settings: GenerationSettings): number[][] {
  const c = readCase(name);
  const model = loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
  const cfg = model.config;
  const o = generationOptions(
    settings,
    { startToken: cfg.decoder_start_token_id, eosToken: cfg.eos_token_id },
    8,
  );
  const hyps = noGrad(() =>
    greedy(new Seq2SeqIncremental(model, ids(c.batch.input_ids), ids(c.batch.attention_mask)), o),
  );
  return hyps.map((h) => [o.startToken, ...h.tokens]);
}

/** transformers' rows: the start token and the new tokens, cut after eos (then padding). */
function expectedRows(
  name: string,
  which: string,
): { rows: number[][]; used: Record<string, unknown> } {
  const c = readCase(name);
  const g = (
    c.expected.generate as Record<
      string,
      { ids: number[][]; generation_config_used: Record<string, unknown> }
    >
  )[which];
  const eos = g.generation_config_used.eos_token_id as number;
  const rows = g.ids.map((row) => {
    const stop = row.indexOf(eos, 1);
    return stop < 0 ? row : row.slice(0, stop + 1);
  });
  return { rows, used: g.generation_config_used };
}

for (const name of ["bart", "mbart", "marian"]) {
  test(`${name}: generation_config.json gives transformers' default ids`, () => {
    const c = readCase(name);
    const file = JSON.parse(readFileSync(join(c.dir, "generation_config.json"), "utf8"));
    const settings = parseGenerationConfig(file, "generation_config.json");
    assert.ok(settings.forcedEosTokenId !== undefined, "the case forces eos");
    assert.deepEqual(decode(name, settings), expectedRows(name, "default_generation_config").rows);
  });
}

test("mbart-50 convention: start from eos, the language code forced first", () => {
  const { rows, used } = expectedRows("mbart", "mbart50_style");
  const settings = parseGenerationConfig(used, "mbart50_style");
  assert.equal(settings.forcedBosTokenId, 63);
  assert.deepEqual(decode("mbart", settings), rows);
  // Without the forced token the rows differ: the setting is what makes them.
  const { forcedBosTokenId: _, ...unforced } = settings;
  assert.notDeepEqual(decode("mbart", unforced), rows);
});

test("banned sequences: a single token never, a longer one not right after its prefix", () => {
  const V = 5;
  const lp = new Float32Array(2 * V).fill(-1);
  processLogProbs(
    lp,
    V,
    [
      [1, 2],
      [2, 1],
    ],
    2,
    {
      startToken: 0,
      eosToken: 4,
      maxLength: 10,
      badWordsIds: [[3], [1, 2, 0]],
    },
  );
  // Row 0 ends with 1 2: token 0 is banned there; token 3 is banned everywhere.
  assert.deepEqual(Array.from(lp.subarray(0, V)), [-Infinity, -1, -1, -Infinity, -1]);
  assert.deepEqual(Array.from(lp.subarray(V)), [-1, -1, -1, -Infinity, -1]);
});

test("settings: lengths, lists of eos ids, and a wrong type named", () => {
  assert.equal(maxNewTokens(parseGenerationConfig({ max_length: 20 }, "g")), 19);
  assert.equal(maxNewTokens(parseGenerationConfig({ max_length: 20, max_new_tokens: 5 }, "g")), 5);
  assert.equal(parseGenerationConfig({ eos_token_id: [7, 9] }, "g").eosTokenId, 7);
  assert.throws(
    () => parseGenerationConfig({ num_beams: "four" }, "dir/generation_config.json"),
    (e: unknown) =>
      e instanceof MaskwiseError && e.where === "dir/generation_config.json: num_beams",
  );
});
