// LoRA adapters in PEFT's format on a transformers model (the bart case of ../shared/ref/hf, whose
// attention projections carry PEFT's names q_proj/v_proj in self_attn and encoder_attn): an
// adapter built in memory is saved as PEFT saves one (names, config), reloaded onto a fresh base
// with the same logits, decodes on the KV cache as the full forward computes, and merges into
// weights that give the same logits from a saved model directory. PEFT's own adapter_config.json
// (llama_lora) is read and written back byte for byte.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { parseSafetensors } from "../../src/io/safetensors.js";
import type { EncoderDecoderModel } from "../../src/models/encoder-decoder.js";
import { decodingBf16Weights, Seq2SeqIncremental } from "../../src/models/incremental.js";
import {
  adapterConfigText,
  adapterOf,
  adapterState,
  attachAdapter,
  newAdapterConfig,
  parseAdapterConfig,
  targets,
} from "../../src/models/peft.js";
import { fileState } from "../../src/models/state.js";
import { loadAdapter, mergeAdapter, saveAdapter } from "../../src/node/adapter.js";
import { loadModel, saveModel } from "../../src/node/model-dir.js";
import { noGrad } from "../../src/tensor/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { Rng } from "../../src/util/rng.js";
import { forEachBackend } from "../helpers/backends.js";
import { HF_REF, ids, readCase } from "../helpers/hf-ref.js";
import { tempDir } from "../helpers/tmp.js";

const c = readCase("bart");
const batch = () => ({
  input_ids: ids(c.batch.input_ids),
  attention_mask: ids(c.batch.attention_mask),
  decoder_input_ids: ids(c.batch.decoder_input_ids),
  labels: ids(c.batch.labels),
});
const logitsOf = (m: EncoderDecoderModel) => noGrad(() => m.forward(batch())).logits;
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** The bart case with a q_proj/v_proj adapter whose B is random (as after training). */
function adapted(): EncoderDecoderModel {
  const model = loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
  const config = newAdapterConfig(model, {
    r: 4,
    alpha: 8,
    dropout: 0.05,
    targets: ["q_proj", "v_proj"],
    base: null,
  });
  attachAdapter(model, config, 3);
  const rng = new Rng(17);
  for (const [name, p] of model.namedParameters())
    if (name.endsWith("lora_B.weight"))
      for (let i = 0; i < p.size; i++) p.f32[i] = rng.normal() * 0.3;
  return model.eval();
}

test("target_modules matches a module by its last name parts, or a whole path by a regex", () => {
  assert.ok(targets(["q_proj"], "model.encoder.layers.0.self_attn.q_proj"));
  assert.ok(targets(["self_attn.q_proj"], "model.encoder.layers.0.self_attn.q_proj"));
  assert.ok(!targets(["q_proj"], "model.encoder.layers.0.self_attn.xq_proj"));
  assert.ok(targets(".*decoder.*v_proj", "model.decoder.layers.1.encoder_attn.v_proj"));
  assert.ok(!targets(".*decoder.*v_proj", "model.encoder.layers.1.self_attn.v_proj"));
});

test("PEFT's adapter_config.json is read and written back byte for byte", () => {
  const path = join(HF_REF, "llama_lora", "adapter", "adapter_config.json");
  const text = readFileSync(path, "utf8");
  const config = parseAdapterConfig(text, path);
  assert.deepEqual(config.spec, { r: 4, alpha: 8, dropout: 0, rslora: false });
  assert.deepEqual(config.targets, ["v_proj", "q_proj"]);
  assert.equal(adapterConfigText(config), text);
  // An unknown key is kept; base_model_name_or_path is set when given.
  const extra = parseAdapterConfig(text.replace('"alora', '"zz_future": [1.5, 2],\n  "alora'), "x");
  const written = JSON.parse(adapterConfigText(extra, "/models/base"));
  assert.deepEqual(written.zz_future, [1.5, 2]);
  assert.equal(written.base_model_name_or_path, "/models/base");
});

test("adapter configs with PEFT features maskwise does not implement are refused by key", () => {
  const text = readFileSync(join(HF_REF, "llama_lora", "adapter", "adapter_config.json"), "utf8");
  const bad = (from: string, to: string, key: RegExp) =>
    assert.throws(() => parseAdapterConfig(text.replace(from, to), "cfg.json"), key);
  bad('"use_dora": false', '"use_dora": true', /use_dora/);
  bad('"bias": "none"', '"bias": "all"', /bias/);
  bad('"peft_type": "LORA"', '"peft_type": "IA3"', /peft_type/);
  bad('"rank_pattern": {}', '"rank_pattern": {"q_proj": 8}', /rank_pattern/);
  bad('"r": 4', '"r": 0', /\br must be a positive integer/);
  bad('"fan_in_fan_out": false', '"fan_in_fan_out": true', /fan_in_fan_out/);
});

forEachBackend("LoRA on BART", () => {
  test("saved in PEFT's format and reloaded onto a fresh base with the same logits", () => {
    const model = adapted();
    const want = logitsOf(model);
    const base = logitsOf(loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel);
    assert.ok(maxDiff(want.f32, base.f32) > 1e-2, "the adapter changes the logits");
    const dir = tempDir("lora-bart");
    saveAdapter(dir, model, "../bart");
    assert.deepEqual(readdirSync(dir).sort(), ["adapter_config.json", "adapter_model.safetensors"]);
    const cfg = JSON.parse(readFileSync(join(dir, "adapter_config.json"), "utf8"));
    assert.equal(cfg.peft_type, "LORA");
    assert.equal(cfg.task_type, "SEQ_2_SEQ_LM");
    assert.equal(cfg.r, 4);
    assert.equal(cfg.lora_alpha, 8);
    assert.equal(cfg.lora_dropout, 0.05);
    assert.equal(cfg.base_model_name_or_path, "../bart");
    assert.deepEqual(cfg.target_modules, ["q_proj", "v_proj"]);
    assert.deepEqual(Object.keys(cfg), Object.keys(cfg).sort(), "keys sorted as PEFT writes them");
    assert.match(readFileSync(join(dir, "adapter_config.json"), "utf8"), /"lora_alpha": 8\.0/);
    const file = parseSafetensors(readFileSync(join(dir, "adapter_model.safetensors")), "adapter");
    assert.deepEqual(file.metadata, { format: "pt" });
    const names = [...file.tensors.keys()];
    // 2 encoder layers x self_attn, 2 decoder layers x (self_attn, encoder_attn); q and v; A and B.
    assert.equal(names.length, (2 + 2 * 2) * 2 * 2);
    assert.ok(
      names.includes("base_model.model.model.encoder.layers.0.self_attn.q_proj.lora_A.weight"),
    );
    assert.ok(
      names.includes("base_model.model.model.decoder.layers.1.encoder_attn.v_proj.lora_B.weight"),
    );
    assert.deepEqual(names, [...names].sort(), "transformers' tensor order");
    const a = file.tensors.get(
      "base_model.model.model.encoder.layers.0.self_attn.q_proj.lora_A.weight",
    );
    assert.deepEqual(a?.shape, [4, 16]);
    // The model's own file never holds adapter tensors.
    assert.ok(fileState(model).every(([n]) => !n.includes("lora_")));

    const fresh = loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
    const loaded = loadAdapter(fresh, dir);
    assert.deepEqual(loaded.spec, { r: 4, alpha: 8, dropout: 0.05, rslora: false });
    assert.deepEqual(Array.from(logitsOf(fresh.eval()).f32), Array.from(want.f32));
    // Only the adapter trains.
    const trainable = fresh.namedParameters().filter(([, p]) => p.requiresGrad);
    assert.equal(trainable.length, names.length);
    assert.ok(trainable.every(([n]) => /lora_[AB]\.weight$/.test(n)));
    // Written again, the files are the same bytes.
    const again = tempDir("lora-bart-again");
    saveAdapter(again, fresh, "../bart");
    for (const f of ["adapter_config.json", "adapter_model.safetensors"])
      assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(again, f))), f);
  });

  test("decoding steps on the KV cache apply the adapter as the full forward does", () => {
    const model = adapted();
    const full = logitsOf(model);
    const dec = c.batch.decoder_input_ids as number[][];
    const labels = c.batch.labels as number[][];
    const inc = new Seq2SeqIncremental(model, ids(c.batch.input_ids), ids(c.batch.attention_mask));
    const [B, T] = [dec.length, dec[0].length];
    const V = full.shape[2];
    for (let t = 0; t < T; t++) {
      const logits = inc.next(Int32Array.from(dec.map((row) => row[t])));
      for (let b = 0; b < B; b++) {
        if (labels[b][t] === -100) continue; // padded positions
        const d = maxDiff(
          logits.subarray(b * V, (b + 1) * V),
          full.f32.subarray((b * T + t) * V, (b * T + t + 1) * V),
        );
        assert.ok(d < 1e-5, `row ${b} step ${t}: ${d}`);
      }
    }
  });

  test("merging gives the adapter's logits, saved as a plain BART directory", () => {
    const model = adapted();
    const want = logitsOf(model);
    const before = new Map(model.namedParameters().map(([n, p]) => [n, p.f32.slice()]));
    const merged = mergeAdapter(model);
    assert.equal(merged.length, 12);
    assert.equal(adapterOf(model), null);
    assert.ok(model.namedParameters().every(([n]) => !n.includes("lora_")));
    // Only the targeted weights changed.
    for (const [n, p] of model.namedParameters()) {
      const changed = maxDiff(p.f32, before.get(n) as Float32Array) > 0;
      assert.equal(changed, /(q|v)_proj\.weight$/.test(n), n);
    }
    const out = tempDir("lora-merged");
    saveModel(out, model);
    const reloaded = loadModel(out, "encoder-decoder") as EncoderDecoderModel;
    const got: Tensor = logitsOf(reloaded);
    assert.ok(maxDiff(got.f32, want.f32) < 1e-5, `merged differs by ${maxDiff(got.f32, want.f32)}`);
  });

  test("an adapter that does not fit the base is refused, naming the tensor", () => {
    const model = adapted();
    const dir = tempDir("lora-bad");
    saveAdapter(dir, model);
    // Another r in the config than in the tensors.
    const cfgPath = join(dir, "adapter_config.json");
    const text = readFileSync(cfgPath, "utf8");
    const fresh = () => loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
    writeFileSync(cfgPath, text.replace('"r": 4', '"r": 2'));
    assert.throws(
      () => loadAdapter(fresh(), dir),
      /lora_A\.weight' has shape \[4, 16\], the model expects \[2, 16\]/,
    );
    // Fewer targets than the tensors: the others are unexpected.
    writeFileSync(cfgPath, text.replace('"v_proj"', '"k_proj"'));
    assert.throws(() => loadAdapter(fresh(), dir), /missing tensor .*k_proj\.lora_A\.weight/);
    writeFileSync(cfgPath, text.replace('"q_proj",\n', ""));
    assert.throws(() => loadAdapter(fresh(), dir), /unexpected tensors .*q_proj\.lora_A\.weight/);
  });
});

/** A case's model with a q/v adapter whose B is random; its logits with and without. */
function adaptedCase(name: string, targetNames: string[]) {
  const model = loadModel(join(HF_REF, name));
  const cfg = newAdapterConfig(model, {
    r: 2,
    alpha: 4,
    dropout: 0,
    targets: targetNames,
    base: null,
  });
  const layers = attachAdapter(model, cfg, 1);
  const rng = new Rng(2);
  for (const [n, p] of model.namedParameters())
    if (n.endsWith("lora_B.weight")) for (let i = 0; i < p.size; i++) p.f32[i] = rng.normal() * 0.3;
  return { model: model.eval(), layers };
}

test("module names follow the family's layout: BERT's query/value, T5's q/v", () => {
  const bert = adaptedCase("bert", ["query", "value"]);
  assert.equal(bert.layers.length, 4);
  const names = adapterState(bert.model).map(([n]) => n);
  assert.ok(
    names.includes("base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight"),
    names[0],
  );
  assert.ok(
    names.includes("base_model.model.bert.encoder.layer.1.attention.self.value.lora_B.weight"),
  );
  // Read back through the same renames.
  const dir = tempDir("lora-bert");
  saveAdapter(dir, bert.model);
  const fresh = loadModel(join(HF_REF, "bert"));
  loadAdapter(fresh, dir);
  for (const [n, p] of fresh.namedParameters())
    if (n.includes("lora_"))
      assert.deepEqual(
        Array.from(p.f32),
        Array.from(bert.model.namedParameters().find(([m]) => m === n)?.[1].f32 ?? []),
      );
  const t5 = adaptedCase("t5", ["q", "v"]);
  // 2 encoder layers (self), 2 decoder layers (self and cross).
  assert.equal(t5.layers.length, (2 + 2 * 2) * 2);
  assert.ok(
    adapterState(t5.model).some(
      ([n]) => n === "base_model.model.encoder.block.0.layer.0.SelfAttention.q.lora_A.weight",
    ),
  );
  assert.throws(
    () => adaptedCase("t5", ["q_proj"]),
    (e: Error & { hint?: string }) =>
      /names no Linear layer/.test(e.message) && /named q, k, v, o, /.test(e.hint ?? ""),
  );
  assert.throws(() => adaptedCase("bart", ["lm_head"]), /output head/);
  assert.throws(() => adaptedCase("gpt2", ["c_attn"]), /not supported/);
});

forEachBackend("LoRA with bfloat16 decoding", () => {
  test("steps on the base's bfloat16 copy add the float32 adapter", () => {
    const model = adapted();
    const run = (bf16: boolean) => {
      const inc = new Seq2SeqIncremental(
        model,
        ids(c.batch.input_ids),
        ids(c.batch.attention_mask),
        bf16 ? { weights: decodingBf16Weights(model) } : {},
      );
      const dec = c.batch.decoder_input_ids as number[][];
      return inc.next(Int32Array.from(dec.map((row) => row[0]))).slice();
    };
    const full = run(false);
    const half = run(true);
    const d = maxDiff(full, half);
    // bfloat16 keeps 8 bits of mantissa: close, not equal. Every product's operands are rounded
    // (2^-9 relative each) through four layers and the head, so the bound is relative to the
    // logits (2^-5 of the largest); the gap itself moves with the last bits of earlier float32
    // sums, which decide where an activation rounds (0.047 of 4.26 on AVX2, 0.055 where the
    // compiler fuses multiply-adds, as AVX-512 builds do).
    const scale = maxDiff(full, new Float32Array(full.length));
    assert.ok(d > 0 && d < 2 ** -5 * scale, `bf16 step differs by ${d} (logits up to ${scale})`);
    const base = loadModel(c.dir, "encoder-decoder") as EncoderDecoderModel;
    const plain = new Seq2SeqIncremental(
      base,
      ids(c.batch.input_ids),
      ids(c.batch.attention_mask),
      { weights: decodingBf16Weights(base) },
    );
    const dec = c.batch.decoder_input_ids as number[][];
    const noAdapter = plain.next(Int32Array.from(dec.map((row) => row[0])));
    assert.ok(maxDiff(noAdapter, half) > 10 * d, "the adapter's update is there");
  });
});
