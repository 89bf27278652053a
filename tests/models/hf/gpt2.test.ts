// GPT-2 from transformers' layout (../shared/ref/hf/gpt2): the case loads as it is (Conv1D
// weights stored [in, out], the fused c_attn, the head tied to wte and left out of the file),
// matches transformers' logits with the positions generate builds from the mask (one row left
// padded), the loss, and greedy ids on the KV cache from left-padded prompts; written back byte
// for byte.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { greedy } from "../../../src/decode/greedy.js";
import type { DecoderOnlyModel } from "../../../src/models/decoder-only.js";
import { gpt2Config, gpt2ConfigJson } from "../../../src/models/families/gpt2/config.js";
import { DecoderOnlyIncremental } from "../../../src/models/incremental.js";
import { familyOf } from "../../../src/models/registry.js";
import { loadModel } from "../../../src/node/model-dir.js";
import { noGrad } from "../../../src/tensor/index.js";
import { forEachBackend } from "../../helpers/backends.js";
import {
  assertForward,
  assertGreedyRows,
  assertWrittenBack,
  ids,
  readCase,
} from "../../helpers/hf-ref.js";

forEachBackend("HF gpt2", (backend) => {
  const c = readCase("gpt2");
  const withMask = c.expected.with_position_ids_from_mask as {
    logits: { shape: number[]; data: unknown };
    loss_f64_recomputed: number;
  };

  test("loads as it is and matches transformers' logits and loss", () => {
    const model = loadModel(c.dir, "decoder-only") as DecoderOnlyModel;
    assert.equal(familyOf(model.config).name, "gpt2");
    const b = c.batch;
    // transformers shifts the labels inside the model; maskwise's labels are aligned with the
    // positions that predict them: position t is scored against labels[t + 1].
    const shifted = (b.labels as number[][]).map((row) => [...row.slice(1), -100]);
    const worst = assertForward(
      c,
      model,
      { input_ids: ids(b.input_ids), attention_mask: ids(b.attention_mask), labels: ids(shifted) },
      { logits: withMask.logits, loss: withMask.loss_f64_recomputed },
    );
    console.log(`# gpt2 [${backend.name}] worst logits difference ${worst.toExponential(2)}`);
  });

  test("greedy decoding from left-padded prompts gives transformers' ids", () => {
    const model = loadModel(c.dir, "decoder-only") as DecoderOnlyModel;
    const g = c.expected.generate as {
      prompt_input_ids: number[][];
      prompt_attention_mask: number[][];
      plain_greedy: { ids: number[][] };
    };
    const P = g.prompt_input_ids[0].length;
    const eos = model.config.eos_token_id;
    const hyps = noGrad(() =>
      greedy(
        new DecoderOnlyIncremental(model, ids(g.prompt_input_ids), ids(g.prompt_attention_mask)),
        { startToken: eos, eosToken: eos, maxLength: 8 },
      ),
    );
    // transformers' rows: the prompt, then the new tokens.
    assertGreedyRows(hyps, g.plain_greedy.ids, P, eos);
  });

  test("written back byte for byte, with the same config.json", () => {
    assertWrittenBack(c);
  });
});

test("a GPT-2 config.json without pad_token_id is written back without one", () => {
  const raw = JSON.parse(readFileSync(join(readCase("gpt2").dir, "config.json"), "utf8"));
  delete raw.pad_token_id;
  const config = gpt2Config(raw, "config.json");
  assert.equal(config.pad_token_id, config.eos_token_id);
  const out = gpt2ConfigJson(config);
  assert.equal("pad_token_id" in out, false);
  assert.deepEqual(out, raw);
});
